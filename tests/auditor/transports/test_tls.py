"""The TLS transport against real servers on loopback: the probe's outcomes, scans asked together run as one,
the wall-clock budget, and the plaintext probes (nginx, aiosmtpd, Dovecot)."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from auditor.models import Target, TargetKind
from auditor.transports._plaintext_probe import probe_command
from auditor.transports._tls_probe import probe
from auditor.transports._tls_worker import SCAN_COMMANDS
from auditor.transports.base import NOT_FOUND, TIMED_OUT, Command
from auditor.transports.tls import PROBE, TlsTransport, scan_command
from tests.conftest import load_results, run_cli
from tests.tls_servers import OTHER_NAME, SERVER_NAME, SILENT_BUDGET, Endpoint, redis_server, tls_lab  # noqa: F401

pytestmark = pytest.mark.tls


def transport(endpoint: Endpoint, **options) -> TlsTransport:
    # A generous budget except for the silent listener: a loaded CI machine may greet slowly.
    budget = SILENT_BUDGET if endpoint.name == "silent" else 15
    settings = {"host": endpoint.host, "port": endpoint.port, "server_name": endpoint.server_name,
                "starttls": endpoint.starttls, "ca_file": endpoint.ca_file, "connect_timeout": budget,
                "plain_port": endpoint.plain_port}
    return TlsTransport(Target(endpoint.name, TargetKind.TLS,
                               options={k: v for k, v in (settings | options).items() if v}))


def scan(endpoint: Endpoint, commands: list[str], timeout: float = 60) -> Command:
    return scan_command(endpoint.host, endpoint.port, endpoint.server_name, commands, endpoint.starttls,
                        endpoint.ca_file, timeout=timeout)


@pytest.mark.parametrize(
    ("name", "outcome", "status", "words"),
    [
        ("modern", "tls", 0, "completed a TLS handshake"),
        ("smtp", "tls", 0, "greeted as a SMTP server"),
        ("plain_http", "plain_http", 1, "a plain HTTP server answered on 127.0.0.1:{port} instead of TLS"),
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


def test_plain_http_on_a_tls_port_is_recorded_with_its_first_bytes_escaped(tls_lab):  # noqa: F811
    document = json.loads(transport(tls_lab.endpoints["plain_http"]).run(Command((PROBE,))).stdout)
    assert document["first_bytes"].startswith("HTTP/1.1 400 Bad Request\\r\\nServer: nginx")


def test_smtp_banner_on_a_direct_tls_port_suggests_starttls(tls_lab):  # noqa: F811
    result = transport(tls_lab.endpoints["smtp"], starttls="").run(Command((PROBE,)))
    assert json.loads(result.stdout)["outcome"] == "not_tls" and "set starttls: smtp" in result.stderr


def test_scans_asked_together_run_as_one_sslyze_scan_cut_per_command(tls_lab):  # noqa: F811
    # Given the AES-256-only server and two scan commands asked in one batch (as the runner's prefetch does)
    endpoint = tls_lab.endpoints["modern"]
    protocols, certificate = scan(endpoint, ["tls_1_2_cipher_suites", "tls_1_3_cipher_suites"]), \
        scan(endpoint, ["certificate_info"])
    results = transport(endpoint).run_many([Command((PROBE,)), protocols, certificate])
    # Then each is answered with sslyze's own JSON holding its commands' results only
    assert all(r.ok for r in results), [r.stderr for r in results]
    documents = [json.loads(r.stdout) for r in results[1:]]
    scanned = [{name for name, attempt in d["server_scan_results"][0]["scan_result"].items()
                if attempt["status"] != "NOT_SCHEDULED"} for d in documents]
    assert scanned == [{"tls_1_2_cipher_suites", "tls_1_3_cipher_suites"}, {"certificate_info"}]
    # And both come from one scan, of the probed address, with the SNI name kept apart from it
    assert documents[0]["date_scans_started"] == documents[1]["date_scans_started"]
    server = documents[0]["server_scan_results"][0]
    assert server["server_location"]["ip_address"] == "127.0.0.1"
    assert server["network_configuration"]["tls_server_name_indication"] == SERVER_NAME
    accepted = server["scan_result"]["tls_1_3_cipher_suites"]["result"]["accepted_cipher_suites"]
    assert [a["cipher_suite"]["name"] for a in accepted] == ["TLS_AES_256_GCM_SHA384"]


def test_a_scan_over_its_budget_is_killed(tls_lab):  # noqa: F811
    # Given a budget far shorter than a full scan
    endpoint = tls_lab.endpoints["modern"]
    started = time.monotonic()
    everything = sorted(SCAN_COMMANDS - {"tls_1_3_early_data", "session_resumption"})  # a second or more
    result = transport(endpoint).run(scan(endpoint, everything, timeout=0.2))
    # Then the worker is stopped at the budget and the result says so
    assert result.timed_out and "did not finish within 0.2 s and was stopped" in result.stderr
    assert time.monotonic() - started < 2.5


def test_nothing_is_scanned_or_probed_behind_a_port_that_does_not_answer(tls_lab):  # noqa: F811
    closed = tls_lab.endpoints["closed"]
    results = transport(closed).run_many([scan(closed, ["certificate_info"]), probe_command("http", closed.host, 80)])
    assert [r.exit_status for r in results] == [1, 1]
    assert all(r.stderr.startswith("not run: 127.0.0.1:") and "refused the connection" in r.stderr for r in results)


def test_the_transport_scans_only_its_own_endpoint_and_runs_no_programs():
    portal = Endpoint("portal", 443, host="192.0.2.1")
    tls = transport(portal)
    foreign = tls.run(scan_command("192.0.2.99", 443, "x", ["certificate_info"], timeout=1))
    assert foreign.exit_status == 2 and "is not this target's endpoint" in foreign.stderr
    unknown = tls.run(scan_command("192.0.2.1", 443, "192.0.2.1", ["certificate_info", "exploit"], timeout=1))
    assert unknown.exit_status == 2 and "unknown scan commands ['exploit']" in unknown.stderr
    assert tls.run(Command(("cat", "/etc/passwd"))).exit_status == NOT_FOUND
    assert not tls.read_file("/etc/passwd").exists
    assert tls.run(Command(("sslyze-scan", "192.0.2.1"))).exit_status == 2


def test_a_plaintext_probe_goes_only_to_the_counterpart(tls_lab):  # noqa: F811
    web = tls_lab.endpoints["web"]
    for command in (probe_command("http", web.host, web.plain_port + 1, SERVER_NAME),
                    probe_command("smtp", web.host, web.plain_port), probe_command("http", "192.0.2.1", 80)):
        result = transport(web).run(command)
        assert result.exit_status == 2 and "is not this target's plaintext counterpart" in result.stderr


def plain_http(tls_lab, port_name: str) -> dict:  # noqa: F811
    """The probe of one of nginx's plain ports, as the counterpart of the `web` HTTPS endpoint."""
    web = tls_lab.endpoints["web"]
    port = tls_lab.plain_ports[port_name]
    result = transport(web, plain_port=port).run(probe_command("http", web.host, port, SERVER_NAME))
    assert result.ok, result.stderr
    return dict(json.loads(result.stdout))


