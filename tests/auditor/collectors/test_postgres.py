"""The PostgreSQL host collector: Debian 12's recorded cluster (running, and installed only), the parsers, hostile
values, and the real servers of tests/db_servers.py read through the local transport."""

from __future__ import annotations

import pytest

from auditor.collectors.databases import postgres
from auditor.collectors.databases._config import Line
from auditor.collectors.databases._host import PROCESS_NAMES, cipher_command
from auditor.errors import CollectorError, PermissionMissing
from auditor.models import SystemFacts
from auditor.transports.base import Command, CommandResult, FileContent, cmd
from auditor.transports.local import LocalTransport
from tests.auditor.fake_host import FakeHost
from tests.conftest import FIXTURES
from tests.db_servers import DbLab, db_lab_fixture  # noqa: F401 (provides the db_lab fixture)

OUTPUTS = FIXTURES / "outputs" / "databases"
NO_SYSTEM = SystemFacts(platform=None)
CONF = "/etc/postgresql/15/main/postgresql.conf"
HBA = "/etc/postgresql/15/main/pg_hba.conf"
DATA = "/var/lib/postgresql/15/main"
PS_C = "ps -C postgres,postmaster -o pid=,ppid="
FIND_CONF_D = "find /etc/postgresql/15/main/conf.d -mindepth 1 -maxdepth 1 -type f -name '*.conf'"


def recorded(name: str) -> str:
    return (OUTPUTS / name).read_text(encoding="utf-8")


def ok(command: str | Command, stdout: str) -> tuple[str, CommandResult]:
    return str(command), CommandResult(str(command), 0, stdout)


def debian_host(*, running: bool, clusters: str | None, conf_d: dict[str, str] | None = None,
                conf: str | None = None) -> FakeHost:
    """Debian 12 with postgresql-15's cluster 15/main as the package made it (recorded files)."""
    conf_d = conf_d or {}
    processes = "systemd\npostgres\npostgres\nsshd\n" if running else "systemd\nsshd\n"
    commands = dict([
        ok(PROCESS_NAMES, processes),
        ok(PS_C, "  812     1\n  820   812\n  821   812\n"),
        ok(FIND_CONF_D, "".join(f"{path}\n" for path in conf_d)),
        ok(cipher_command("HIGH:MEDIUM:+3DES:!aNULL"), recorded("debian12-openssl-ciphers-pg-default.txt")),
        ok(cipher_command("ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"),
           recorded("debian12-openssl-ciphers-aes256.txt")),
    ])
    if clusters is not None:
        commands.update([ok(postgres.LSCLUSTERS, clusters)])
    files = {
        "/proc/812/cmdline": (OUTPUTS / "debian12-postgresql15-proc-cmdline.bin").read_bytes(),
        CONF: (conf or recorded("debian12-postgresql15-postgresql.conf")).encode(),
        HBA: recorded("debian12-postgresql15-pg_hba.conf").encode(),
        f"{DATA}/postgresql.auto.conf": recorded("debian12-postgresql15-postgresql.auto.conf").encode(),
        f"{DATA}/PG_VERSION": b"15\n",
        **{path: text.encode() for path, text in conf_d.items()},
    }
    return FakeHost(commands, files)


def test_a_running_debian_cluster_is_found_from_its_process_and_read_from_etc():
    # Given Debian's cluster running (pg_lsclusters lists it online too)
    clusters = recorded("debian12-pg_lsclusters-down.txt").replace(" down ", " online ")
    facts = postgres.collect(debian_host(running=True, clusters=clusters), NO_SYSTEM)
    # Then one instance, from the postmaster's command line, its files in /etc/postgresql
    (pg,) = facts.instances
    assert pg.running and pg.pid == 812 and pg.version == "15" and pg.data_directory == DATA
    assert pg.config_file == CONF and pg.hba_file == HBA
    assert pg.settings["ssl"] == postgres.Setting("off", f"{CONF}:105")
    assert pg.settings["log_statement"] == postgres.Setting("none") and pg.state == "running (pid 812)"


def test_debians_pg_hba_lines_keep_their_file_and_line():
    (pg,) = postgres.collect(debian_host(running=True, clusters=""), NO_SYSTEM).instances
    kinds = [(rule.type, rule.address, rule.method) for rule in pg.hba]
    assert kinds[0] == ("local", "", "peer")
    assert ("host", "127.0.0.1/32", "scram-sha-256") in kinds and ("host", "::1/128", "scram-sha-256") in kinds
    loopback = next(rule for rule in pg.hba if rule.address == "127.0.0.1/32")
    assert loopback.where == f"{HBA}:97" and loopback.text == "host all all 127.0.0.1/32 scram-sha-256"


def test_the_default_cipher_string_is_expanded_by_the_hosts_openssl_without_tls13_suites():
    (pg,) = postgres.collect(debian_host(running=True, clusters=""), NO_SYSTEM).instances
    names = [suite.name for suite in pg.tls12_suites]
    assert "ECDHE-ECDSA-AES128-GCM-SHA256" in names and "ECDHE-ECDSA-AES256-GCM-SHA384" in names
    assert not any(name.startswith("TLS_") for name in names) and pg.cipher_problem == ""


