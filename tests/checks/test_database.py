"""DB-xxxx: the checks on facts (recorded probes, hand-built configurations), then `auditor scan` against the real
PostgreSQL and MariaDB servers of tests/db_servers.py, from the network and from the host's configuration."""

from __future__ import annotations

import dataclasses

import pytest

from auditor.collectors.databases._host import Suite, cipher_command, expand_ciphers
from auditor.collectors.databases.mysql import MysqlFacts, MysqlInstance
from auditor.collectors.databases.mysql import Setting as MySetting
from auditor.collectors.databases.postgres import HbaRule, PostgresFacts, PostgresInstance, Setting
from auditor.collectors.databases.wire import Answer, DbWireFacts, parse_probe
from auditor.models import Status
from auditor.transports.base import CommandResult
from checks import database as db
from tests.auditor.fake_host import FakeHost
from tests.conftest import FIXTURES, load_results, run_cli
from tests.db_servers import DbLab, db_lab_fixture  # noqa: F401 (provides the db_lab fixture)

OUTPUTS = FIXTURES / "outputs" / "databases"
AES256 = Suite("ECDHE-ECDSA-AES256-GCM-SHA384", "TLSv1.2", "AESGCM(256)", "AES", 256)
AES128 = Suite("ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2", "AESGCM(128)", "AES", 128)
CHACHA = Suite("ECDHE-ECDSA-CHACHA20-POLY1305", "TLSv1.2", "CHACHA20/POLY1305(256)", "CHACHA20", 256)


def probe(name: str) -> DbWireFacts:
    return parse_probe((OUTPUTS / name).read_text(encoding="utf-8"))


# ---- from the network ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("facts", "status", "words"),
    [
        (probe("db-probe-postgres15-hostssl.json"), Status.PASS, "no encryption"),
        (probe("db-probe-postgres15-host-line.json"), Status.FAIL, "accepts a client without TLS"),
        (DbWireFacts("postgres", "h:5432", "u", tls_offered=False), Status.FAIL, "does not offer TLS"),
        (DbWireFacts("postgres", "h:5432", "u", True, "TLSv1.3", over_tls=Answer(False, "FATAL 28000: no", "28000"),
                     plaintext=Answer(False, "FATAL 28000: no", "28000")), Status.WARN, "about the account"),
        (DbWireFacts("postgres", "h:5432", "u", True, "TLSv1.3", over_tls=Answer(True, "asked for SASL"),
                     plaintext=Answer(False, "FATAL 53300: too many clients", "53300")), Status.WARN,
         "neither a refusal"),
        (probe("db-probe-mariadb1011-no-login.json"), Status.NOT_APPLICABLE, "Not a PostgreSQL endpoint"),
    ],
)
def test_db_0010_postgres_refuses_clear_text(facts, status, words):
    verdict = db.postgres_refuses_plaintext(facts)
    assert verdict.status is status and words in verdict.message


@pytest.mark.parametrize(
    ("facts", "status", "words"),
    [
        (probe("db-probe-mariadb1011-no-login.json"), Status.PASS, "negotiated TLSv1.3"),
        (DbWireFacts("mysql", "h:3306", server_version="5.7.44"), Status.FAIL, "lacks the CLIENT_SSL"),
        (DbWireFacts("mysql", "h:3306", tls_offered=True, tls_error="wrong version number"), Status.FAIL,
         "handshake with it failed"),
        (DbWireFacts("mysql", "h:3306", tls_offered=True, tls_version="TLSv1.1"), Status.FAIL, "older than"),
        (DbWireFacts("mysql", "h:3306", greeting_error="ERROR 1130: Host is not allowed"), Status.WARN, "not known"),
        (probe("db-probe-postgres15-hostssl.json"), Status.NOT_APPLICABLE, "Not a MySQL"),
    ],
)
def test_db_0020_mysql_offers_tls(facts, status, words):
    verdict = db.mysql_offers_tls(facts, "1.2")
    assert verdict.status is status and words in verdict.message