def test_plain_http_that_serves_a_page(tls_lab):  # noqa: F811
    (hop,) = plain_http(tls_lab, "page")["hops"]
    assert (hop["status"], hop["body_bytes"]) == (200, 68) and hop["body_start"].startswith("<html><body>Customer")
    assert hop["host_header"] == SERVER_NAME


def test_plain_http_that_only_redirects_is_not_followed_to_https(tls_lab):  # noqa: F811
    (hop,) = plain_http(tls_lab, "redirect")["hops"]
    assert hop["status"] == 301 and hop["location"] == f"https://{SERVER_NAME}:{tls_lab.endpoints['web'].port}/"


def test_redirects_are_followed_on_the_same_host_and_port_only(tls_lab):  # noqa: F811
    # Given a plain port that redirects twice in clear on itself, then to HTTPS
    hops = plain_http(tls_lab, "hops")["hops"]
    assert [(h["request"], h["status"]) for h in hops] == [("GET /", 302), ("GET /start", 301), ("GET /login", 301)]
    assert hops[-1]["location"].startswith("https://")
    # And one that redirects to another host: the probe records it and goes no further
    (away,) = plain_http(tls_lab, "elsewhere")["hops"]
    assert away["location"] == f"http://{OTHER_NAME}/"


def test_plain_http_where_nothing_listens_and_where_nothing_answers(tls_lab):  # noqa: F811
    closed, silent = tls_lab.endpoints["closed"], tls_lab.endpoints["silent"]
    web = tls_lab.endpoints["web"]
    refused = transport(web, plain_port=closed.port).run(probe_command("http", web.host, closed.port, SERVER_NAME))
    assert json.loads(refused.stdout)["outcome"] == "closed"
    started = time.monotonic()
    quiet = transport(web, plain_port=silent.port, connect_timeout=2).run(
        probe_command("http", web.host, silent.port, SERVER_NAME))
    assert json.loads(quiet.stdout)["outcome"] == "silent" and time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("name", "sent", "answers"),
    [
        ("smtp", ["", "EHLO auditor-probe.invalid", "MAIL FROM:<>", "AUTH PLAIN", "QUIT"],
         {"MAIL FROM:<>": "530 ", "AUTH PLAIN": "530 "}),
        ("smtp_open", ["", "EHLO auditor-probe.invalid", "MAIL FROM:<>", "RSET", "AUTH LOGIN", "*", "QUIT"],
         {"MAIL FROM:<>": "250 ", "AUTH LOGIN": "334 "}),
        ("imap", ["", "a1 CAPABILITY", "a2 AUTHENTICATE PLAIN", "a3 LOGOUT"],
         {"a2 AUTHENTICATE PLAIN": "a2 NO [PRIVACYREQUIRED]"}),
        ("imap_open", ["", "a1 CAPABILITY", "a2 AUTHENTICATE PLAIN", "*", "a3 LOGOUT"],
         {"a2 AUTHENTICATE PLAIN": "+"}),
        ("pop3", ["", "CAPA", "AUTH PLAIN", "USER auditor-probe", "QUIT"],
         {"AUTH PLAIN": "-ERR [AUTH]", "USER auditor-probe": "-ERR [AUTH]"}),
        ("pop3_open", ["", "CAPA", "AUTH PLAIN", "*", "USER auditor-probe", "QUIT"],
         {"AUTH PLAIN": "+", "USER auditor-probe": "+OK"}),
    ],
)
def test_mail_servers_before_starttls_and_no_credential_is_ever_sent(tls_lab, name, sent, answers):  # noqa: F811
    # Given a real mail server with STARTTLS (aiosmtpd, Dovecot), with or without plaintext mail and logins
    endpoint = tls_lab.endpoints[name]
    result = transport(endpoint).run(probe_command(endpoint.starttls, endpoint.host, endpoint.port))
    # When the transport probes it in clear, Then every exchange is recorded as sent and as received: exactly
    # these lines went over the wire, none of them a password (an AUTH offer is cancelled with "*")
    exchanges = json.loads(result.stdout)["exchanges"]
    assert [e["sent"] for e in exchanges] == sent
    # And the commands that carry mail or a login got the server's own answer
    replies = {e["sent"]: e["received"][-1] for e in exchanges}
    assert all(replies[command].startswith(start) for command, start in answers.items()), replies


