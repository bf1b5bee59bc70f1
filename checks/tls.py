"""TLS endpoints (TLS-xxxx): personal data travels only over TLS, with AES-256 and a certificate that holds.

Facts come from auditor/collectors/tls.py (sslyze's scan of the endpoint). An endpoint that did not answer TLS
never reaches these functions: the collector fails, and each check is an ERROR finding that says why.
"""

from __future__ import annotations

from datetime import datetime

from auditor.collectors.tls import PROTOCOLS, Certificate, CipherSuite, TlsFacts
from auditor.plugin import ControlRef, Severity, TargetKind, Verdict, check

_ISO = tuple(ControlRef("iso27001-2022", c) for c in ("8.24", "8.20", "8.21", "5.14"))
_CIS = (ControlRef("cis-v8", "3.10"), ControlRef("cis-v8", "12.6"))
_ORDER = [label for _, label in PROTOCOLS]
_STRONG_HASHES = {"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512"}
_SYSTEM_STORE, _CA_FILE = "Mozilla", "Supplied CA file"  # Debian's ca-certificates is Mozilla's store
_HSTS_MIN_SECONDS = 180 * 86400


@check(
    id="TLS-0010", title="The endpoint accepts no protocol older than the minimum TLS version",
    severity=Severity.HIGH, requirements=("R1", "R2", "R8"), controls=_ISO + _CIS, target_kinds=(TargetKind.TLS,),
    remediation="Disable SSL 2.0/3.0, TLS 1.0 and TLS 1.1 in the server's TLS settings (e.g. nginx "
    "`ssl_protocols TLSv1.2 TLSv1.3;`, Apache `SSLProtocol -all +TLSv1.2 +TLSv1.3`).",
)
def minimum_protocol(tls: TlsFacts, min_tls_version: str) -> Verdict:
    minimum = f"TLS {min_tls_version}"
    enabled = [p for p in _ORDER if tls.accepted.get(p)]
    too_old = [p for p in enabled if _ORDER.index(p) < _ORDER.index(minimum)]
    untested = [p for p in _ORDER[:_ORDER.index(minimum)] if p not in tls.accepted]
    observed = {"accepted_protocols": enabled, "not_tested": untested}
    expected = {"oldest_protocol": minimum}
    if too_old:
        return Verdict.failed(f"{tls.endpoint} accepts {', '.join(too_old)}, older than the minimum {minimum} "
                              f"(accepted: {', '.join(enabled)}).", observed=observed, expected=expected)
    if untested:
        return Verdict.warning(f"{tls.endpoint} accepts {', '.join(enabled)}, but {', '.join(untested)} could not "
                               "be tested.", observed=observed, expected=expected)
    return Verdict.passed(f"{tls.endpoint} accepts only {', '.join(enabled)} (minimum {minimum}).",
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
    severity=Severity.HIGH, requirements=("R1", "R2", "R8"), controls=_ISO + _CIS, target_kinds=(TargetKind.TLS,),
    remediation="Allow only ECDHE suites with AES-256-GCM (TLS 1.2: ECDHE-ECDSA/RSA-AES256-GCM-SHA384; TLS 1.3: "
    "TLS_AES_256_GCM_SHA384, e.g. OpenSSL `Ciphersuites = TLS_AES_256_GCM_SHA384`); TLS 1.3 servers accept "
    "TLS_AES_128_GCM_SHA256 unless told not to.",
)
def cipher_strength(tls: TlsFacts, min_aes_bits: int, chacha20_counts_as_aes256: bool) -> Verdict:
    offending: dict[str, list[str]] = {}
    equivalent: list[str] = []
    for protocol in _ORDER:
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
    if offending:
        listed = "; ".join(f"{p}: {', '.join(names)}" for p, names in offending.items())
        return Verdict.failed(f"{tls.endpoint} accepts cipher suites weaker than AES-{min_aes_bits} with forward "
                              f"secrecy: {listed}.", observed=observed, expected=expected)
    if not accepted:
        return Verdict.warning(f"No accepted cipher suite of {tls.endpoint} could be tested.", observed=observed,
                               expected=expected)
    note = (f" ChaCha20-Poly1305 ({', '.join(equivalent)}) is accepted as equivalent to AES-256, not AES."
            if equivalent else "")
    count = sum(len(names) for names in accepted.values())
    return Verdict.passed(f"All {count} cipher suites {tls.endpoint} accepts use AES-{min_aes_bits} or stronger "
                          f"with forward secrecy.{note}", observed=observed, expected=expected)