@pytest.mark.parametrize(
    ("facts", "status", "words"),
    [
        (probe("db-probe-mariadb1011-require-secure-transport-login.json"), Status.PASS,
         "refused the login of 'app' (password from $AUDIT_MYSQL_PASSWORD) without TLS"),
        (probe("db-probe-mariadb1011-plaintext-login.json"), Status.FAIL, "accepted the login of 'app'"),
        (probe("db-probe-mariadb1011-no-login.json"), Status.WARN, "proving it needs a login"),
        (DbWireFacts("mysql", "h:3306", "app", password_env="PW", login_problem="the environment variable PW is "
                     "not set"), Status.WARN, "PW is not set"),
        (DbWireFacts("mysql", "h:3306", "app", password_env="PW", over_tls=Answer(False, "ERROR 1045: denied"),
                     plaintext=Answer(False, "ERROR 1045: denied")), Status.WARN, "proves nothing"),
    ],
)
def test_db_0021_mysql_refuses_a_login_in_clear(facts, status, words):
    verdict = db.mysql_refuses_plaintext(facts)
    assert verdict.status is status and words in verdict.message


# ---- PostgreSQL's configuration ---------------------------------------------------------------------------

def pg(**settings: str) -> PostgresInstance:
    """A running PostgreSQL 15 with these settings (from its postgresql.conf) and only hostssl lines."""
    return PostgresInstance(
        "/var/lib/postgresql/15/main", "/etc/postgresql/15/main/postgresql.conf", True, 812, "15",
        {name: Setting(value, f"/etc/postgresql/15/main/postgresql.conf:{i}")
         for i, (name, value) in enumerate(settings.items(), 1)},
        "/etc/postgresql/15/main/pg_hba.conf",
        (HbaRule("/etc/postgresql/15/main/pg_hba.conf:1", "local all all peer", "local", "all", "all", "", "peer"),
         HbaRule("/etc/postgresql/15/main/pg_hba.conf:2", "hostssl all all 0.0.0.0/0 scram-sha-256", "hostssl",
                 "all", "all", "0.0.0.0/0", "scram-sha-256")),
        (AES256,))


def with_hba(instance: PostgresInstance, *lines: tuple[str, str, str]) -> PostgresInstance:
    rules = tuple(HbaRule(f"{instance.hba_file}:{10 + i}", f"{kind} all all {address} {method}", kind, "all", "all",
                          address, method) for i, (kind, address, method) in enumerate(lines))
    return dataclasses.replace(instance, hba=instance.hba + rules)


def one(verdicts):
    (verdict,) = verdicts
    return verdict


def test_postgres_checks_are_not_applicable_without_a_server_and_say_why():
    facts = PostgresFacts((), "No PostgreSQL server runs on this host, and pg_lsclusters lists no cluster.")
    verdict = db.postgres_ssl_on(facts)
    assert verdict.status is Status.NOT_APPLICABLE and "pg_lsclusters" in verdict.message


@pytest.mark.parametrize(("ssl", "status"), [("on", Status.PASS), ("off", Status.FAIL), ("true", Status.PASS)])
def test_db_0110_ssl_on(ssl, status):
    verdict = one(db.postgres_ssl_on(PostgresFacts((pg(ssl=ssl),))))
    assert verdict.status is status and "postgresql.conf:1" in verdict.message
    assert verdict.resource == "PostgreSQL 15 /var/lib/postgresql/15/main"


@pytest.mark.parametrize(
    ("settings", "minimum", "status"),
    [({"ssl": "on"}, "1.2", Status.PASS), ({"ssl": "on", "ssl_min_protocol_version": "TLSv1"}, "1.2", Status.FAIL),
     ({"ssl": "on", "ssl_min_protocol_version": "TLSv1.2"}, "1.3", Status.FAIL),
     ({"ssl": "off"}, "1.2", Status.NOT_APPLICABLE)],
)
def test_db_0111_minimum_tls_version(settings, minimum, status):
    assert one(db.postgres_min_tls(PostgresFacts((pg(**settings),)), minimum)).status is status