def test_a_server_that_keeps_the_connection_open_is_read_to_its_content_length(tls_lab):  # noqa: F811
    # Given a plain port that answers a page and then holds the connection open (it ignores Connection: close)
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def answer_and_hold() -> None:
        connection, _ = listener.accept()
        connection.recv(4096)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        held.append(connection)

    answering = threading.Thread(target=answer_and_hold, daemon=True)
    answering.start()
    web = tls_lab.endpoints["web"]
    port = listener.getsockname()[1]
    started = time.monotonic()
    # When probed with a 5 s budget
    result = transport(web, plain_port=port, connect_timeout=5).run(probe_command("http", web.host, port, SERVER_NAME))
    # Then the page is read as soon as it is whole, not when the budget runs out
    (hop,) = json.loads(result.stdout)["hops"]
    assert (hop["status"], hop["body_bytes"]) == (200, 5) and time.monotonic() - started < 2
    answering.join(5)  # it keeps the connection only after answering: closed here, not left to the collector
    for sock in (*held, listener):
        sock.close()


@pytest.mark.parametrize(("extra", "reply"), [((), "+PONG\\r\\n"), (("--requirepass", "secret-pw"), "-NOAUTH")])
def test_a_plaintext_redis_that_never_answers_a_client_hello_is_found_by_a_plain_ping(tmp_path, extra, reply):
    # Given a Redis in clear (it never answers a ClientHello: its inline parser waits for the end of a line)
    with redis_server(tmp_path, *extra) as port:
        started = time.monotonic()
        # When the probe asks it for TLS within its budget
        found = probe("127.0.0.1", port, "127.0.0.1", "", SILENT_BUDGET)
        elapsed = time.monotonic() - started
    # Then a plaintext PING on a second connection shows it serves in clear, quoting its answer, within the budget
    assert found.outcome == "not_tls", found.message
    assert found.first_bytes.startswith(reply) and "answered a plaintext PING" in found.message, found
    assert elapsed < SILENT_BUDGET + 0.5


def test_a_plaintext_redis_scanned_as_a_tls_target_fails_tls_0010(tmp_path):
    with redis_server(tmp_path) as port:
        inventory = tmp_path / "inventory.yaml"
        inventory.write_text(f"targets:\n  - {{name: cache, kind: tls, host: 127.0.0.1, port: {port}, "
                             f"connect_timeout: {SILENT_BUDGET}}}\n", encoding="utf-8")
        result = run_cli("scan", "--inventory", str(inventory), "--check", "TLS-0010", "--out", str(tmp_path / "r"),
                         "--quiet", "--format", "none")
    assert result.returncode == 1, result.stderr  # a failure, not "not assessed" (3)
    (finding,) = [f for f in load_results(tmp_path / "r")["findings"] if f["check_id"] == "TLS-0010"]
    assert finding["status"] == "fail" and "serves data without encryption" in finding["message"], finding
    assert "answered a plaintext PING: it speaks in clear, not in TLS; it answered '+PONG\\r\\n'." in \
        finding["message"], finding["message"]