def _matches(name: str, certificate: Certificate) -> bool:
    if name in certificate.ip_addresses:
        return True
    name = name.lower().rstrip(".")
    for pattern in (p.lower().rstrip(".") for p in certificate.dns_names):
        if pattern == name or (pattern.startswith("*.") and "." in name and
                               name.split(".", 1)[1] == pattern[2:]):
            return True
    return False


def _certificate_problems(tls: TlsFacts, cert: Certificate) -> list[str]:
    problems = []
    if not {_SYSTEM_STORE, _CA_FILE} & set(cert.trusted_by):
        why = cert.validation_errors.get(_CA_FILE) or cert.validation_errors.get(_SYSTEM_STORE, "")
        problems.append(f"the chain does not validate against the system store or the ca_file ({why})")
    if not _matches(tls.server_name, cert):
        problems.append(f"it does not match the server name {tls.server_name} (it names "
                        f"{', '.join(cert.dns_names + cert.ip_addresses) or cert.subject})")
    if (cert.key_algorithm == "RSA" and (cert.key_bits or 0) < 2048) or \
            (cert.key_algorithm == "EC" and (cert.key_bits or 0) < 256) or cert.key_algorithm == "DSA":
        problems.append(f"its {cert.key_algorithm} key has {cert.key_bits} bits (RSA needs 2048, EC 256)")
    weak_hash = cert.signature_hash is not None and cert.signature_hash not in _STRONG_HASHES
    if weak_hash or cert.chain_has_sha1:
        problems.append(f"it is signed with {cert.signature_hash if weak_hash else 'SHA-1 in the chain'} (SHA-256 "
                        "or better is required)")
    return problems


@check(
    id="TLS-0030", title="The certificate validates, matches the server name and is not close to expiry",
    severity=Severity.HIGH, requirements=("R2", "R8"), controls=_ISO + _CIS, target_kinds=(TargetKind.TLS,),
    remediation="Install a certificate for the server name from a CA the clients trust (or the controller's "
    "private CA, named as ca_file in the inventory), with the full chain, RSA 2048+ or EC P-256+, SHA-256 "
    "signatures, and renew it before it expires.",
)
def certificate_valid(tls: TlsFacts, cert_min_days_left: int) -> list[Verdict]:
    verdicts = []
    now = datetime.fromisoformat(tls.scanned_at.replace("Z", "+00:00"))
    for number, cert in enumerate(tls.certificates, 1):
        not_after = datetime.fromisoformat(cert.not_after.replace("Z", "+00:00"))
        days_left = (not_after - now).total_seconds() / 86400
        problems = _certificate_problems(tls, cert)
        if days_left < 0:
            problems.insert(0, f"it expired on {not_after:%Y-%m-%d}")
        elif datetime.fromisoformat(cert.not_before.replace("Z", "+00:00")) > now:
            problems.insert(0, f"it is not valid before {cert.not_before[:10]}")
        resource = f"{tls.endpoint} chain {number} ({cert.key_algorithm})" if len(tls.certificates) > 1 else ""
        observed = {"subject": cert.subject, "issuer": cert.issuer, "names": list(cert.dns_names + cert.ip_addresses),
                    "not_after": cert.not_after, "days_left": int(days_left), "trusted_by": list(cert.trusted_by),
                    "key": f"{cert.key_algorithm} {cert.key_bits}", "signature_hash": cert.signature_hash}
        expected = {"trusted": True, "matches": tls.server_name, "days_left": f">= {cert_min_days_left}",
                    "key": "RSA >= 2048 or EC >= 256", "signature_hash": "SHA-256 or better"}
        what = f"The certificate of {tls.endpoint} ({cert.subject})"
        if problems:
            verdicts.append(Verdict.failed(f"{what} fails: {'; '.join(problems)}.", resource=resource,
                                           observed=observed, expected=expected))
        elif days_left < cert_min_days_left:
            verdicts.append(Verdict.warning(f"{what} is valid but expires in {int(days_left)} days, fewer than "
                                            f"{cert_min_days_left}.", resource=resource, observed=observed,
                                            expected=expected))
        else:
            verdicts.append(Verdict.passed(f"{what} validates ({', '.join(cert.trusted_by)}), matches "
                                           f"{tls.server_name} and has {int(days_left)} days left.",
                                           resource=resource, observed=observed, expected=expected))
    return verdicts


_VULNERABILITIES = {"heartbleed": "Heartbleed", "ccs_injection": "OpenSSL CCS injection",
                    "compression": "TLS compression (CRIME)", "insecure_renegotiation": "insecure renegotiation",
                    "no_fallback_scsv": "no TLS_FALLBACK_SCSV downgrade protection"}
