"""TLS-0010, 0020, 0040, 0050, 0060 on facts built in code: table-driven, Given/When/Then."""

from __future__ import annotations

import dataclasses

import pytest

from auditor.collectors.tls import CipherSuite, Endpoint, TlsFacts
from auditor.collectors.tls_http import HttpFacts
from auditor.collectors.tls_vulnerabilities import VulnerabilityFacts
from auditor.models import Status
from checks.tls import cipher_strength, hsts, known_vulnerabilities, legacy_suites, minimum_protocol

AES256 = CipherSuite("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "AES", 256, True, mac="AEAD")
AES256_13 = CipherSuite("TLS_AES_256_GCM_SHA384", "AES", 256, True, mac="AEAD")
AES128_13 = CipherSuite("TLS_AES_128_GCM_SHA256", "AES", 128, True, mac="AEAD")
CHACHA = CipherSuite("TLS_CHACHA20_POLY1305_SHA256", "CHACHA20", 256, True, mac="AEAD")
RSA_KX = CipherSuite("TLS_RSA_WITH_AES_256_GCM_SHA384", "AES", 256, False, mac="AEAD")
TRIPLE_DES = CipherSuite("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "3DES", 168, False, cbc=True, mac="SHA1")
CBC_SHA1 = CipherSuite("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "AES", 256, True, cbc=True, mac="SHA1")
CBC_SHA384 = CipherSuite("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "AES", 256, True, cbc=True, mac="SHA384")
NONE: tuple[CipherSuite, ...] = ()
PORTAL = Endpoint("portal.example:443", "192.0.2.10", "portal.example", "")
IN_CLEAR = Endpoint("portal.example:443", "192.0.2.10", "portal.example", "", encrypted=False,
                    answered="a plain HTTP server answered on portal.example:443 (192.0.2.10) instead of TLS",
                    first_bytes="HTTP/1.1 400 Bad Request\\r\\nServer: nginx")
VULNS = {"heartbleed": False, "ccs_injection": False, "compression": False, "insecure_renegotiation": False,
         "no_fallback_scsv": False}


def facts(accepted: dict[str, tuple[CipherSuite, ...]] | None = None, endpoint: Endpoint = PORTAL) -> TlsFacts:
    table = {p: NONE for p in ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")}
    table |= {"TLS 1.2": (AES256,), "TLS 1.3": (AES256_13,)} if accepted is None else accepted
    return TlsFacts(endpoint, "2026-06-01T00:00:00Z", "DISABLED", table)


@pytest.mark.parametrize(
    ("accepted", "minimum", "status", "words"),
    [
        ({"TLS 1.2": (AES256,), "TLS 1.3": (AES256_13,)}, "1.2", Status.PASS, "accepts only TLS 1.2, TLS 1.3"),
        ({"TLS 1.0": (AES256,), "TLS 1.1": (AES256,), "TLS 1.2": (AES256,)}, "1.2", Status.FAIL,
         "accepts TLS 1.0, TLS 1.1, older than the minimum TLS 1.2"),
        ({"SSL 3.0": (TRIPLE_DES,), "TLS 1.2": (AES256,)}, "1.0", Status.FAIL, "accepts SSL 3.0"),
        ({"TLS 1.2": (AES256,), "TLS 1.3": (AES256_13,)}, "1.3", Status.FAIL, "accepts TLS 1.2, older than"),
        ({"TLS 1.3": (AES256_13,)}, "1.3", Status.PASS, "accepts only TLS 1.3"),
    ],
)
def test_minimum_protocol(accepted, minimum, status, words):
    # Given an endpoint accepting these protocols, When TLS-0010 evaluates it against min_tls_version
    verdict = minimum_protocol(facts(accepted), minimum)
    # Then the sentence names what is accepted and the minimum
    assert verdict.status is status and words in verdict.message
    assert verdict.expected == {"oldest_protocol": f"TLS {minimum}"}


def test_minimum_protocol_warns_when_an_old_protocol_could_not_be_tested():
    # Given the SSL and TLS 1.0/1.1 scans errored (absent from the table)
    verdict = minimum_protocol(dataclasses.replace(facts(), accepted={"TLS 1.2": (AES256,), "TLS 1.3": (AES256_13,)}),
                               "1.2")
    # Then TLS-0010 warns, naming them
    assert verdict.status is Status.WARN and "SSL 2.0, SSL 3.0, TLS 1.0, TLS 1.1 could not be tested" in verdict.message


def test_an_endpoint_answering_in_clear_fails_tls_0010_with_what_answered():
    # Given a port declared TLS where a plain HTTP server answered
    verdict = minimum_protocol(facts({}, IN_CLEAR), "1.2")
    # Then TLS-0010 fails: data is served without encryption, and the answer is quoted, escaped
    assert verdict.status is Status.FAIL
    assert verdict.message.startswith("portal.example:443 serves data without encryption: a plain HTTP server")
    assert "'HTTP/1.1 400 Bad Request\\r\\nServer: nginx'" in verdict.message
    assert verdict.observed == {"tls": False, "answered": IN_CLEAR.first_bytes}


@pytest.mark.parametrize("check", [lambda f: cipher_strength(f, 256, False), legacy_suites])
def test_checks_of_what_tls_protects_do_not_apply_to_an_endpoint_in_clear(check):
    verdict = check(facts({}, IN_CLEAR))
    assert verdict.status is Status.NOT_APPLICABLE and "answers without TLS" in verdict.message
    assert "TLS-0010" in verdict.message


@pytest.mark.parametrize(
    ("suites12", "suites13", "chacha_ok", "status", "words"),
    [
        ((AES256,), (AES256_13,), False, Status.PASS, "All 2 cipher suites"),
        ((AES256,), (AES256_13, AES128_13), False, Status.FAIL,
         "TLS 1.3: TLS_AES_128_GCM_SHA256 (AES-128 is below 256 bits)"),
        ((AES256, RSA_KX), (AES256_13,), False, Status.FAIL,
         "TLS 1.2: TLS_RSA_WITH_AES_256_GCM_SHA384 (no forward secrecy)"),
        ((TRIPLE_DES,), (), False, Status.FAIL, "3DES is not AES; no forward secrecy"),
        ((AES256,), (AES256_13, CHACHA), False, Status.FAIL, "ChaCha20 is not AES"),
        ((AES256,), (AES256_13, CHACHA), True, Status.PASS, "accepted as equivalent to AES-256, not AES"),
    ],
)
def test_cipher_strength(suites12, suites13, chacha_ok, status, words):
    # Given the suites accepted per protocol, When TLS-0020 evaluates them with min_aes_bits 256
    verdict = cipher_strength(facts({"TLS 1.2": suites12, "TLS 1.3": suites13}), 256, chacha_ok)
    # Then the offending suites are listed per protocol
    assert verdict.status is status and words in verdict.message


def test_cipher_strength_lists_offenders_in_observed():
    accepted = {"TLS 1.2": (AES256,), "TLS 1.3": (AES256_13, AES128_13)}
    verdict = cipher_strength(facts(accepted), 256, False)
    assert verdict.observed["offending"] == {"TLS 1.3": ["TLS_AES_128_GCM_SHA256 (AES-128 is below 256 bits)"]}
    assert cipher_strength(facts(accepted), 128, False).status is Status.PASS


@pytest.mark.parametrize(
    ("accepted", "status", "words"),
    [
        ({"TLS 1.2": (AES256,), "TLS 1.3": (AES256_13,)}, Status.PASS, "accepts no CBC-mode or SHA-1 HMAC"),
        ({"TLS 1.2": (AES256, CBC_SHA1)}, Status.WARN,
         "TLS 1.2: TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA (CBC, SHA-1 HMAC)"),
        ({"TLS 1.0": (CBC_SHA1,), "TLS 1.2": (CBC_SHA384,)}, Status.WARN,
         "TLS 1.0: TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA (CBC, SHA-1 HMAC); TLS 1.2: "
         "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 (CBC)"),
    ],
)
def test_cbc_and_sha1_hmac_suites_are_a_warning_with_the_suites_listed(accepted, status, words):
    # Given the suites accepted on TLS 1.0 to 1.2, When TLS-0060 evaluates them
    verdict = legacy_suites(facts(accepted))
    # Then CBC-mode and SHA-1 HMAC suites are listed per protocol, as a warning
    assert verdict.status is status and words in verdict.message


def vulnerabilities(**changes) -> VulnerabilityFacts:
    return dataclasses.replace(VulnerabilityFacts(PORTAL, VULNS, "NOT_VULNERABLE_NO_ORACLE"), **changes)


@pytest.mark.parametrize(
    ("changes", "status", "words"),
    [
        ({}, Status.PASS, "not vulnerable to Heartbleed, CCS injection, ROBOT"),
        ({"vulnerable": VULNS | {"heartbleed": True}}, Status.FAIL, "vulnerable: Heartbleed"),
        ({"vulnerable": VULNS | {"compression": True, "no_fallback_scsv": True}}, Status.FAIL,
         "TLS compression (CRIME), no TLS_FALLBACK_SCSV downgrade protection"),
        ({"vulnerable": VULNS | {"insecure_renegotiation": True}}, Status.FAIL, "insecure renegotiation"),
        ({"robot": "VULNERABLE_STRONG_ORACLE"}, Status.FAIL, "ROBOT (vulnerable strong oracle)"),
        ({"vulnerable": {k: v for k, v in VULNS.items() if k != "insecure_renegotiation"},
          "unavailable": {"session_renegotiation": "the server requires a client certificate"}}, Status.WARN,
         "insecure renegotiation: the server requires a client certificate"),
        ({"robot": "UNKNOWN_INCONSISTENT_RESULTS"}, Status.WARN, "ROBOT: inconsistent results"),
        ({"endpoint": IN_CLEAR}, Status.NOT_APPLICABLE, "answers without TLS"),
    ],
)
def test_known_vulnerabilities(changes, status, words):
    verdict = known_vulnerabilities(vulnerabilities(**changes))
    assert verdict.status is status and words in verdict.message


def http(**changes) -> HttpFacts:
    return dataclasses.replace(HttpFacts(PORTAL, True, 31536000), **changes)


@pytest.mark.parametrize(
    ("changes", "status", "words"),
    [
        ({}, Status.PASS, "max-age=31536000 (365 days)"),
        ({"hsts_max_age": None}, Status.FAIL, "without a Strict-Transport-Security header"),
        ({"hsts_max_age": 86400}, Status.FAIL, "max-age=86400 (1 days), below 180 days"),
        ({"hsts_max_age": 15552000}, Status.PASS, "(180 days)"),
        ({"endpoint": dataclasses.replace(PORTAL, starttls="smtp"), "answered": False, "hsts_max_age": None},
         Status.NOT_APPLICABLE, "speaks SMTP with STARTTLS, not HTTPS"),
        ({"answered": False, "hsts_max_age": None, "error": "ConnectionResetError"},
         Status.NOT_APPLICABLE, "not an HTTPS service (ConnectionResetError)"),
        ({"unavailable": {"http_headers": "the server requires a client certificate"}, "answered": False},
         Status.WARN, "could not be read: the server requires a client certificate"),
        ({"endpoint": IN_CLEAR}, Status.NOT_APPLICABLE, "answers without TLS"),
    ],
)
def test_hsts(changes, status, words):
    verdict = hsts(http(**changes))
    assert verdict.status is status and words in verdict.message


@pytest.mark.parametrize("check", [lambda f: minimum_protocol(f, "1.2"), lambda f: cipher_strength(f, 256, False),
                                   legacy_suites])
def test_an_endpoint_sslyze_cannot_scan_is_not_applicable_with_the_reason(check):
    endpoint = dataclasses.replace(PORTAL, starttls="mysql", not_scanned="sslyze has no STARTTLS for mysql")
    verdict = check(facts({}, endpoint))
    assert verdict.status is Status.NOT_APPLICABLE and "could not be scanned: sslyze has no STARTTLS" in verdict.message
