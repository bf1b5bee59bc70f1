"""TLS-0010..TLS-0050 on facts built in code: table-driven, Given/When/Then."""

from __future__ import annotations

import dataclasses

import pytest

from auditor.collectors.tls import Certificate, CipherSuite, TlsFacts
from auditor.models import Status
from checks.tls import certificate_valid, cipher_strength, hsts, known_vulnerabilities, minimum_protocol

AES256 = CipherSuite("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "AES", 256, True)
AES256_13 = CipherSuite("TLS_AES_256_GCM_SHA384", "AES", 256, True)
AES128_13 = CipherSuite("TLS_AES_128_GCM_SHA256", "AES", 128, True)
CHACHA = CipherSuite("TLS_CHACHA20_POLY1305_SHA256", "CHACHA20", 256, True)
RSA_KX = CipherSuite("TLS_RSA_WITH_AES_256_GCM_SHA384", "AES", 256, False)
TRIPLE_DES = CipherSuite("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "3DES", 168, False)
CERT = Certificate("CN=portal.example", "CN=Example CA", ("portal.example",), (), "2026-01-01T00:00:00Z",
                   "2027-01-01T00:00:00Z", "RSA", 2048, "sha256", ("Mozilla",))
NONE: tuple[CipherSuite, ...] = ()
VULNS = {"heartbleed": False, "ccs_injection": False, "compression": False, "insecure_renegotiation": False,
         "no_fallback_scsv": False}


def facts(**changes) -> TlsFacts:
    base = TlsFacts(
        endpoint="portal.example:443", ip_address="192.0.2.10", server_name="portal.example", starttls="",
        scanned_at="2026-06-01T00:00:00Z", client_auth="DISABLED",
        accepted={"SSL 2.0": NONE, "SSL 3.0": NONE, "TLS 1.0": NONE, "TLS 1.1": NONE, "TLS 1.2": (AES256,),
                  "TLS 1.3": (AES256_13,)},
        certificates=(CERT,), vulnerabilities=VULNS, robot="NOT_VULNERABLE_NO_ORACLE", http_answered=True,
        hsts_max_age=31536000,
    )
    return dataclasses.replace(base, **changes)


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
    table = {p: NONE for p in ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")} | accepted
    verdict = minimum_protocol(facts(accepted=table), minimum)
    # Then the sentence names what is accepted and the minimum
    assert verdict.status is status and words in verdict.message
    assert verdict.expected == {"oldest_protocol": f"TLS {minimum}"}


def test_minimum_protocol_warns_when_an_old_protocol_could_not_be_tested():
    table = {"TLS 1.2": (AES256,), "TLS 1.3": (AES256_13,)}  # SSL/TLS 1.0/1.1 scans errored
    verdict = minimum_protocol(facts(accepted=table), "1.2")
    assert verdict.status is Status.WARN and "SSL 2.0, SSL 3.0, TLS 1.0, TLS 1.1 could not be tested" in verdict.message


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
    table = {p: NONE for p in ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1")} | {"TLS 1.2": suites12,
                                                                               "TLS 1.3": suites13}
    verdict = cipher_strength(facts(accepted=table), 256, chacha_ok)
    # Then the offending suites are listed per protocol
    assert verdict.status is status and words in verdict.message


def test_cipher_strength_lists_offenders_in_observed():
    table = {"TLS 1.2": (AES256,), "TLS 1.3": (AES256_13, AES128_13)}
    verdict = cipher_strength(facts(accepted=table), 256, False)
    assert verdict.observed["offending"] == {"TLS 1.3": ["TLS_AES_128_GCM_SHA256 (AES-128 is below 256 bits)"]}
    assert cipher_strength(facts(accepted=table), 128, False).status is Status.PASS


@pytest.mark.parametrize(
    ("cert", "scanned_at", "status", "words"),
    [
        (CERT, "2026-06-01T00:00:00Z", Status.PASS, "validates (Mozilla), matches portal.example and has 214 days"),
        (CERT, "2026-12-15T00:00:00Z", Status.WARN, "expires in 17 days, fewer than 30"),
        (CERT, "2027-02-01T00:00:00Z", Status.FAIL, "it expired on 2027-01-01"),
        (CERT, "2025-12-01T00:00:00Z", Status.FAIL, "it is not valid before 2026-01-01"),
        (dataclasses.replace(CERT, dns_names=("*.example",)), "2026-06-01T00:00:00Z", Status.PASS, "matches"),
        (dataclasses.replace(CERT, dns_names=("wrong.example",)), "2026-06-01T00:00:00Z", Status.FAIL,
         "does not match the server name portal.example (it names wrong.example)"),
        (dataclasses.replace(CERT, trusted_by=("Supplied CA file",)), "2026-06-01T00:00:00Z", Status.PASS,
         "validates (Supplied CA file)"),
        (dataclasses.replace(CERT, trusted_by=("Java",), validation_errors={"Mozilla": "candidates exhausted"}),
         "2026-06-01T00:00:00Z", Status.FAIL, "does not validate against the system store or the ca_file "
         "(candidates exhausted)"),
        (dataclasses.replace(CERT, key_bits=1024), "2026-06-01T00:00:00Z", Status.FAIL, "RSA key has 1024 bits"),
        (dataclasses.replace(CERT, key_algorithm="EC", key_bits=224), "2026-06-01T00:00:00Z", Status.FAIL,
         "EC key has 224 bits"),
        (dataclasses.replace(CERT, key_algorithm="EC", key_bits=256), "2026-06-01T00:00:00Z", Status.PASS, "days"),
        (dataclasses.replace(CERT, signature_hash="sha1"), "2026-06-01T00:00:00Z", Status.FAIL, "signed with sha1"),
        (dataclasses.replace(CERT, chain_has_sha1=True), "2026-06-01T00:00:00Z", Status.FAIL, "SHA-1 in the chain"),
        (dataclasses.replace(CERT, key_algorithm="Ed25519", key_bits=None, signature_hash=None),
         "2026-06-01T00:00:00Z", Status.PASS, "validates"),
    ],
)
def test_certificate_valid(cert, scanned_at, status, words):
    # Given one certificate and the scan time, When TLS-0030 evaluates it with cert_min_days_left 30
    (verdict,) = certificate_valid(facts(certificates=(cert,), scanned_at=scanned_at), 30)
    # Then every problem is named in one sentence
    assert verdict.status is status and words in verdict.message


def test_certificate_valid_gives_one_verdict_per_chain():
    ec = dataclasses.replace(CERT, key_algorithm="EC", key_bits=256)
    verdicts = certificate_valid(facts(certificates=(CERT, ec)), 30)
    assert [v.resource for v in verdicts] == ["portal.example:443 chain 1 (RSA)", "portal.example:443 chain 2 (EC)"]
    assert certificate_valid(facts(certificates=()), 30) == []


@pytest.mark.parametrize(
    ("changes", "status", "words"),
    [
        ({}, Status.PASS, "not vulnerable to Heartbleed, CCS injection, ROBOT"),
        ({"vulnerabilities": VULNS | {"heartbleed": True}}, Status.FAIL, "vulnerable: Heartbleed"),
        ({"vulnerabilities": VULNS | {"compression": True, "no_fallback_scsv": True}}, Status.FAIL,
         "TLS compression (CRIME), no TLS_FALLBACK_SCSV downgrade protection"),
        ({"vulnerabilities": VULNS | {"insecure_renegotiation": True}}, Status.FAIL, "insecure renegotiation"),
        ({"robot": "VULNERABLE_STRONG_ORACLE"}, Status.FAIL, "ROBOT (vulnerable strong oracle)"),
        ({"vulnerabilities": {k: v for k, v in VULNS.items() if k != "insecure_renegotiation"},
          "unavailable": {"session_renegotiation": "the server requires a client certificate"}}, Status.WARN,
         "insecure renegotiation: the server requires a client certificate"),
        ({"robot": "UNKNOWN_INCONSISTENT_RESULTS"}, Status.WARN, "ROBOT: inconsistent results"),
    ],
)
def test_known_vulnerabilities(changes, status, words):
    verdict = known_vulnerabilities(facts(**changes))
    assert verdict.status is status and words in verdict.message


@pytest.mark.parametrize(
    ("changes", "status", "words"),
    [
        ({}, Status.PASS, "max-age=31536000 (365 days)"),
        ({"hsts_max_age": None}, Status.FAIL, "without a Strict-Transport-Security header"),
        ({"hsts_max_age": 86400}, Status.FAIL, "max-age=86400 (1 days), below 180 days"),
        ({"hsts_max_age": 15552000}, Status.PASS, "(180 days)"),
        ({"starttls": "smtp", "http_answered": False, "hsts_max_age": None}, Status.NOT_APPLICABLE,
         "SMTP service (STARTTLS), not HTTPS"),
        ({"http_answered": False, "hsts_max_age": None, "http_error": "ConnectionResetError"},
         Status.NOT_APPLICABLE, "not an HTTPS service (ConnectionResetError)"),
        ({"unavailable": {"http_headers": "the server requires a client certificate"}, "http_answered": False},
         Status.WARN, "could not be read: the server requires a client certificate"),
    ],
)
def test_hsts(changes, status, words):
    verdict = hsts(facts(**changes))
    assert verdict.status is status and words in verdict.message
