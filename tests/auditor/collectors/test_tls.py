"""The tls collector on recorded sslyze JSON and probe documents (tests/fixtures/outputs/tls/)."""

from __future__ import annotations

import json

import pytest

from auditor.collectors.tls import PROBE_COMMAND, SCAN_TIMEOUT, collect, parse_probe, parse_sslyze_json
from auditor.errors import CollectorError
from auditor.models import SystemFacts
from auditor.transports.base import TIMED_OUT, CommandResult
from auditor.transports.tls import scan_command
from tests.auditor.fake_host import FakeHost
from tests.conftest import FIXTURES

OUTPUTS = FIXTURES / "outputs" / "tls"
NO_SYSTEM = SystemFacts(platform=None)


def recorded(name: str) -> str:
    return (OUTPUTS / name).read_text(encoding="utf-8")


def host_for(sslyze_file: str, *, scan_status: int = 0, scan_stdout: str | None = None) -> FakeHost:
    """A FakeHost answering the probe (a TLS service answered) and the scan with a recorded sslyze result."""
    server = json.loads(recorded(sslyze_file))["server_scan_results"][0]
    location, network = server["server_location"], server["network_configuration"]
    starttls = (network["tls_opportunistic_encryption"] or "").lower()
    probe = {"probe": "auditor-tls-probe/1", "host": location["ip_address"], "port": location["port"],
             "server_name": network["tls_server_name_indication"], "starttls": starttls,
             "ca_file": "/etc/auditor/ca.pem", "outcome": "tls", "message": "completed a TLS handshake",
             "ip_address": location["ip_address"]}
    scan = scan_command(probe["host"], probe["port"], probe["ip_address"], probe["server_name"], starttls,
                        "/etc/auditor/ca.pem", timeout=SCAN_TIMEOUT)
    stdout = recorded(sslyze_file) if scan_stdout is None else scan_stdout
    return FakeHost({str(PROBE_COMMAND): CommandResult(str(PROBE_COMMAND), 0, json.dumps(probe)),
                     str(scan): CommandResult(str(scan), scan_status, stdout, "timed out" if scan_status else "")})


def test_modern_endpoint_facts():
    # Given the recorded scan of an AES-256-only TLS 1.2/1.3 server, When collected
    facts = collect(host_for("debian12-sslyze-modern.json"), NO_SYSTEM)
    # Then protocols, suites, certificate and vulnerabilities are read from sslyze's JSON
    assert [p for p, suites in facts.accepted.items() if suites] == ["TLS 1.2", "TLS 1.3"]
    (tls12,) = facts.accepted["TLS 1.2"]
    assert (tls12.name, tls12.bulk_cipher, tls12.key_bits, tls12.forward_secrecy) == (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "AES", 256, True)
    assert tls12.key_exchange == "ECDH secp256r1 (256 bits)"
    (cert,) = facts.certificates
    assert (cert.key_algorithm, cert.key_bits, cert.signature_hash) == ("EC", 256, "sha256")
    assert cert.dns_names == ("tls.auditor.test",) and "Supplied CA file" in cert.trusted_by
    assert "Mozilla" in cert.validation_errors
    assert facts.vulnerabilities == {"heartbleed": False, "ccs_injection": False, "compression": False,
                                     "insecure_renegotiation": False, "no_fallback_scsv": False}
    assert facts.robot == "NOT_VULNERABLE_RSA_NOT_SUPPORTED" and "X25519" in facts.curves
    assert facts.http_answered and facts.hsts_max_age is None and facts.unavailable == {}
    assert facts.server_name == "tls.auditor.test" and facts.client_auth == "DISABLED"


