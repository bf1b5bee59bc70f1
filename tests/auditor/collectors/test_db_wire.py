"""The database wire probe and its collector: recorded answers of PostgreSQL 15 and MariaDB 10.11, the real servers
of tests/db_servers.py reached through the TLS transport, and endpoints that are not databases."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator

import pytest

from auditor.collectors.databases import wire
from auditor.errors import CollectorError
from auditor.models import Location, Role, SystemFacts, Target, TargetKind
from auditor.transports._db_probe import PROBE, ProbeRequest, answer, parse_command, parse_greeting, probe_command
from auditor.transports.base import Command, CommandResult
from auditor.transports.tls import TlsTransport
from tests.auditor.fake_host import FakeHost
from tests.conftest import FIXTURES
from tests.db_servers import DbLab, DbServer, db_lab_fixture  # noqa: F401 (provides the db_lab fixture)
from tests.tls_servers import free_port

OUTPUTS = FIXTURES / "outputs" / "databases"
NO_SYSTEM = SystemFacts(platform=None)


def recorded(name: str) -> str:
    return (OUTPUTS / name).read_text(encoding="utf-8")


def tls_target(host: str, port: int, starttls: str = "postgres", **options: object) -> Target:
    return Target("db", TargetKind.TLS, Role.ENDPOINT, Location.OTHER,
                  options={"host": host, "port": port, "starttls": starttls, "connect_timeout": 5, **options})


def lab_target(server: DbServer, **options: object) -> Target:
    return tls_target(server.host, server.port, server.starttls, **options)


# ---- recorded answers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("fixture", "offered", "plaintext_accepted", "plaintext_code", "over_tls_accepted"),
    [
        ("db-probe-postgres15-hostssl.json", True, False, "28000", True),
        ("db-probe-postgres15-host-line.json", True, True, "", True),
        ("db-probe-mariadb1011-require-secure-transport-login.json", True, False, "1045", True),
        ("db-probe-mariadb1011-plaintext-login.json", True, True, "", True),
    ],
)
def test_recorded_probes_give_what_the_server_answered(fixture, offered, plaintext_accepted, plaintext_code,
                                                       over_tls_accepted):
    # Given a recorded probe of a real server; When it is parsed
    facts = wire.parse_probe(recorded(fixture))
    # Then TLS is offered and the answers with and without TLS are the server's own
    assert facts.tls_offered is offered and facts.tls_version.startswith("TLSv1.")
    assert facts.plaintext is not None and facts.plaintext.accepted is plaintext_accepted
    assert facts.plaintext.code == plaintext_code
    assert facts.over_tls is not None and facts.over_tls.accepted is over_tls_accepted


def test_a_postgres_refusal_keeps_the_servers_words():
    facts = wire.parse_probe(recorded("db-probe-postgres15-hostssl.json"))
    assert facts.engine == "postgres" and facts.endpoint == "192.0.2.30:5432" and facts.user == "auditor-probe"
    assert facts.plaintext is not None and "no pg_hba.conf entry" in facts.plaintext.said
    assert "no encryption" in facts.plaintext.said


def test_a_mariadb_greeting_gives_its_version_without_the_compatibility_prefix():
    facts = wire.parse_probe(recorded("db-probe-mariadb1011-no-login.json"))
    assert facts.server_version == "10.11.19-MariaDB-0+deb12u1" and facts.tls_offered
    assert facts.password_env == "" and facts.over_tls is None and facts.plaintext is None


def test_a_mysql_login_names_the_variable_and_never_the_password():
    text = recorded("db-probe-mariadb1011-require-secure-transport-login.json")
    facts = wire.parse_probe(text)
    assert facts.password_env == "AUDIT_MYSQL_PASSWORD" and facts.user == "app"


def test_a_greeting_that_is_an_error_keeps_the_servers_code_and_words():
    greeting = parse_greeting(b"\xff\x6a\x04Host '192.0.2.5' is not allowed to connect to this MariaDB server")
    assert greeting.error_code == 1130 and "not allowed to connect" in greeting.error_message


@pytest.mark.parametrize(("flags", "offers_tls"), [(b"\xff\xff", True), (b"\xff\xf7", False)])
def test_a_short_mysql_handshake_gives_its_version_and_tls_flag(flags, offers_tls):
    # Given a handshake that ends after its lower capability flags (MySQL 3.x-era length)
    greeting = parse_greeting(b"\x0a8.0.36\x00" + b"\x01\x00\x00\x00" + b"abcdefgh" + b"\x00" + flags)
    # Then CLIENT_SSL (0x0800) decides whether TLS is offered
    assert greeting.server_version == "8.0.36" and greeting.offers_tls is offers_tls


@pytest.mark.parametrize("payload", [b"", b"HTTP/1.1 400 Bad Request\r\n", b"\x0a5.7"])
def test_what_is_not_a_mysql_greeting_is_refused(payload):
    with pytest.raises(ValueError):
        parse_greeting(payload)


@pytest.mark.parametrize("text", ["", "{}", '{"probe": "auditor-db-probe/1", "engine": "postgres"}', "[1]"])
def test_an_unreadable_probe_is_a_collector_error(text):
    with pytest.raises(CollectorError, match="cannot be read"):
        wire.parse_probe(text)


def test_a_tls_target_that_is_no_database_is_not_probed():
    # Given an HTTPS endpoint; When the collector runs on a host that answers nothing
    target = tls_target("192.0.2.30", 443, starttls="smtp")
    host = FakeHost({})
    # Then nothing is asked and the facts say it is no database
    assert wire.requests(NO_SYSTEM, target) == ((), ())
    assert wire.collect(host, NO_SYSTEM, target).engine == "" and host.calls == []


def test_the_probe_command_carries_the_account_and_the_variable_name_only():
    target = tls_target("db.example", 3306, "mysql", user="app", password_env="AUDIT_MYSQL_PASSWORD")
    (command,), _ = wire.requests(NO_SYSTEM, target)
    assert command.argv == (PROBE, "mysql", "db.example", "3306", "--user", "app", "--password-env",
                            "AUDIT_MYSQL_PASSWORD")
    assert parse_command(command.argv) == ProbeRequest("mysql", "db.example", 3306, "app", "",
                                                       "AUDIT_MYSQL_PASSWORD")


@pytest.mark.parametrize(
    "argv",
    [(PROBE,), (PROBE, "oracle", "h", "1521"), (PROBE, "mysql", "h", "x"), (PROBE, "mysql", "h", "3306", "--user"),
     (PROBE, "mysql", "h", "3306", "--exec", "sh")],
)
def test_malformed_probe_commands_are_refused_with_usage(argv):
    result = answer(Command(argv), "h", 3306, 1)
    assert result.exit_status == 2 and "db-probe" in result.stderr


def test_the_transport_probes_only_its_own_endpoint():
    command = probe_command(ProbeRequest("postgres", "192.0.2.99", 5432))
    result = answer(command, "127.0.0.1", 5432, 1)
    assert result.exit_status == 2 and "not this target's endpoint" in result.stderr


def test_a_failed_probe_is_a_collector_error_with_its_reason():
    target = tls_target("192.0.2.30", 5432)
    (command,), _ = wire.requests(NO_SYSTEM, target)
    host = FakeHost({str(command): CommandResult(str(command), 1, "{}", "192.0.2.30:5432 refused the connection")})
    with pytest.raises(CollectorError, match="refused the connection"):
        wire.collect(host, NO_SYSTEM, target)


# ---- endpoints that answer otherwise -------------------------------------------------------------------------

@pytest.fixture
def http_server() -> Iterator[int]:
    """A listener that answers anything with an HTTP error, as a web server on the wrong port would."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn, contextlib.suppress(OSError):  # a client that hangs up first is not a test failure
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_a_web_server_on_the_database_port_is_not_taken_for_a_database(http_server, engine):
    # Given a port that answers HTTP; When it is probed as a database
    result = answer(probe_command(ProbeRequest(engine, "127.0.0.1", http_server)), "127.0.0.1", http_server, 3)
    # Then the probe fails and says the server does not speak the protocol
    document = json.loads(result.stdout)
    assert result.exit_status == 1 and document["outcome"] == "not_db"