def test_db_0111_a_default_is_named_as_a_default():
    verdict = one(db.postgres_min_tls(PostgresFacts((pg(ssl="on"),)), "1.2"))
    assert "ssl_min_protocol_version = 'TLSv1.2' (default)" in verdict.message


@pytest.mark.parametrize(
    ("suites", "settings", "chacha", "status", "words"),
    [
        ((AES256,), {"ssl_max_protocol_version": "TLSv1.2"}, False, Status.PASS, "allows only"),
        ((AES256, AES128), {"ssl_max_protocol_version": "TLSv1.2"}, False, Status.FAIL, "ECDHE-ECDSA-AES128"),
        ((AES256, CHACHA), {"ssl_max_protocol_version": "TLSv1.2"}, True, Status.PASS, "allows only"),
        ((AES256, CHACHA), {"ssl_max_protocol_version": "TLSv1.2"}, False, Status.FAIL, "CHACHA20"),
        ((AES256,), {}, False, Status.WARN, "TLS_AES_128_GCM_SHA256"),
        ((AES256,), {"ssl_tls13_ciphers": "TLS_AES_256_GCM_SHA384"}, False, Status.PASS, "allows only"),
        ((AES256,), {"ssl_tls13_ciphers": "TLS_AES_128_GCM_SHA256"}, False, Status.FAIL, "TLS_AES_128"),
    ],
)
def test_db_0112_cipher_suites(suites, settings, chacha, status, words):
    instance = dataclasses.replace(pg(ssl="on", **settings), tls12_suites=suites)
    verdict = one(db.postgres_ciphers(PostgresFacts((instance,)), 256, chacha))
    assert verdict.status is status and words in verdict.message


def high_not_anull() -> tuple[Suite, ...]:
    """What `ssl_ciphers = 'HIGH:!aNULL'` allows for TLS 1.2 as Debian 12's OpenSSL expands it (125 suites, 86 of
    them weaker than AES-256)."""
    command = cipher_command("HIGH:!aNULL")
    text = (OUTPUTS / "debian12-openssl-ciphers-high-no-anull.txt").read_text(encoding="utf-8")
    suites, problem = expand_ciphers(FakeHost({str(command): CommandResult(str(command), 0, text)}), "HIGH:!aNULL")
    assert not problem and len(suites) == 125
    return suites


def test_db_0112_with_a_tls13_minimum_the_tls12_suites_are_not_judged_and_tls13_defaults_warn():
    # Given QA's cluster: only TLS 1.3 can be negotiated (a TLS 1.2 client gets "alert protocol version"), so the
    # 86 weak TLS 1.2 suites of 'HIGH:!aNULL' can never be used, and ssl_tls13_ciphers is not set
    instance = dataclasses.replace(pg(ssl="on", ssl_min_protocol_version="TLSv1.3", ssl_ciphers="HIGH:!aNULL"),
                                   tls12_suites=high_not_anull())
    verdict = one(db.postgres_ciphers(PostgresFacts((instance,)), 256, False))
    # Then it is the warning about OpenSSL's TLS 1.3 defaults, naming TLS 1.3 suites and none of TLS 1.2
    assert verdict.status is Status.WARN, verdict.message
    assert "ssl_min_protocol_version = 'TLSv1.3' (/etc/postgresql/15/main/postgresql.conf:2) allows only TLS 1.3" \
        in verdict.message
    assert "TLS_AES_128_GCM_SHA256" in verdict.message and "ECDHE" not in verdict.message
    assert "suites for TLS 1.2" not in verdict.message