def test_an_include_dir_setting_overrides_the_main_file_and_names_its_own_file():
    # Given a drop-in in conf.d that switches TLS on and narrows the suites
    dropin = "/etc/postgresql/15/main/conf.d/10-tls.conf"
    text = "ssl = on  # TLS\nssl_ciphers = 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384'\n"
    (pg,) = postgres.collect(debian_host(running=True, clusters="", conf_d={dropin: text}), NO_SYSTEM).instances
    # Then the drop-in wins (include_dir is the last line of Debian's file)
    assert pg.settings["ssl"] == postgres.Setting("on", f"{dropin}:1")
    assert [s.name for s in pg.tls12_suites] == ["ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384"]
    assert dropin in pg.files


def test_an_installed_cluster_that_does_not_run_is_judged_on_its_files_and_says_so():
    facts = postgres.collect(debian_host(running=False, clusters=recorded("debian12-pg_lsclusters-down.txt")),
                             NO_SYSTEM)
    (pg,) = facts.instances
    assert not pg.running and pg.config_file == CONF and "not running" in pg.state
    assert pg.resource == f"PostgreSQL 15 {DATA}"


@pytest.mark.parametrize(("clusters", "words"), [(None, "pg_lsclusters (Debian's postgresql-common) is not installed"),
                                                 ("", "pg_lsclusters lists no cluster")])
def test_a_host_without_postgresql_has_no_instance_and_says_how_it_looked(clusters, words):
    facts = postgres.collect(debian_host(running=False, clusters=clusters), NO_SYSTEM)
    assert facts.instances == () and words in facts.note


@pytest.mark.parametrize(
    ("argv", "data", "config", "overrides"),
    [
        (["postgres", "-D", "/srv/pg", "-p", "5433"], "/srv/pg", "", {"port": "5433"}),
        (["postgres", "-D/srv/pg", "-p5433", "-k", "/tmp/s"], "/srv/pg", "",
         {"port": "5433", "unix_socket_directories": "/tmp/s"}),
        (["postgres", "-D", "/d", "-c", "config_file=/etc/pg.conf", "--hba-file=/etc/hba", "-cssl=on"], "/d",
         "/etc/pg.conf", {"hba_file": "/etc/hba", "ssl": "on"}),
        (["postmaster", "--data_directory=/d2", "-B", "128"], "/d2", "", {}),
    ],
)
def test_postmaster_command_lines(argv, data, config, overrides):
    assert postgres.parse_command_line(argv) == (data, config, overrides)


def test_postgresql_conf_values_quotes_comments_and_the_last_setting_winning():
    text = ("# comment\nlisten_addresses = '*'  # all\nssl on\nlog_line_prefix = '%m ''quoted'' #not'\n"
            "include_if_exists 'extra.conf'\nSSL = off\n")
    directives = postgres.parse_conf("/etc/pg/postgresql.conf", text)
    settings = postgres.settings_from(d.line for d in directives if d.kind == "line")
    assert settings["listen_addresses"].value == "*" and settings["ssl"] == postgres.Setting(
        "off", "/etc/pg/postgresql.conf:6")
    assert settings["log_line_prefix"].value == "%m 'quoted' #not"
    assert [(d.kind, d.path) for d in directives if d.kind != "line"] == [("include_if_exists",
                                                                            "/etc/pg/extra.conf")]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("hostssl all all 10.0.0.0/8 scram-sha-256", ("hostssl", "10.0.0.0/8", "scram-sha-256")),
        ("host all all 192.0.2.0 255.255.255.0 md5", ("host", "192.0.2.0 255.255.255.0", "md5")),
        ('host "my db" "app" samenet trust  # note', ("host", "samenet", "trust")),
        ("hostnossl all all db.example.com reject", ("hostnossl", "db.example.com", "reject")),
        ("local all postgres peer", ("local", "", "peer")),
    ],
)
def test_pg_hba_rules(text, rule):
    (directive,) = postgres.parse_hba_file("/h", text + "\n")
    found = postgres.hba_rule(directive.line)
    assert found is not None and (found.type, found.address, found.method) == rule


def test_pg_hba_continued_lines_and_includes():
    text = "host all all \\\n  0.0.0.0/0 scram-sha-256\ninclude_dir \"hba.d\"\n\n# end\n"
    first, include = postgres.parse_hba_file("/etc/pg/pg_hba.conf", text)
    rule = postgres.hba_rule(first.line)
    assert rule is not None and rule.where == "/etc/pg/pg_hba.conf:1" and rule.address == "0.0.0.0/0"
    assert (include.kind, include.path) == ("include_dir", "/etc/pg/hba.d")


def test_a_line_too_short_to_be_a_rule_is_ignored():
    assert postgres.hba_rule(Line("/h", 1, "host all")) is None