_VULNERABLE_ROBOT = {"VULNERABLE_WEAK_ORACLE", "VULNERABLE_STRONG_ORACLE"}
_SCAN_OF = {"heartbleed": "heartbleed", "ccs_injection": "openssl_ccs_injection", "compression": "tls_compression",
            "insecure_renegotiation": "session_renegotiation", "no_fallback_scsv": "tls_fallback_scsv"}


@check(
    id="TLS-0040", title="The endpoint is not vulnerable to known TLS attacks and resists downgrade",
    severity=Severity.HIGH, requirements=("R2",), controls=_ISO + _CIS, target_kinds=(TargetKind.TLS,),
    remediation="Update the TLS library (OpenSSL) and server, disable TLS compression and RSA key exchange, and "
    "keep secure renegotiation and TLS_FALLBACK_SCSV support enabled (the defaults of current OpenSSL).",
)
def known_vulnerabilities(tls: TlsFacts) -> Verdict:
    found = [label for key, label in _VULNERABILITIES.items() if tls.vulnerabilities.get(key)]
    if tls.robot in _VULNERABLE_ROBOT:
        found.append(f"ROBOT ({tls.robot.lower().replace('_', ' ')})")
    untested = {label: tls.unavailable.get(_SCAN_OF[key], "not run") for key, label in _VULNERABILITIES.items()
                if key not in tls.vulnerabilities}
    if not tls.robot or tls.robot == "UNKNOWN_INCONSISTENT_RESULTS":
        untested["ROBOT"] = tls.unavailable.get("robot", "inconsistent results")
    observed = {"vulnerable": found, "robot": tls.robot, "not_tested": untested}
    expected: dict[str, list[str]] = {"vulnerable": []}
    if found:
        return Verdict.failed(f"{tls.endpoint} is vulnerable: {', '.join(found)}.", observed=observed,
                              expected=expected)
    if untested:
        listed = "; ".join(f"{label}: {why}" for label, why in untested.items())
        return Verdict.warning(f"{tls.endpoint} showed no vulnerability, but some tests could not run ({listed}).",
                               observed=observed, expected=expected)
    return Verdict.passed(f"{tls.endpoint} is not vulnerable to Heartbleed, CCS injection, ROBOT, CRIME or insecure "
                          "renegotiation, and supports TLS_FALLBACK_SCSV.", observed=observed, expected=expected)


@check(
    id="TLS-0050", title="An HTTPS endpoint sends HSTS with a max-age of at least 180 days",
    severity=Severity.MEDIUM, requirements=("R2",), controls=_ISO + _CIS, target_kinds=(TargetKind.TLS,),
    remediation="Send `Strict-Transport-Security: max-age=31536000` (one year) on every HTTPS response, e.g. nginx "
    "`add_header Strict-Transport-Security \"max-age=31536000\" always;`.",
)
def hsts(tls: TlsFacts) -> Verdict:
    if tls.starttls:
        return Verdict.not_applicable(f"{tls.endpoint} is a {tls.starttls.upper()} service (STARTTLS), not HTTPS.")
    expected = {"hsts_max_age": f">= {_HSTS_MIN_SECONDS} (180 days)"}
    if "http_headers" in tls.unavailable:
        return Verdict.warning(f"HSTS of {tls.endpoint} could not be read: {tls.unavailable['http_headers']}.",
                               observed={"http": tls.unavailable["http_headers"]}, expected=expected)
    if not tls.http_answered:
        return Verdict.not_applicable(f"{tls.endpoint} did not answer an HTTP request over TLS, so it is not an "
                                      f"HTTPS service ({tls.http_error or 'no HTTP response'}).")
    observed = {"hsts_max_age": tls.hsts_max_age}
    if tls.hsts_max_age is None:
        return Verdict.failed(f"{tls.endpoint} answers HTTPS without a Strict-Transport-Security header, so browsers "
                              "may still try plain HTTP first.", observed=observed, expected=expected)
    if tls.hsts_max_age < _HSTS_MIN_SECONDS:
        return Verdict.failed(f"{tls.endpoint} sends HSTS with max-age={tls.hsts_max_age} "
                              f"({tls.hsts_max_age / 86400:g} days), below 180 days.", observed=observed,
                              expected=expected)
    return Verdict.passed(f"{tls.endpoint} sends HSTS with max-age={tls.hsts_max_age} "
                          f"({tls.hsts_max_age / 86400:g} days).", observed=observed, expected=expected)