@pytest.mark.parametrize(
    ("tls13", "status", "words"),
    [
        ("TLS_AES_256_GCM_SHA384", Status.PASS, "ssl_tls13_ciphers = 'TLS_AES_256_GCM_SHA384' "
         "(/etc/postgresql/15/main/postgresql.conf:4) allows only TLS_AES_256_GCM_SHA384"),
        ("TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256", Status.FAIL, "weaker than AES-256: TLS_AES_128_GCM_SHA256 "
         "(1 in all)"),
    ],
)
def test_db_0112_with_a_tls13_minimum_only_the_tls13_suites_are_judged(tls13, status, words):
    instance = dataclasses.replace(pg(ssl="on", ssl_min_protocol_version="TLSv1.3", ssl_ciphers="HIGH:!aNULL",
                                      ssl_tls13_ciphers=tls13), tls12_suites=high_not_anull())
    verdict = one(db.postgres_ciphers(PostgresFacts((instance,)), 256, False))
    assert verdict.status is status and words in verdict.message, verdict.message


def test_db_0112_a_cipher_string_that_could_not_be_expanded_is_a_warning():
    instance = dataclasses.replace(pg(ssl="on"), tls12_suites=(), cipher_problem="`openssl` is not installed")
    assert one(db.postgres_ciphers(PostgresFacts((instance,)), 256, False)).status is Status.WARN


@pytest.mark.parametrize(
    ("lines", "allowed", "status"),
    [
        ((), [], Status.PASS),
        ((("host", "0.0.0.0/0", "scram-sha-256"),), [], Status.FAIL),
        ((("hostnossl", "10.0.0.0/8", "md5"),), [], Status.FAIL),
        ((("host", "0.0.0.0/0", "reject"),), [], Status.PASS),
        ((("host", "127.0.0.1/32", "scram-sha-256"), ("host", "::1/128", "scram-sha-256")),
         ["127.0.0.1/32", "::1/128"], Status.PASS),
        ((("host", "10.1.2.0 255.255.255.0", "scram-sha-256"),), ["10.0.0.0/8"], Status.PASS),
        ((("host", "10.0.0.0/8", "scram-sha-256"),), ["10.1.0.0/16"], Status.FAIL),
        ((("host", "samehost", "scram-sha-256"),), ["127.0.0.1/32"], Status.FAIL),
        ((("host", "samehost", "scram-sha-256"),), ["samehost"], Status.PASS),
        ((("host", "app.example.com", "scram-sha-256"),), ["0.0.0.0/0"], Status.FAIL),
    ],
)
def test_db_0113_network_lines_must_be_hostssl_unless_the_source_is_allowed(lines, allowed, status):
    verdict = one(db.postgres_hba_hostssl(PostgresFacts((with_hba(pg(ssl="on"), *lines),)), allowed))
    assert verdict.status is status


def test_db_0113_a_host_line_is_named_by_file_and_line():
    instance = with_hba(pg(ssl="on"), ("host", "0.0.0.0/0", "scram-sha-256"))
    verdict = one(db.postgres_hba_hostssl(PostgresFacts((instance,)), []))
    assert "/etc/postgresql/15/main/pg_hba.conf:10: `host all all 0.0.0.0/0 scram-sha-256`" in verdict.message


def test_db_0113_an_unreadable_pg_hba_is_a_warning():
    instance = dataclasses.replace(pg(ssl="on"), hba=(), problems=("/etc/postgresql/15/main/pg_hba.conf could not "
                                                                   "be read",))
    assert one(db.postgres_hba_hostssl(PostgresFacts((instance,)), [])).status is Status.WARN


@pytest.mark.parametrize(
    ("settings", "level", "connections", "status"),
    [
        ({"log_connections": "on", "log_disconnections": "on", "log_statement": "mod"}, "mod", True, Status.PASS),
        ({"log_connections": "on", "log_disconnections": "on", "log_statement": "ddl"}, "mod", True, Status.FAIL),
        ({"log_connections": "on", "log_disconnections": "on", "log_statement": "all"}, "mod", True, Status.PASS),
        ({"log_statement": "mod"}, "mod", True, Status.FAIL),
        ({"log_statement": "mod"}, "mod", False, Status.PASS),
        ({"log_connections": "on", "log_disconnections": "on", "shared_preload_libraries": "pg_stat_statements, "
          "pgaudit", "pgaudit.log": "write, ddl"}, "mod", True, Status.PASS),
        ({"log_connections": "on", "log_disconnections": "on", "shared_preload_libraries": "pgaudit",
          "pgaudit.log": "all, -write"}, "mod", True, Status.FAIL),
        ({"log_connections": "on", "log_disconnections": "on", "pgaudit.log": "all"}, "mod", True, Status.FAIL),
        ({}, "none", False, Status.PASS),
    ],
)
def test_db_0114_connection_and_statement_logging(settings, level, connections, status):
    assert one(db.postgres_logging(PostgresFacts((pg(**settings),)), level, connections)).status is status


