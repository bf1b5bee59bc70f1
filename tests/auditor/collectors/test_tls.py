"""The TLS collectors on recorded probe documents and sslyze JSON (tests/fixtures/outputs/tls/)."""

from __future__ import annotations

import json

import pytest

from auditor.collectors import tls, tls_certificate, tls_http, tls_vulnerabilities
from auditor.collectors.tls import PROBE_COMMAND, parse_probe, parse_sslyze_json
from auditor.errors import CollectorError, CommandTimeout, ConnectError
from auditor.models import SystemFacts, Target, TargetKind
from auditor.transports.base import TIMED_OUT, CommandResult
from tests.auditor.fake_host import FakeHost
from tests.conftest import FIXTURES

OUTPUTS = FIXTURES / "outputs" / "tls"
NO_SYSTEM = SystemFacts(platform=None)
CA = "/etc/auditor/ca.pem"


def recorded(name: str) -> str:
    return (OUTPUTS / name).read_text(encoding="utf-8")


def target_for(document: str, ca_file: str = CA) -> Target:
    """The target a recorded sslyze document was scanned for."""
    server = json.loads(recorded(document))["server_scan_results"][0]
    location, network = server["server_location"], server["network_configuration"]
    options = {"host": location["ip_address"], "port": location["port"],
               "server_name": network["tls_server_name_indication"],
               "starttls": (network["tls_opportunistic_encryption"] or "").lower(), "ca_file": ca_file}
    return Target("portal", TargetKind.TLS, options={k: v for k, v in options.items() if v})


def host_for(collector, document: str, *, status: int = 0, stdout: str | None = None,
             ca_file: str = CA) -> tuple[FakeHost, Target]:
    """A FakeHost answering the probe and one collector's scan command with recorded documents."""
    target = target_for(document, ca_file)
    probe = "debian12-probe-smtp.json" if target.options.get("starttls") else "debian12-probe-tls.json"
    (_, scan), _ = collector.requests(NO_SYSTEM, target)
    answers = {str(PROBE_COMMAND): CommandResult(str(PROBE_COMMAND), 0, recorded(probe)),
               str(scan): CommandResult(str(scan), status, recorded(document) if stdout is None else stdout,
                                        "timed out" if status else "")}
    return FakeHost(answers), target


def test_each_collector_asks_for_the_scan_commands_of_its_checks_only():
    # Given an HTTPS target, When each TLS collector says what it needs
    target = target_for("debian12-sslyze-protocols-modern.json")
    asked = {module.__name__.rsplit(".", 1)[1]: module.requests(NO_SYSTEM, target)[0] for module in
             (tls, tls_certificate, tls_vulnerabilities, tls_http)}
    # Then each asks for the probe and one sslyze-scan with its own commands (the transport merges them)
    assert all(commands[0] == PROBE_COMMAND for commands in asked.values())
    assert str(asked["tls_certificate"][1]).endswith(f"--ca-file {CA} --commands certificate_info")
    assert "--commands ssl_2_0_cipher_suites,ssl_3_0_cipher_suites" in str(asked["tls"][1])
    assert "elliptic_curves" not in " ".join(str(c) for commands in asked.values() for c in commands)
    # And a STARTTLS service is not asked for HTTP headers
    smtp = target_for("debian12-sslyze-protocols-smtp.json")
    assert tls_http.requests(NO_SYSTEM, smtp)[0] == (PROBE_COMMAND,)


def test_modern_endpoint_protocols_and_suites():
    # Given the recorded scan of an AES-256-only TLS 1.2/1.3 server, When collected
    host, target = host_for(tls, "debian12-sslyze-protocols-modern.json")
    facts = tls.collect(host, NO_SYSTEM, target)
    # Then protocols and suites are read from sslyze's JSON, with their mode and MAC
    assert facts.endpoint.encrypted and facts.endpoint.name.startswith("tls.auditor.test:")
    assert [p for p, suites in facts.accepted.items() if suites] == ["TLS 1.2", "TLS 1.3"]
    (tls12,) = facts.accepted["TLS 1.2"]
    assert (tls12.name, tls12.bulk_cipher, tls12.key_bits, tls12.forward_secrecy, tls12.cbc, tls12.mac) == (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "AES", 256, True, False, "AEAD")
    assert tls12.key_exchange.startswith("ECDH ")
    assert facts.client_auth == "DISABLED" and facts.scanned_at