@pytest.mark.parametrize(
    ("name", "protocols", "bulk_bits"),
    [
        ("debian12-sslyze-legacy.json", ["TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"], {256}),
        ("debian12-sslyze-aes128.json", ["TLS 1.2", "TLS 1.3"], {128}),
        ("debian12-sslyze-hsts.json", ["TLS 1.2"], {256}),
        ("debian12-sslyze-smtp.json", ["TLS 1.2"], {256}),
    ],
)
def test_accepted_protocols_and_key_sizes(name, protocols, bulk_bits):
    facts = parse_sslyze_json(recorded(name))
    assert [p for p, suites in facts.accepted.items() if suites] == protocols
    assert {s.key_bits for suites in facts.accepted.values() for s in suites} == bulk_bits
    assert set(facts.accepted) == {"SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"}


@pytest.mark.parametrize(
    ("name", "error_words"),
    [
        ("debian12-sslyze-expired.json", "cert is not valid at validation time"),
        ("debian12-sslyze-wrong-host.json", "leaf certificate has no matching subjectAltName"),
    ],
)
def test_certificate_problems_are_kept_as_sslyze_says_them(name, error_words):
    (cert,) = parse_sslyze_json(recorded(name)).certificates
    assert cert.trusted_by == ()
    assert cert.validation_errors["Supplied CA file"] == error_words


def test_hsts_header_and_starttls():
    hsts = parse_sslyze_json(recorded("debian12-sslyze-hsts.json"))
    smtp = parse_sslyze_json(recorded("debian12-sslyze-smtp.json"))
    assert hsts.hsts_max_age == 31536000 and hsts.http_answered
    assert smtp.starttls == "smtp" and not smtp.http_answered and smtp.hsts_max_age is None


def test_client_certificate_required_keeps_what_could_be_scanned():
    # Given a server that demands a client certificate
    facts = parse_sslyze_json(recorded("debian12-sslyze-client-cert.json"))
    # Then protocols and the certificate are still read, and the tests that needed a certificate say why not
    assert facts.client_auth == "REQUIRED" and facts.certificates and facts.accepted["TLS 1.2"]
    assert set(facts.unavailable) == {"session_renegotiation", "http_headers"}
    assert "requires a client certificate" in facts.unavailable["http_headers"]
    assert "insecure_renegotiation" not in facts.vulnerabilities


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("debian12-probe-silent.json", "no TLS service answered on 127.0.0.1:"),
        ("debian12-probe-closed.json", "refused the connection: nothing listens on that port"),
        ("debian12-probe-plain-http.json", "a plain HTTP server answered on 127.0.0.1:"),
        ("debian12-probe-unresolvable.json", "the name 'no-such-host.invalid' could not be resolved"),
    ],
)
def test_an_endpoint_without_tls_is_a_collector_error_with_the_probe_sentence(name, words):
    # Given a recorded probe that found no TLS service
    host = FakeHost({str(PROBE_COMMAND): CommandResult(str(PROBE_COMMAND), 1, recorded(name))})
    # When collected, Then the probe's sentence is the error, and no scan was asked for
    with pytest.raises(CollectorError, match=words):
        collect(host, NO_SYSTEM)
    assert host.calls == [str(PROBE_COMMAND)]
    assert parse_probe(recorded(name))["outcome"] != "tls"


def test_a_scan_over_its_budget_is_a_collector_error():
    host = host_for("debian12-sslyze-modern.json", scan_status=TIMED_OUT, scan_stdout="")
    with pytest.raises(CollectorError, match="timed out"):
        collect(host, NO_SYSTEM)


@pytest.mark.parametrize("text", ["", "not json", '{"server_scan_results": []}', "[]"])
def test_unreadable_scan_output_is_a_collector_error(text):
    with pytest.raises(CollectorError, match="cannot be read"):
        parse_sslyze_json(text)


def test_sslyze_connectivity_failure_is_reported_with_its_last_line():
    document = json.loads(recorded("debian12-sslyze-modern.json"))
    server = document["server_scan_results"][0]
    server.update(connectivity_status="ERROR", scan_status="ERROR_NO_CONNECTIVITY", scan_result=None,
                  connectivity_result=None, connectivity_error_trace="Traceback...\nServerRejectedConnection: refused")
    with pytest.raises(CollectorError, match=r"could not complete a TLS handshake .*: ServerRejectedConnection"):
        parse_sslyze_json(json.dumps(document))