# ---- MySQL and MariaDB's configuration ---------------------------------------------------------------------

def my(product: str = "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1", **settings: str) -> MysqlInstance:
    """A running MariaDB 10.11 with these settings (from 50-server.cnf) and the program's other defaults, and a
    certificate (ssl_cert, ssl_key in 60-tls.cnf; an empty value in `settings` leaves it out)."""
    defaults = {"tls_version": "TLSv1.2,TLSv1.3", "require_secure_transport": "FALSE", "general_log": "FALSE",
                "log_output": "FILE", "datadir": "/var/lib/mysql/", "ssl_cert": "", "ssl_key": ""}
    values = {name: MySetting(value) for name, value in defaults.items()}
    values |= {name: MySetting(f"/etc/mysql/server-{name[4:]}.pem", f"/etc/mysql/mariadb.conf.d/60-tls.cnf:{i}")
               for i, name in enumerate(("ssl_cert", "ssl_key"), 2)}
    values |= {name: MySetting(value, f"/etc/mysql/mariadb.conf.d/50-server.cnf:{i}")
               for i, (name, value) in enumerate(settings.items(), 20)}
    values |= {name: MySetting("") for name, value in settings.items() if not value and name.startswith("ssl_")}
    program = "/usr/sbin/mariadbd" if "MariaDB" in product else "/usr/sbin/mysqld"
    return MysqlInstance(program, product, True, 900,
                         ("/etc/mysql/my.cnf",), ("mysqld", "mariadbd"), values, (AES256,))


@pytest.mark.parametrize(("value", "status"), [("ON", Status.PASS), ("1", Status.PASS), ("OFF", Status.FAIL)])
def test_db_0210_require_secure_transport(value, status):
    verdict = one(db.mysql_requires_tls(MysqlFacts((my(require_secure_transport=value),))))
    assert verdict.status is status and "50-server.cnf:20" in verdict.message
    assert verdict.resource == "MariaDB /var/lib/mysql/"


def test_db_0210_the_default_off_is_named_as_the_default():
    verdict = one(db.mysql_requires_tls(MysqlFacts((my(),))))
    assert verdict.status is Status.FAIL and "require_secure_transport = FALSE (default)" in verdict.message


NO_CERTIFICATE = {"ssl_cert": "", "ssl_key": ""}
MARIADB_11_4 = "mariadbd  Ver 11.4.5-MariaDB-ubu2404 for debian-linux-gnu on x86_64 (mariadb.org binary distribution)"
MYSQL_8 = "/usr/sbin/mysqld  Ver 8.0.40-0ubuntu0.24.04.1 for Linux on x86_64 ((Ubuntu))"


def test_mariadb_before_11_4_without_a_certificate_has_tls_off_and_its_tls_settings_are_not_applicable():
    # Given Debian 12's MariaDB 10.11 as installed: no ssl_cert or ssl_key (have_ssl says DISABLED when it runs)
    facts = MysqlFacts((dataclasses.replace(my(require_secure_transport="ON", **NO_CERTIFICATE), running=False),))
    # Then DB-0210 fails, naming the missing certificate, whatever require_secure_transport says
    required = one(db.mysql_requires_tls(facts))
    assert required.status is Status.FAIL, required.message
    assert required.message.startswith("TLS is off: no certificate is configured (ssl_cert = (empty) (default), "
                                       "ssl_key = (empty) (default)) and MariaDB 10.11.19 makes none of its own"), \
        required.message
    assert "require_secure_transport = ON (/etc/mysql/mariadb.conf.d/50-server.cnf:20)" in required.message
    assert required.message.endswith("; not running: its option files were judged."), required.message
    # And the TLS versions and suites it would allow are not applicable, not passed or failed
    for verdict in (one(db.mysql_tls_versions(facts, "1.2")), one(db.mysql_ciphers(facts, 256, False))):
        assert verdict.status is Status.NOT_APPLICABLE, verdict.message
        assert verdict.message.startswith("TLS is off (DB-0210): no certificate is configured"), verdict.message
        assert verdict.resource == "MariaDB /var/lib/mysql/"