def test_a_closed_port_fails_within_the_budget_and_says_so():
    port = free_port()
    result = answer(probe_command(ProbeRequest("postgres", "127.0.0.1", port)), "127.0.0.1", port, 2)
    assert result.exit_status == 1 and "refused the connection" in result.stderr


def test_a_silent_port_times_out_within_the_budget():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        result = answer(probe_command(ProbeRequest("mysql", "127.0.0.1", port)), "127.0.0.1", port, 0.5)
    assert result.exit_status == 124 and json.loads(result.stdout)["outcome"] == "silent"
    assert json.loads(result.stdout)["seconds"] < 2


# ---- the real servers, through the TLS transport -------------------------------------------------------------

def _wire(server: DbServer, **options: object) -> wire.DbWireFacts:
    target = lab_target(server, **options)
    transport = TlsTransport(target)
    try:
        return wire.collect(transport, NO_SYSTEM, target)
    finally:
        transport.close()


def test_postgres_with_only_hostssl_lines_refuses_clear_text_and_asks_over_tls(db_lab: DbLab):
    facts = _wire(db_lab.servers["postgres-hardened"])
    assert facts.tls_offered and facts.tls_version == "TLSv1.2"
    assert facts.plaintext is not None and not facts.plaintext.accepted and facts.plaintext.code == "28000"
    assert facts.over_tls is not None and facts.over_tls.accepted