@pytest.mark.parametrize(
    ("name", "protocols", "bulk_bits"),
    [
        ("debian12-sslyze-protocols-legacy.json", ["TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"], {256}),
        ("debian12-sslyze-protocols-aes128.json", ["TLS 1.2", "TLS 1.3"], {128}),
        ("debian12-sslyze-protocols-smtp.json", ["TLS 1.2"], {256}),
    ],
)
def test_accepted_protocols_and_key_sizes(name, protocols, bulk_bits):
    host, target = host_for(tls, name)
    facts = tls.collect(host, NO_SYSTEM, target)
    assert [p for p, suites in facts.accepted.items() if suites] == protocols
    assert {s.key_bits for suites in facts.accepted.values() for s in suites} == bulk_bits
    assert set(facts.accepted) == {"SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"}


def test_legacy_suites_are_marked_cbc_with_a_sha1_hmac():
    host, target = host_for(tls, "debian12-sslyze-protocols-legacy.json")
    cbc = [s for s in tls.collect(host, NO_SYSTEM, target).accepted["TLS 1.0"]]
    assert [(s.name, s.cbc, s.mac) for s in cbc] == [("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", True, "SHA1")]


@pytest.mark.parametrize(
    ("name", "ca_file", "expect"),
    [
        ("debian12-sslyze-certificate-modern.json", CA,
         {"trusted_by": ("Supplied CA file",), "self_signed": False, "top_issuer": "CN=auditor test CA"}),
        ("debian12-sslyze-certificate-no-ca-file.json", "",
         {"trusted_by": (), "self_signed": False, "top_issuer": "CN=auditor test CA"}),
        ("debian12-sslyze-certificate-self-signed.json", CA,
         {"trusted_by": (), "self_signed": True, "top_self_signed": True}),
        ("debian12-sslyze-certificate-wrong-name.json", CA,
         {"trusted_by": (), "dns_names": ("other.auditor.test",)}),
        ("debian12-sslyze-certificate-untrusted.json", CA,
         {"trusted_by": (), "self_signed": False, "top_issuer": "CN=auditor rogue CA", "top_self_signed": False}),
    ],
)
def test_certificate_facts_keep_the_chain_apart_from_the_validator(name, ca_file, expect):
    # Given a recorded certificate_info scan, When collected
    host, target = host_for(tls_certificate, name, ca_file=ca_file)
    facts = tls_certificate.collect(host, NO_SYSTEM, target)
    (cert,) = facts.certificates
    # Then what the chain shows is read apart from the validator's verdicts
    assert {key: getattr(cert, key) for key in expect} == expect
    assert (cert.key_algorithm, cert.key_bits, cert.signature_hash) == ("EC", 256, "sha256")
    assert facts.ca_file == ca_file and facts.scanned_at and cert.sent[0] == cert.subject


def test_validator_errors_are_kept_without_their_object_dump():
    host, target = host_for(tls_certificate, "debian12-sslyze-certificate-expired.json")
    (cert,) = tls_certificate.collect(host, NO_SYSTEM, target).certificates
    assert cert.validation_errors["Supplied CA file"] == "cert is not valid at validation time"


def test_vulnerabilities_and_what_could_not_be_tested():
    host, target = host_for(tls_vulnerabilities, "debian12-sslyze-vulnerabilities-modern.json")
    facts = tls_vulnerabilities.collect(host, NO_SYSTEM, target)
    assert facts.vulnerable == {"heartbleed": False, "ccs_injection": False, "compression": False,
                                "insecure_renegotiation": False, "no_fallback_scsv": False}
    assert facts.robot == "NOT_VULNERABLE_RSA_NOT_SUPPORTED" and facts.unavailable == {}
    # A server that demands a client certificate: the renegotiation test says why it did not run
    host, target = host_for(tls_vulnerabilities, "debian12-sslyze-vulnerabilities-client-cert.json")
    facts = tls_vulnerabilities.collect(host, NO_SYSTEM, target)
    assert "insecure_renegotiation" not in facts.vulnerable
    assert "requires a client certificate" in facts.unavailable["session_renegotiation"]