@pytest.mark.parametrize(
    ("product", "settings"),
    [
        (MARIADB_11_4, NO_CERTIFICATE),  # makes its own certificate at start
        (MYSQL_8, NO_CERTIFICATE),  # so does MySQL (auto_generate_certs)
        ("mariadbd  Ver 10.11.19-MariaDB-0+deb12u1", {"ssl_cert": ""}),  # ssl_key alone serves as both
        ("mariadbd  Ver 10.11.19-MariaDB-0+deb12u1", {}),  # ssl_cert and ssl_key
    ],
)
def test_a_server_with_a_certificate_or_that_makes_its_own_has_tls_on(product, settings):
    facts = MysqlFacts((my(product, require_secure_transport="ON", **settings),))
    assert one(db.mysql_requires_tls(facts)).status is Status.PASS
    assert one(db.mysql_tls_versions(facts, "1.2")).status is Status.PASS


@pytest.mark.parametrize(
    ("versions", "minimum", "status"),
    [("TLSv1.2,TLSv1.3", "1.2", Status.PASS), ("TLSv1.1,TLSv1.2,TLSv1.3", "1.2", Status.FAIL),
     ("TLSv1.3", "1.3", Status.PASS), ("TLSv1.2,TLSv1.3", "1.3", Status.FAIL), ("", "1.2", Status.FAIL)],
)
def test_db_0211_tls_versions(versions, minimum, status):
    assert one(db.mysql_tls_versions(MysqlFacts((my(tls_version=versions),)), minimum)).status is status


@pytest.mark.parametrize(
    ("suites", "settings", "status"),
    [
        ((AES256,), {"tls_version": "TLSv1.2"}, Status.PASS),
        ((AES256, AES128), {"tls_version": "TLSv1.2"}, Status.FAIL),
        ((AES256,), {}, Status.WARN),
        ((AES256,), {"tls_ciphersuites": "TLS_AES_256_GCM_SHA384"}, Status.PASS),
        ((AES256,), {"ssl_cipher": "ECDHE-ECDSA-AES256-GCM-SHA384:TLS_AES_128_GCM_SHA256"}, Status.FAIL),
    ],
)
def test_db_0212_cipher_suites(suites, settings, status):
    instance = dataclasses.replace(my(**settings), tls12_suites=suites)
    assert one(db.mysql_ciphers(MysqlFacts((instance,)), 256, False)).status is status


def test_db_0212_with_only_tls13_the_tls12_suites_are_not_judged_and_tls13_defaults_warn():
    # tls_version = TLSv1.3: ssl_cipher (here unset: OpenSSL's DEFAULT list, with AES-128) governs no suite that can
    # be negotiated, and TLS 1.3 runs on OpenSSL's defaults
    instance = dataclasses.replace(my(tls_version="TLSv1.3"), tls12_suites=high_not_anull())
    verdict = one(db.mysql_ciphers(MysqlFacts((instance,)), 256, False))
    assert verdict.status is Status.WARN, verdict.message
    assert "tls_version = TLSv1.3 (/etc/mysql/mariadb.conf.d/50-server.cnf:20) allows only TLS 1.3" in verdict.message
    assert "TLS_AES_128_GCM_SHA256" in verdict.message and "ECDHE" not in verdict.message


