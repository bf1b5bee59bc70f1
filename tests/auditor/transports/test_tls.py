"""The TLS transport against real servers on 127.0.0.1: the probe's outcomes, the scan, the wall-clock budget."""

from __future__ import annotations

import json
import time

import pytest

from auditor.models import Target, TargetKind
from auditor.transports.base import NOT_FOUND, TIMED_OUT, Command
from auditor.transports.tls import PROBE, TlsTransport, scan_command
from tests.tls_servers import SILENT_BUDGET, Endpoint, tls_lab  # noqa: F401  (tls_lab is a fixture)

pytestmark = pytest.mark.tls


def transport(endpoint: Endpoint, **options) -> TlsTransport:
    # A generous budget except for the silent listener: a loaded CI machine may greet slowly.
    budget = SILENT_BUDGET if endpoint.name == "silent" else 15
    settings = {"host": endpoint.host, "port": endpoint.port, "server_name": endpoint.server_name,
                "starttls": endpoint.starttls, "ca_file": endpoint.ca_file, "connect_timeout": budget}
    return TlsTransport(Target(endpoint.name, TargetKind.TLS,
                               options={k: v for k, v in (settings | options).items() if v}))


@pytest.mark.parametrize(
    ("name", "outcome", "status", "words"),
    [
        ("modern", "tls", 0, "completed a TLS handshake"),
        ("smtp", "tls", 0, "greeted as a SMTP server"),
        ("plain_http", "plain_http", 1, "a plain HTTP server answered on 127.0.0.1:"),
        ("closed", "closed", 1, "refused the connection: nothing listens on that port"),
        ("unresolvable", "unresolvable", 1, "the name 'no-such-host.invalid' could not be resolved"),
        ("silent", "silent", TIMED_OUT, f"no TLS service answered on 127.0.0.1:{{port}} within {SILENT_BUDGET} s"),
    ],
)
def test_probe_tells_each_failure_apart(tls_lab, name, outcome, status, words):  # noqa: F811
    # Given one lab endpoint, When the transport probes it
    endpoint = tls_lab.endpoints[name]
    started = time.monotonic()
    result = transport(endpoint).run(Command((PROBE,)))
    elapsed = time.monotonic() - started
    # Then the probe's JSON and exit status say what answered, within the budget
    document = json.loads(result.stdout)
    assert (document["outcome"], result.exit_status) == (outcome, status)
    assert words.format(port=endpoint.port) in document["message"]
    assert elapsed < SILENT_BUDGET + 1
    if status:
        assert result.stderr == document["message"]


def test_smtp_banner_on_a_direct_tls_port_suggests_starttls(tls_lab):  # noqa: F811
    result = transport(tls_lab.endpoints["smtp"], starttls="").run(Command((PROBE,)))
    assert json.loads(result.stdout)["outcome"] == "not_tls" and "set starttls: smtp" in result.stderr


def test_scan_returns_sslyze_json_for_the_endpoint(tls_lab):  # noqa: F811
    # Given the AES-256-only server, When the transport scans it after the probe
    endpoint = tls_lab.endpoints["modern"]
    tls = transport(endpoint)
    probe = json.loads(tls.run(Command((PROBE,))).stdout)
    result = tls.run(scan_command(endpoint.host, endpoint.port, probe["ip_address"], endpoint.server_name,
                                  ca_file=endpoint.ca_file, timeout=60))
    # Then stdout is sslyze's own JSON output for that endpoint, with the SNI name kept apart from the address
    assert result.ok, result.stderr
    server = json.loads(result.stdout)["server_scan_results"][0]
    assert server["server_location"]["ip_address"] == "127.0.0.1"
    assert server["network_configuration"]["tls_server_name_indication"] == "tls.auditor.test"
    accepted = server["scan_result"]["tls_1_3_cipher_suites"]["result"]["accepted_cipher_suites"]
    assert [a["cipher_suite"]["name"] for a in accepted] == ["TLS_AES_256_GCM_SHA384"]


def test_a_scan_over_its_budget_is_killed(tls_lab):  # noqa: F811
    # Given a budget far shorter than a full scan
    endpoint = tls_lab.endpoints["modern"]
    started = time.monotonic()
    result = transport(endpoint).run(scan_command(endpoint.host, endpoint.port, "127.0.0.1", endpoint.server_name,
                                                  timeout=0.3))
    # Then the worker is stopped at the budget and the result says so
    assert result.timed_out and "did not finish within 0.3 s and was stopped" in result.stderr
    assert time.monotonic() - started < 2.5


def test_the_transport_scans_only_its_own_endpoint_and_runs_no_programs():
    tls = transport(Endpoint("portal", 443, host="192.0.2.1"))
    foreign = tls.run(scan_command("192.0.2.99", 443, "192.0.2.99", "x", timeout=1))
    assert foreign.exit_status == 2 and "is not this target's endpoint" in foreign.stderr
    assert tls.run(Command(("cat", "/etc/passwd"))).exit_status == NOT_FOUND
    assert not tls.read_file("/etc/passwd").exists
    assert tls.run(Command(("sslyze-scan", "192.0.2.1"))).exit_status == 2