@pytest.mark.parametrize(
    ("name", "answered", "max_age", "unavailable"),
    [
        ("debian12-sslyze-http-web.json", True, 31536000, set()),
        ("debian12-sslyze-http-modern.json", True, None, set()),
        ("debian12-sslyze-http-client-cert.json", False, None, {"http_headers"}),
    ],
)
def test_hsts_header(name, answered, max_age, unavailable):
    host, target = host_for(tls_http, name)
    facts = tls_http.collect(host, NO_SYSTEM, target)
    assert (facts.answered, facts.hsts_max_age, set(facts.unavailable)) == (answered, max_age, unavailable)


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [
        ("debian12-probe-silent.json", CommandTimeout, "no TLS service answered on 127.0.0.1:"),
        ("debian12-probe-closed.json", ConnectError, "refused the connection: nothing listens on that port"),
        ("debian12-probe-unresolvable.json", ConnectError, "the name 'no-such-host.invalid' could not be resolved"),
    ],
)
def test_an_endpoint_where_nothing_answered_is_unreachable_with_the_probe_sentence(name, error, words):
    # Given a recorded probe where nothing answered
    host = FakeHost({str(PROBE_COMMAND): CommandResult(str(PROBE_COMMAND), 1, recorded(name))})
    # When any TLS collector runs, Then it raises the error that makes the target not assessed, and scans nothing
    for collector in (tls, tls_certificate, tls_vulnerabilities, tls_http):
        with pytest.raises(error, match=words):
            collector.collect(host, NO_SYSTEM, target_for("debian12-sslyze-protocols-modern.json"))
    assert set(host.calls) == {str(PROBE_COMMAND)}


def test_an_endpoint_answering_in_clear_gives_facts_without_a_scan():
    # Given a probe that found plain HTTP on the TLS port
    host = FakeHost({str(PROBE_COMMAND): CommandResult(str(PROBE_COMMAND), 1, recorded(
        "debian12-probe-plain-http.json"))})
    target = target_for("debian12-sslyze-protocols-modern.json")
    # When collected, Then the endpoint is marked unencrypted with what answered, escaped, and nothing is scanned
    endpoint = tls.collect(host, NO_SYSTEM, target).endpoint
    assert not endpoint.encrypted and "a plain HTTP server answered on 127.0.0.1:" in endpoint.answered
    assert endpoint.first_bytes.startswith("HTTP/1.1 400 Bad Request\\r\\nServer: nginx")
    assert not tls_certificate.collect(host, NO_SYSTEM, target).certificates
    assert host.calls == [str(PROBE_COMMAND)] * 2


def test_a_scan_over_its_budget_is_a_collector_error():
    host, target = host_for(tls, "debian12-sslyze-protocols-modern.json", status=TIMED_OUT, stdout="")
    with pytest.raises(CollectorError, match="timed out"):
        tls.collect(host, NO_SYSTEM, target)


@pytest.mark.parametrize("text", ["", "not json", '{"server_scan_results": []}', "[]"])
def test_unreadable_scan_output_is_a_collector_error(text):
    with pytest.raises(CollectorError, match="cannot be read"):
        parse_sslyze_json(text)
    with pytest.raises(CollectorError, match="cannot be read"):
        parse_probe(text or "{}")


def test_sslyze_connectivity_failure_is_reported_with_its_last_line():
    document = json.loads(recorded("debian12-sslyze-protocols-modern.json"))
    server = document["server_scan_results"][0]
    server.update(connectivity_status="ERROR", scan_status="ERROR_NO_CONNECTIVITY", scan_result=None,
                  connectivity_result=None, connectivity_error_trace="Traceback...\nServerRejectedConnection: refused")
    with pytest.raises(CollectorError, match=r"could not complete a TLS handshake .*: ServerRejectedConnection"):
        parse_sslyze_json(json.dumps(document))


def test_a_starttls_protocol_sslyze_cannot_speak_is_not_scanned_and_says_why():
    # Given a MySQL endpoint (TLS is negotiated inside MySQL's own handshake)
    mysql = Target("crm-mysql", TargetKind.TLS, options={"host": "192.0.2.5", "port": 3306, "starttls": "mysql"})
    # Then no TLS collector asks for a scan, and the facts say why there is none
    assert all(module.requests(NO_SYSTEM, mysql)[0] == (PROBE_COMMAND,)
               for module in (tls, tls_certificate, tls_vulnerabilities, tls_http))
    host = FakeHost({str(PROBE_COMMAND): CommandResult(str(PROBE_COMMAND), 0, recorded("debian12-probe-tls.json"))})
    endpoint = tls.collect(host, NO_SYSTEM, mysql).endpoint
    assert endpoint.encrypted and endpoint.not_scanned.startswith("sslyze has no STARTTLS for mysql")