@pytest.mark.parametrize(
    ("settings", "status", "words"),
    [
        ({"tls_ciphersuites": "TLS_AES_256_GCM_SHA384"}, Status.PASS,
         "tls_ciphersuites = TLS_AES_256_GCM_SHA384 (/etc/mysql/mariadb.conf.d/50-server.cnf:21) allows only "
         "TLS_AES_256_GCM_SHA384"),
        ({"ssl_cipher": "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"}, Status.FAIL,
         "weaker than AES-256: TLS_AES_128_GCM_SHA256 (1 in all)"),
    ],
)
def test_db_0212_with_only_tls13_only_the_tls13_suites_are_judged(settings, status, words):
    # A cipher string of TLS 1.3 names alone is not one `openssl ciphers` expands; with only TLS 1.3 that is moot
    problem = "Error in cipher list" if "ssl_cipher" in settings else ""
    instance = dataclasses.replace(my(tls_version="TLSv1.3", **settings), tls12_suites=high_not_anull(),
                                   cipher_problem=problem)
    verdict = one(db.mysql_ciphers(MysqlFacts((instance,)), 256, False))
    assert verdict.status is status and words in verdict.message, verdict.message


@pytest.mark.parametrize(
    ("settings", "status", "words"),
    [
        ({}, Status.FAIL, "Neither an audit plugin nor the general log"),
        ({"general_log": "ON"}, Status.PASS, "general log"),
        ({"general_log": "ON", "log_output": "NONE"}, Status.FAIL, "Neither"),
        ({"server_audit_logging": "ON"}, Status.PASS, "server_audit plugin"),
        ({"server_audit_logging": "ON", "server_audit_events": "CONNECT,QUERY_DDL"}, Status.FAIL, "QUERY_DML"),
        ({"server_audit_logging": "ON", "server_audit_events": "QUERY"}, Status.FAIL, "without CONNECT"),
        ({"plugin_load_add": "audit_log.so"}, Status.PASS, "audit_log plugin"),
        ({"plugin_load_add": "audit_log.so", "audit_log_policy": "LOGINS"}, Status.FAIL, "audit_log_policy"),
    ],
)
def test_db_0213_audit_or_general_log(settings, status, words):
    verdict = one(db.mysql_audit_log(MysqlFacts((my(**settings),)), "mod", True))
    assert verdict.status is status and words in verdict.message


# ---- `auditor scan` against the real servers -----------------------------------------------------------------

NETWORK = ("DB-0010", "DB-0020", "DB-0021")
HOST = ("DB-0110", "DB-0111", "DB-0112", "DB-0113", "DB-0114", "DB-0210", "DB-0211", "DB-0212", "DB-0213")


