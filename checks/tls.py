"""TLS endpoints (TLS-xxxx): personal data travels only over TLS, with AES-256 and a certificate that holds.

Facts come from auditor/collectors/tls*.py (the probe, and sslyze's scan of the endpoint). An endpoint where
nothing answered never reaches these functions: the target is not assessed, and the report says why. One that
answered in clear fails TLS-0010; the checks of what TLS would have protected are then not applicable.
The certificate (TLS-0030) is in tls_certificate.py, the plaintext counterparts (TLS-0070, TLS-0080) in
plaintext.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.plugin import ControlRef, Severity, TargetKind, Verdict, check

if TYPE_CHECKING:
    # Collector modules are imported when a check runs, so loading the pack imports none of them.
    from auditor.collectors.tls import CipherSuite, Endpoint, TlsFacts
    from auditor.collectors.tls_http import HttpFacts
    from auditor.collectors.tls_vulnerabilities import VulnerabilityFacts

ISO = tuple(ControlRef("iso27001-2022", c) for c in ("8.24", "8.20", "8.21", "5.14"))
CIS = (ControlRef("cis-v8", "3.10"), ControlRef("cis-v8", "12.6"))
_HSTS_MIN_SECONDS = 180 * 86400
_LEGACY_PROTOCOLS = ("TLS 1.0", "TLS 1.1", "TLS 1.2")  # TLS 1.3 has AEAD suites only


def _order() -> list[str]:
    """The protocol labels, oldest first (auditor/collectors/tls.py PROTOCOLS)."""
    from auditor.collectors.tls import PROTOCOLS

    return [label for _, label in PROTOCOLS]


def unjudged(endpoint: Endpoint) -> Verdict | None:
    """The verdict of a check about what TLS protects, for an endpoint that has nothing of it to judge: it answered
    without TLS (TLS-0010 fails it), or sslyze cannot scan its protocol. None for every other endpoint."""
    if not endpoint.encrypted:
        return Verdict.not_applicable(f"{endpoint.name} answers without TLS, so there is nothing of TLS to judge "
                                      "here (TLS-0010 fails it for serving data without encryption).")
    if endpoint.not_scanned:
        return Verdict.not_applicable(f"{endpoint.name} could not be scanned: {endpoint.not_scanned}.")
    return None


@check(
    id="TLS-0010", title="The endpoint speaks TLS and accepts no protocol older than the minimum TLS version",
    severity=Severity.HIGH, requirements=("R1", "R2", "R8"), controls=ISO + CIS, target_kinds=(TargetKind.TLS,),
    remediation="Serve the port over TLS only, and disable SSL 2.0/3.0, TLS 1.0 and TLS 1.1 in the server's TLS "
    "settings (e.g. nginx `listen 443 ssl; ssl_protocols TLSv1.2 TLSv1.3;`, Apache `SSLProtocol -all +TLSv1.2 "
    "+TLSv1.3`).",
)
def minimum_protocol(tls: TlsFacts, min_tls_version: str) -> Verdict:
    endpoint = tls.endpoint
    minimum = f"TLS {min_tls_version}"
    expected = {"oldest_protocol": minimum}
    if endpoint.not_scanned:
        return Verdict.not_applicable(f"{endpoint.name} could not be scanned: {endpoint.not_scanned}.")
    if not endpoint.encrypted:
        return Verdict.failed(f"{endpoint.name} serves data without encryption: {endpoint.answered}; it answered "
                              f"'{endpoint.first_bytes}'.", observed={"tls": False, "answered": endpoint.first_bytes},
                              expected={"tls": True, **expected})
    order = _order()
    enabled = [p for p in order if tls.accepted.get(p)]
    too_old = [p for p in enabled if order.index(p) < order.index(minimum)]
    untested = [p for p in order[:order.index(minimum)] if p not in tls.accepted]
    observed = {"accepted_protocols": enabled, "not_tested": untested}
    if too_old:
        return Verdict.failed(f"{endpoint.name} accepts {', '.join(too_old)}, older than the minimum {minimum} "
                              f"(accepted: {', '.join(enabled)}).", observed=observed, expected=expected)
    if untested:
        return Verdict.warning(f"{endpoint.name} accepts {', '.join(enabled)}, but {', '.join(untested)} could not "
                               "be tested.", observed=observed, expected=expected)
    return Verdict.passed(f"{endpoint.name} accepts only {', '.join(enabled)} (minimum {minimum}).",
                          observed=observed, expected=expected)


def _weakness(suite: CipherSuite, min_aes_bits: int, chacha20_counts_as_aes256: bool) -> str:
    problems = []
    if suite.bulk_cipher == "CHACHA20":
        if not chacha20_counts_as_aes256:
            problems.append("ChaCha20 is not AES (the profile does not count it as equivalent)")
        elif min_aes_bits > 256:
            problems.append(f"ChaCha20 counts as AES-256, below {min_aes_bits} bits")
    elif suite.bulk_cipher != "AES":
        problems.append(f"{suite.bulk_cipher or 'unknown'} is not AES")
    elif suite.key_bits < min_aes_bits:
        problems.append(f"AES-{suite.key_bits} is below {min_aes_bits} bits")
    if not suite.forward_secrecy:
        problems.append("no forward secrecy")
    return "; ".join(problems)


@check(
    id="TLS-0020", title="Every accepted cipher suite uses AES of the minimum key size, with forward secrecy",
    severity=Severity.HIGH, requirements=("R1", "R2", "R8"), controls=ISO + CIS, target_kinds=(TargetKind.TLS,),
    remediation="Allow only ECDHE suites with AES-256-GCM (TLS 1.2: ECDHE-ECDSA/RSA-AES256-GCM-SHA384; TLS 1.3: "
    "TLS_AES_256_GCM_SHA384, e.g. OpenSSL `Ciphersuites = TLS_AES_256_GCM_SHA384`); TLS 1.3 servers accept "
    "TLS_AES_128_GCM_SHA256 unless told not to.",
)
def cipher_strength(tls: TlsFacts, min_aes_bits: int, chacha20_counts_as_aes256: bool) -> Verdict:
    if (verdict := unjudged(tls.endpoint)) is not None:
        return verdict
    offending: dict[str, list[str]] = {}
    equivalent: list[str] = []
    for protocol in _order():
        for suite in tls.accepted.get(protocol, ()):
            why = _weakness(suite, min_aes_bits, chacha20_counts_as_aes256)
            if why:
                offending.setdefault(protocol, []).append(f"{suite.name} ({why})")
            elif suite.bulk_cipher == "CHACHA20":
                equivalent.append(suite.name)
    accepted = {p: [s.name for s in suites] for p, suites in tls.accepted.items() if suites}
    observed = {"accepted": accepted, "offending": offending}
    expected = {"bulk_cipher": f"AES >= {min_aes_bits} bits" + (" or ChaCha20-Poly1305" if
                                                              chacha20_counts_as_aes256 else ""),
                "forward_secrecy": True}
    name = tls.endpoint.name
    if offending:
        listed = "; ".join(f"{p}: {', '.join(names)}" for p, names in offending.items())
        return Verdict.failed(f"{name} accepts cipher suites weaker than AES-{min_aes_bits} with forward secrecy: "
                              f"{listed}.", observed=observed, expected=expected)
    if not accepted:
        return Verdict.warning(f"No accepted cipher suite of {name} could be tested.", observed=observed,
                               expected=expected)
    note = (f" ChaCha20-Poly1305 ({', '.join(equivalent)}) is accepted as equivalent to AES-256, not AES."
            if equivalent else "")
    count = sum(len(names) for names in accepted.values())
    return Verdict.passed(f"All {count} cipher suites {name} accepts use AES-{min_aes_bits} or stronger with "
                          f"forward secrecy.{note}", observed=observed, expected=expected)


_VULNERABILITIES = {"heartbleed": "Heartbleed", "ccs_injection": "OpenSSL CCS injection",
                    "compression": "TLS compression (CRIME)", "insecure_renegotiation": "insecure renegotiation",
                    "no_fallback_scsv": "no TLS_FALLBACK_SCSV downgrade protection"}
_VULNERABLE_ROBOT = {"VULNERABLE_WEAK_ORACLE", "VULNERABLE_STRONG_ORACLE"}


@check(
    id="TLS-0040", title="The endpoint is not vulnerable to known TLS attacks and resists downgrade",
    severity=Severity.HIGH, requirements=("R2",), controls=ISO + CIS, target_kinds=(TargetKind.TLS,),
    remediation="Update the TLS library (OpenSSL) and server, disable TLS compression and RSA key exchange, and "
    "keep secure renegotiation and TLS_FALLBACK_SCSV support enabled (the defaults of current OpenSSL).",
)
def known_vulnerabilities(tls_vulnerabilities: VulnerabilityFacts) -> Verdict:
    from auditor.collectors.tls_vulnerabilities import TESTS

    facts = tls_vulnerabilities
    if (verdict := unjudged(facts.endpoint)) is not None:
        return verdict
    found = [label for key, label in _VULNERABILITIES.items() if facts.vulnerable.get(key)]
    if facts.robot in _VULNERABLE_ROBOT:
        found.append(f"ROBOT ({facts.robot.lower().replace('_', ' ')})")
    untested = {label: facts.unavailable.get(TESTS[key][0], "not run") for key, label in _VULNERABILITIES.items()
                if key not in facts.vulnerable}
    if not facts.robot or facts.robot == "UNKNOWN_INCONSISTENT_RESULTS":
        untested["ROBOT"] = facts.unavailable.get("robot", "inconsistent results")
    observed = {"vulnerable": found, "robot": facts.robot, "not_tested": untested}
    expected: dict[str, list[str]] = {"vulnerable": []}
    name = facts.endpoint.name
    if found:
        return Verdict.failed(f"{name} is vulnerable: {', '.join(found)}.", observed=observed, expected=expected)
    if untested:
        listed = "; ".join(f"{label}: {why}" for label, why in untested.items())
        return Verdict.warning(f"{name} showed no vulnerability, but some tests could not run ({listed}).",
                               observed=observed, expected=expected)
    return Verdict.passed(f"{name} is not vulnerable to Heartbleed, CCS injection, ROBOT, CRIME or insecure "
                          "renegotiation, and supports TLS_FALLBACK_SCSV.", observed=observed, expected=expected)


@check(
    id="TLS-0050", title="An HTTPS endpoint sends HSTS with a max-age of at least 180 days",
    severity=Severity.MEDIUM, requirements=("R2",), controls=ISO + CIS, target_kinds=(TargetKind.TLS,),
    remediation="Send `Strict-Transport-Security: max-age=31536000` (one year) on every HTTPS response, e.g. nginx "
    "`add_header Strict-Transport-Security \"max-age=31536000\" always;`.",
)
def hsts(tls_http: HttpFacts) -> Verdict:
    endpoint = tls_http.endpoint
    if (verdict := unjudged(endpoint)) is not None:
        return verdict
    if endpoint.starttls:
        return Verdict.not_applicable(f"{endpoint.name} speaks {endpoint.starttls.upper()} with STARTTLS, not "
                                      "HTTPS.")
    expected = {"hsts_max_age": f">= {_HSTS_MIN_SECONDS} (180 days)"}
    if "http_headers" in tls_http.unavailable:
        return Verdict.warning(f"HSTS of {endpoint.name} could not be read: {tls_http.unavailable['http_headers']}.",
                               observed={"http": tls_http.unavailable["http_headers"]}, expected=expected)
    if not tls_http.answered:
        return Verdict.not_applicable(f"{endpoint.name} did not answer an HTTP request over TLS, so it is not an "
                                      f"HTTPS service ({tls_http.error or 'no HTTP response'}).")
    age = tls_http.hsts_max_age
    observed = {"hsts_max_age": age}
    if age is None:
        return Verdict.failed(f"{endpoint.name} answers HTTPS without a Strict-Transport-Security header, so "
                              "browsers may still try plain HTTP first.", observed=observed, expected=expected)
    if age < _HSTS_MIN_SECONDS:
        return Verdict.failed(f"{endpoint.name} sends HSTS with max-age={age} ({age / 86400:g} days), below 180 "
                              "days.", observed=observed, expected=expected)
    return Verdict.passed(f"{endpoint.name} sends HSTS with max-age={age} ({age / 86400:g} days).",
                          observed=observed, expected=expected)


@check(
    id="TLS-0060", title="No CBC-mode or SHA-1 HMAC cipher suite is accepted on TLS 1.0 to 1.2",
    severity=Severity.LOW, requirements=("R2", "R8"), controls=ISO + CIS, target_kinds=(TargetKind.TLS,),
    remediation="Offer only AEAD suites on TLS 1.2 (ECDHE with AES-256-GCM; e.g. nginx `ssl_ciphers "
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384;`); CBC suites authenticate before encrypting, "
    "which padding-oracle attacks (Lucky13) exploit, and SHA-1 is a retired hash.",
)
def legacy_suites(tls: TlsFacts) -> Verdict:
    if (verdict := unjudged(tls.endpoint)) is not None:
        return verdict
    legacy: dict[str, list[str]] = {}
    for protocol in _LEGACY_PROTOCOLS:
        for suite in tls.accepted.get(protocol, ()):
            why = [label for flag, label in ((suite.cbc, "CBC"), (suite.mac == "SHA1", "SHA-1 HMAC")) if flag]
            if why:
                legacy.setdefault(protocol, []).append(f"{suite.name} ({', '.join(why)})")
    observed = {"legacy_suites": legacy}
    expected = {"legacy_suites": "none: AEAD suites only (GCM, CCM, ChaCha20-Poly1305)"}
    name = tls.endpoint.name
    if legacy:
        listed = "; ".join(f"{p}: {', '.join(names)}" for p, names in legacy.items())
        return Verdict.warning(f"{name} still accepts CBC-mode or SHA-1 HMAC cipher suites: {listed}.",
                               observed=observed, expected=expected)
    return Verdict.passed(f"{name} accepts no CBC-mode or SHA-1 HMAC cipher suite on TLS 1.0 to 1.2.",
                          observed=observed, expected=expected)