def test_postgres_with_a_host_line_asks_a_client_in_clear_for_its_password(db_lab: DbLab):
    facts = _wire(db_lab.servers["postgres-weak"])
    assert facts.plaintext is not None and facts.plaintext.accepted and "SCRAM-SHA-256" in facts.plaintext.said


def test_mariadb_requiring_tls_refuses_the_same_login_in_clear(db_lab: DbLab, monkeypatch: pytest.MonkeyPatch):
    # Given the account's password in the scanner's environment, named by password_env
    monkeypatch.setenv("AUDITOR_TEST_DB_PASSWORD", db_lab.password)
    facts = _wire(db_lab.servers["mariadb-hardened"], user="app", password_env="AUDITOR_TEST_DB_PASSWORD")
    # Then the login over TLS is accepted and the same login in clear refused
    assert facts.tls_offered and facts.password_env == "AUDITOR_TEST_DB_PASSWORD"
    assert facts.over_tls is not None and facts.over_tls.accepted
    assert facts.plaintext is not None and not facts.plaintext.accepted


def test_mariadb_without_required_tls_accepts_a_login_in_clear(db_lab: DbLab, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AUDITOR_TEST_DB_PASSWORD", db_lab.password)
    facts = _wire(db_lab.servers["mariadb-weak"], user="app", password_env="AUDITOR_TEST_DB_PASSWORD")
    assert facts.plaintext is not None and facts.plaintext.accepted


def test_an_unset_password_variable_is_said_and_no_login_is_tried(db_lab: DbLab, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AUDITOR_TEST_DB_UNSET", raising=False)
    facts = _wire(db_lab.servers["mariadb-weak"], user="app", password_env="AUDITOR_TEST_DB_UNSET")
    assert "AUDITOR_TEST_DB_UNSET is not set" in facts.login_problem and facts.plaintext is None


def test_the_password_never_reaches_the_probe_output(db_lab: DbLab, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AUDITOR_TEST_DB_PASSWORD", db_lab.password)
    server = db_lab.servers["mariadb-hardened"]
    command = probe_command(ProbeRequest("mysql", server.host, server.port, "app", "", "AUDITOR_TEST_DB_PASSWORD"))
    result = answer(command, server.host, server.port, 5)
    assert result.ok and db_lab.password not in result.stdout + result.stderr + str(command)