@pytest.fixture(scope="module")
def scanned(db_lab: DbLab, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, str], dict]:
    """One `auditor scan` of the four servers from the network and of this machine's configuration files:
    (target, check, resource) -> finding."""
    folder = tmp_path_factory.mktemp("db-scan")
    inventory = folder / "inventory.yaml"
    account = {"user": "app", "password_env": "AUDITOR_TEST_DB_PASSWORD"}
    inventory.write_text("targets:\n" + "".join(
        server.inventory_entry(**(account if server.engine == "mariadb" else {}))
        for server in db_lab.servers.values()) + "  - {name: this-host, kind: local, role: server}\n")
    checks = [arg for check in NETWORK + HOST for arg in ("--check", check)]
    done = run_cli("scan", "--inventory", str(inventory), *checks, "--out", str(folder / "run"), "--format", "none",
                   "--no-history", "--no-sign", "--quiet",
                   env={"AUDITOR_TEST_DB_PASSWORD": db_lab.password}, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    findings = load_results(folder / "run")["findings"]
    return {(f["target"], f["check_id"], f.get("resource") or ""): f for f in findings}


def test_from_the_network_the_host_line_and_required_tls_off_fail_and_the_hardened_servers_pass(scanned):
    def status(target: str, check: str) -> str:
        return scanned[(target, check, "")]["status"]

    assert status("postgres-hardened", "DB-0010") == "pass"
    assert status("postgres-weak", "DB-0010") == "fail"
    assert status("mariadb-hardened", "DB-0020") == "pass" and status("mariadb-weak", "DB-0020") == "pass"
    assert status("mariadb-hardened", "DB-0021") == "pass"
    weak = scanned[("mariadb-weak", "DB-0021", "")]
    assert weak["status"] == "fail" and "$AUDITOR_TEST_DB_PASSWORD" in weak["message"]


def _host_finding(scanned, lab: DbLab, server: str, check: str) -> dict:
    folder = str(lab.servers[server].folder)
    (found,) = [f for (target, check_id, res), f in scanned.items()
                if target == "this-host" and check_id == check and folder in res]
    return found


def test_from_the_hosts_files_the_host_line_is_named_by_file_and_line(scanned, db_lab: DbLab):
    weak = _host_finding(scanned, db_lab, "postgres-weak", "DB-0113")
    assert weak["status"] == "fail"
    assert f"{db_lab.servers['postgres-weak'].data_dir}/pg_hba.conf:3: `host all all 0.0.0.0/0 scram-sha-256`" in \
        weak["message"]
    for check in ("DB-0110", "DB-0111", "DB-0112", "DB-0113", "DB-0114"):
        assert _host_finding(scanned, db_lab, "postgres-hardened", check)["status"] == "pass", check


def test_from_the_hosts_files_require_secure_transport_off_is_named_with_its_file(scanned, db_lab: DbLab):
    weak = _host_finding(scanned, db_lab, "mariadb-weak", "DB-0210")
    folder = db_lab.servers["mariadb-weak"].folder
    assert weak["status"] == "fail"
    assert f"require_secure_transport = OFF ({folder}/conf.d/50-auditor-test.cnf:2)" in weak["message"]
    hardened = {check: _host_finding(scanned, db_lab, "mariadb-hardened", check)["status"]
                for check in ("DB-0210", "DB-0211", "DB-0212", "DB-0213")}
    assert hardened == {"DB-0210": "pass", "DB-0211": "pass", "DB-0212": "pass", "DB-0213": "pass"}


@pytest.mark.parametrize(
    ("verdicts", "state"),
    [
        # TLS 1.2 suites all AES-256, TLS 1.3 on OpenSSL's defaults (the QA cluster's and server's own setup)
        (lambda: db.postgres_ciphers(PostgresFacts((pg(ssl="on", ssl_ciphers="ECDHE-ECDSA-AES256-GCM-SHA384"),)),
                                     256, False), "running (pid 812)"),
        (lambda: db.postgres_ciphers(PostgresFacts((dataclasses.replace(
            pg(ssl="on", ssl_min_protocol_version="TLSv1.3"), running=False),)), 256, False),
         "not running: its configuration files were judged"),
        (lambda: db.postgres_ciphers(PostgresFacts((dataclasses.replace(
            pg(ssl="on"), tls12_suites=(), cipher_problem="`openssl` is not installed"),)), 256, False),
         "running (pid 812)"),
        (lambda: db.mysql_ciphers(MysqlFacts((my(ssl_cipher="ECDHE-ECDSA-AES256-GCM-SHA384"),)), 256, False),
         "running (pid 900)"),
        (lambda: db.mysql_ciphers(MysqlFacts((dataclasses.replace(my(tls_version="TLSv1.3"), running=False, pid=0),)),
                                  256, False), "not running: its option files were judged"),
    ],
)
def test_db_0112_and_db_0212_warnings_say_whether_the_server_runs_or_only_its_files_were_judged(verdicts, state):
    # Given a server whose cipher settings give a warning (TLS 1.3 on OpenSSL's defaults, a list not expanded)
    verdict = one(verdicts())
    # Then, like every other host finding, the warning says whether the server ran or only its files were judged
    assert verdict.status is Status.WARN, verdict.message
    assert verdict.message.endswith(f"; {state}."), verdict.message