@pytest.mark.parametrize("value", ["-engine evil", "HIGH; rm -rf /", "../../etc/passwd", "A" * 2000])
def test_a_hostile_cipher_string_is_never_handed_to_openssl(value):
    # Given a configuration whose ssl_ciphers is not a cipher string
    conf = recorded("debian12-postgresql15-postgresql.conf") + f"\nssl_ciphers = '{value}'\n"
    host = debian_host(running=True, clusters="", conf=conf)
    (pg,) = postgres.collect(host, NO_SYSTEM).instances
    # Then it is not expanded, no openssl command ran with it, and the facts say why
    assert pg.tls12_suites == () and "not one OpenSSL accepts" in pg.cipher_problem
    assert not any(call.startswith("openssl") and "HIGH:MEDIUM" not in call for call in host.calls)


class _Guarded(FakeHost):
    """A host where the scanning account may not read the data directory (reads fail as over SSH)."""

    def read_file(self, path: str) -> FileContent:
        if path.startswith(DATA):
            self.calls.append(path)
            return FileContent(path, True, error="Permission denied")
        return super().read_file(path)


def test_an_unreadable_data_directory_is_read_through_sudo_and_a_refused_sudo_is_a_missing_right():
    host = debian_host(running=True, clusters="")
    guarded = _Guarded({**host._commands, **dict([
        ok(cmd("cat", "--", f"{DATA}/postgresql.auto.conf", sudo=True), "ssl = on\n"),
        ok(cmd("cat", "--", f"{DATA}/PG_VERSION", sudo=True), "15\n")])}, host._files)
    (pg,) = postgres.collect(guarded, NO_SYSTEM).instances
    assert pg.settings["ssl"] == postgres.Setting("on", f"{DATA}/postgresql.auto.conf:1")
    refused = _Guarded(host._commands, host._files)
    with pytest.raises(PermissionMissing, match="sudo: true"):
        postgres.collect(refused, NO_SYSTEM)


def test_a_postmaster_without_d_is_found_in_its_working_folder():
    host = debian_host(running=True, clusters="")
    host._files["/proc/812/cmdline"] = b"/usr/lib/postgresql/15/bin/postgres\0"
    host._commands.update([ok(cmd("readlink", "/proc/812/cwd", sudo=True), "/srv/pgdata\n")])
    host._files.update({"/srv/pgdata/postgresql.conf": b"ssl = on\n",
                        "/srv/pgdata/pg_hba.conf": b"local all all peer\n"})
    (pg,) = postgres.collect(host, NO_SYSTEM).instances
    assert pg.data_directory == "/srv/pgdata" and pg.hba_file == "/srv/pgdata/pg_hba.conf"
    host._commands.pop(str(cmd("readlink", "/proc/812/cwd", sudo=True)))
    with pytest.raises(CollectorError, match="working folder"):
        postgres.collect(host, NO_SYSTEM)


@pytest.mark.parametrize("mode", ["--check", "--boot", "--single", "--describe-config", "-C"])
def test_a_one_shot_postgres_run_is_not_taken_for_a_server(mode):
    # Given initdb's `postgres --check` (or --boot, --single, -C) running as the scan lists processes: a postgres
    # process of its own, no postmaster, gone a moment later (its /proc/PID/cwd then unreadable)
    host = debian_host(running=True, clusters="")
    argv = ("/usr/lib/postgresql/15/bin/postgres", mode, "-F", "-c", "log_checkpoints=false")
    host._files["/proc/812/cmdline"] = "".join(f"{word}\0" for word in argv).encode()
    # When the PostgreSQL facts are collected
    facts = postgres.collect(host, NO_SYSTEM)
    # Then it is no instance, and the collector does not fail on it
    assert facts.instances == () and "No PostgreSQL server runs" in facts.note


# ---- the real servers ------------------------------------------------------------------------------------

def _instance(lab: DbLab, name: str) -> postgres.PostgresInstance:
    server = lab.servers[name]
    facts = postgres.collect(LocalTransport(), NO_SYSTEM)
    return next(i for i in facts.instances if i.data_directory == str(server.data_dir))


def test_the_real_hardened_server_is_read_from_its_process_and_files(db_lab: DbLab):
    # Given the hardened server of the lab, running as an unprivileged user
    pg = _instance(db_lab, "postgres-hardened")
    server = db_lab.servers["postgres-hardened"]
    # Then its postmaster, its settings from conf.d (with file:line) and its command-line port are found
    assert pg.running and pg.pid == server.pid and pg.version.isdigit()
    assert pg.settings["ssl"].value == "on" and pg.settings["ssl"].where.startswith(f"{server.data_dir}/conf.d/")
    assert pg.settings["port"] == postgres.Setting(str(server.port), "command line")
    assert {rule.type for rule in pg.hba} == {"local", "hostssl"}


def test_the_real_weak_servers_host_line_is_named_with_its_line(db_lab: DbLab):
    pg = _instance(db_lab, "postgres-weak")
    (host_line,) = [rule for rule in pg.hba if rule.type == "host"]
    assert host_line.where == f"{db_lab.servers['postgres-weak'].data_dir}/pg_hba.conf:3"
    assert host_line.address == "0.0.0.0/0"
