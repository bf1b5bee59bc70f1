"""The MySQL/MariaDB host collector: Debian 12's recorded MariaDB 10.11 (running, and installed only), the option-file
parser, and the real servers of tests/db_servers.py read through the local transport."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.collectors.databases import mysql
from auditor.collectors.databases._host import PROCESS_NAMES, cipher_command
from auditor.errors import CollectorError, PermissionMissing
from auditor.models import Status, SystemFacts
from auditor.transports.base import Command, CommandResult
from auditor.transports.local import LocalTransport
from checks import database
from tests.auditor.fake_host import FakeHost
from tests.conftest import FIXTURES
from tests.db_servers import DbLab, _server_user, _stop, db_lab_fixture, mariadb_bin, start_mariadb  # noqa: F401

OUTPUTS = FIXTURES / "outputs" / "databases"
ETC = OUTPUTS / "debian12-etc-mysql"
NO_SYSTEM = SystemFacts(platform=None)
PS_C = "ps -C mariadbd,mysqld -o pid=,ppid="
SERVER_CNF = "/etc/mysql/mariadb.conf.d/50-server.cnf"


def recorded(name: str) -> str:
    return (OUTPUTS / name).read_text(encoding="utf-8")


def ok(command: str | Command, stdout: str) -> tuple[str, CommandResult]:
    return str(command), CommandResult(str(command), 0, stdout)


def find(folder: str) -> str:
    return f"find {folder} -mindepth 1 -maxdepth 1 -type f -name '*.cnf'"


OTHER_CNF = "/srv/app-db/my.cnf"
OTHER_DATADIR = "/srv/app-db/data"


def debian_host(*, running: bool, installed: bool = True, extra: str = "", other: bool = False,
                suffix: str = "") -> FakeHost:
    """Debian 12 with mariadb-server 10.11 as the package lays it out (recorded /etc/mysql); `extra` is added to
    50-server.cnf. `running`: the package's server runs (pid 900); `other`: a second server of the same program runs
    (pid 901) from its own --defaults-file, with its own datadir; with `suffix`, it runs as mariadb@.service starts
    an instance instead (`--defaults-group-suffix`, its settings in 50-server.cnf's [mariadbd<suffix>] group)."""
    listed = {folder: sorted(f"/etc/mysql/{folder}/{p.name}" for p in (ETC / folder).iterdir())
              for folder in ("conf.d", "mariadb.conf.d")}
    pids = ["  900     1\n"] * running + ["  901     1\n"] * other
    commands = dict([
        ok(PROCESS_NAMES, "systemd\nmariadbd\nsshd\n" if pids else "systemd\nsshd\n"),
        ok(PS_C, "".join(pids)),
        *(ok(find(f"/etc/mysql/{folder}"), "".join(f"{p}\n" for p in paths)) for folder, paths in listed.items()),
        ok(cipher_command("DEFAULT"), recorded("debian12-openssl-ciphers-DEFAULT.txt")),
        ok(cipher_command("ECDHE-ECDSA-AES256-GCM-SHA384"), recorded("debian12-openssl-ciphers-ecdsa-aes256.txt")),
    ])
    if installed:
        commands.update([ok(mysql.HELP["mariadbd"], recorded("debian12-mariadbd-verbose-help.txt"))])
    files = {"/proc/900/cmdline": (OUTPUTS / "debian12-mariadbd-proc-cmdline.bin").read_bytes(),
             "/etc/mysql/my.cnf": (ETC / "my.cnf").read_bytes()}
    for folder, paths in listed.items():
        files.update({path: (ETC / folder / path.rsplit("/", 1)[1]).read_bytes() for path in paths})
    files[SERVER_CNF] += extra.encode()
    if other and suffix:
        files["/proc/901/cmdline"] = f"/usr/sbin/mariadbd\0--defaults-group-suffix={suffix}\0--basedir=/usr\0".encode()
        files[SERVER_CNF] += (f"\n[mariadbd{suffix}]\ndatadir = {OTHER_DATADIR}\n"
                              "require_secure_transport = ON\n").encode()
    elif other:
        files["/proc/901/cmdline"] = f"/usr/sbin/mariadbd\0--defaults-file={OTHER_CNF}\0".encode()
        files[OTHER_CNF] = (f"[mariadbd]\ndatadir = {OTHER_DATADIR}\nport = 3307\nrequire_secure_transport = ON\n"
                            "ssl_cipher = ECDHE-ECDSA-AES256-GCM-SHA384\n").encode()
    return FakeHost(commands, files)


def test_a_running_debian_mariadb_is_read_from_its_option_files_with_the_programs_defaults():
    # Given Debian's MariaDB running as the package starts it (no arguments)
    (my,) = mysql.collect(debian_host(running=True), NO_SYSTEM).instances
    # Then the option files come from the program's own list, with their includes in order
    assert my.running and my.pid == 900 and my.mariadb and "10.11.19-MariaDB" in my.product
    assert my.option_files[0] == "/etc/mysql/my.cnf" and SERVER_CNF in my.option_files
    assert "/etc/mysql/conf.d/mysql.cnf" in my.option_files
    # And what no file sets has the program's built-in default
    assert my.settings["require_secure_transport"] == mysql.Setting("FALSE")
    assert my.settings["tls_version"] == mysql.Setting("TLSv1.2,TLSv1.3")
    assert my.settings["bind_address"].value == "127.0.0.1" and my.settings["bind_address"].where.startswith(
        f"{SERVER_CNF}:")
    assert my.resource == "MariaDB /var/lib/mysql/" and my.state == "running (pid 900)"


@pytest.mark.parametrize("mode", ["--help", "--bootstrap", "--initialize-insecure", "--version", "--print-defaults"])
def test_a_one_shot_run_of_the_server_program_is_not_taken_for_a_server(mode):
    # Given the installed server stopped, and a one-shot run of its program as the scan lists processes
    # (mariadb-install-db's --bootstrap, another tool's --verbose --help): pid 901, gone a moment later
    host = debian_host(running=False, other=True)
    host._files["/proc/901/cmdline"] = f"/usr/sbin/mariadbd\0--no-defaults\0{mode}\0".encode()
    # When the MySQL/MariaDB facts are collected
    (my,) = mysql.collect(host, NO_SYSTEM).instances
    # Then only the installed server is judged, on its option files, as not running
    assert not my.running and my.pid == 0


def test_an_unset_ssl_cipher_is_judged_as_openssls_default_list():
    (my,) = mysql.collect(debian_host(running=True), NO_SYSTEM).instances
    names = [suite.name for suite in my.tls12_suites]
    assert "ECDHE-ECDSA-AES128-GCM-SHA256" in names and not any(n.startswith("TLS_") for n in names)


def test_a_setting_in_the_server_group_wins_and_a_client_group_is_ignored():
    extra = ("\n[mariadbd]\nrequire-secure-transport = ON\nssl_cipher = \"ECDHE-ECDSA-AES256-GCM-SHA384\"\n"
             "[client]\ngeneral_log = ON\n")
    (my,) = mysql.collect(debian_host(running=True, extra=extra), NO_SYSTEM).instances
    assert my.enabled("require_secure_transport") and my.settings["require_secure_transport"].where.startswith(
        SERVER_CNF)
    assert [s.name for s in my.tls12_suites] == ["ECDHE-ECDSA-AES256-GCM-SHA384"]
    assert not my.enabled("general_log")


def test_an_installed_server_that_does_not_run_is_judged_on_its_files_and_says_so():
    (my,) = mysql.collect(debian_host(running=False), NO_SYSTEM).instances
    assert not my.running and my.program == "mariadbd" and "not running" in my.state


def test_debian_12s_mariadb_as_installed_has_no_certificate_so_tls_is_off():
    # Given Debian 12's MariaDB 10.11 as the package installs it: ssl-cert and ssl-key commented out in 50-server.cnf
    (my,) = mysql.collect(debian_host(running=False), NO_SYSTEM).instances
    # Then it cannot offer TLS (10.11 makes no certificate of its own), while one with a certificate can
    assert my.version == "10.11.19" and not my.value("ssl_cert") and my.tls_off
    extra = "\n[mariadbd]\nssl-cert = /etc/mysql/server-cert.pem\nssl-key = /etc/mysql/server-key.pem\n"
    (configured,) = mysql.collect(debian_host(running=False, extra=extra), NO_SYSTEM).instances
    assert not configured.tls_off


def test_the_installed_server_that_does_not_run_is_judged_beside_another_running_server():
    # Given Debian's MariaDB installed and stopped, while a second mariadbd runs from its own --defaults-file
    running, stopped = mysql.collect(debian_host(running=False, other=True), NO_SYSTEM).instances
    # Then the running one is judged on its own file, and the system's server on its option files, and says so
    assert running.running and running.pid == 901 and running.option_files == (OTHER_CNF,)
    assert running.resource == f"MariaDB {OTHER_DATADIR}" and running.enabled("require_secure_transport")
    assert not stopped.running and stopped.state == "not running: its option files were judged"
    assert stopped.resource == "MariaDB /var/lib/mysql/" and stopped.option_files[0] == "/etc/mysql/my.cnf"
    assert not stopped.enabled("require_secure_transport")


def test_the_system_server_that_runs_is_judged_once_beside_another_running_server():
    # Given Debian's MariaDB running (its datadir /var/lib/mysql/) and a second server with a datadir of its own
    facts = mysql.collect(debian_host(running=True, other=True), NO_SYSTEM)
    # Then each is judged once, both as running: the system's server is the running one with its datadir
    assert [(i.pid, i.resource) for i in facts.instances] == [(900, "MariaDB /var/lib/mysql/"),
                                                               (901, f"MariaDB {OTHER_DATADIR}")]


def test_an_instance_started_with_a_group_suffix_reads_its_groups_and_is_not_taken_for_the_system_server():
    # Given Debian's MariaDB stopped, and an instance started as mariadb@qa.service starts it: the usual option
    # files, with its own settings (datadir, require_secure_transport) in a [mariadbd.qa] group
    running, stopped = mysql.collect(debian_host(running=False, other=True, suffix=".qa"), NO_SYSTEM).instances
    # Then the instance is judged with its own group's settings, named by its own datadir
    assert running.pid == 901 and running.resource == f"MariaDB {OTHER_DATADIR}"
    assert running.enabled("require_secure_transport") and "mariadbd.qa" in running.groups
    assert running.settings["require_secure_transport"].where.startswith(f"{SERVER_CNF}:")
    # And the system's server, which does not run, is judged on its files beside it and says so
    assert not stopped.running and stopped.resource == "MariaDB /var/lib/mysql/"
    assert not stopped.enabled("require_secure_transport")


def test_a_host_without_mysql_or_mariadb_has_no_instance():
    facts = mysql.collect(debian_host(running=False, installed=False), NO_SYSTEM)
    assert facts.instances == () and "neither mariadbd nor mysqld" in facts.note


def test_a_server_whose_program_cannot_describe_itself_is_a_collector_error():
    host = debian_host(running=True, installed=False)
    with pytest.raises(CollectorError, match="did not describe its options"):
        mysql.collect(host, NO_SYSTEM)


def test_the_programs_help_gives_its_files_groups_and_defaults():
    described = mysql.parse_help(recorded("debian12-mariadbd-verbose-help.txt"))
    assert described.option_files == ("/etc/my.cnf", "/etc/mysql/my.cnf", "~/.my.cnf")
    assert "mariadbd" in described.groups and "client" not in described.groups
    assert described.defaults["ssl_cipher"] == "" and described.defaults["general_log"] == "FALSE"


@pytest.mark.parametrize(
    ("argv", "files"),
    [
        ([], ["/etc/my.cnf", "/etc/mysql/my.cnf"]),
        (["--defaults-file=/srv/my.cnf", "--port=3307"], ["/srv/my.cnf"]),
        (["--defaults-extra-file=/srv/extra.cnf"], ["/etc/my.cnf", "/etc/mysql/my.cnf", "/srv/extra.cnf"]),
        (["--no-defaults"], []),
    ],
)
def test_which_option_files_a_server_reads(argv, files):
    assert mysql.option_files(("/etc/my.cnf", "/etc/mysql/my.cnf", "~/.my.cnf"), argv) == files


@pytest.mark.parametrize(
    ("line", "option"),
    [
        ("require_secure_transport=ON", ("require_secure_transport", "ON")),
        ("require-secure-transport", ("require_secure_transport", "ON")),
        ("skip-ssl", ("ssl", "OFF")),
        ("loose-server-audit-logging = ON # audit", ("server_audit_logging", "ON")),
        ("tls_version = 'TLSv1.2,TLSv1.3'", ("tls_version", "TLSv1.2,TLSv1.3")),
        ("enable-general-log", ("general_log", "ON")),
    ],
)
def test_option_lines(line, option):
    assert mysql._option(line) == option


def test_command_line_settings_override_the_files_and_leave_out_option_file_arguments():
    found = mysql.command_line_settings(["--defaults-file=/x", "--require-secure-transport=OFF", "--skip-ssl"])
    assert found == {"require_secure_transport": "OFF", "ssl": "OFF"}


# ---- the real servers ------------------------------------------------------------------------------------

def _instance(lab: DbLab, name: str) -> mysql.MysqlInstance:
    server = lab.servers[name]
    facts = mysql.collect(LocalTransport(), NO_SYSTEM)
    return next(i for i in facts.instances if i.running and i.pid == server.pid)


def test_the_real_hardened_server_requires_tls_in_its_own_included_file(db_lab: DbLab):
    my = _instance(db_lab, "mariadb-hardened")
    folder = db_lab.servers["mariadb-hardened"].folder
    assert my.option_files[0] == str(folder / "my.cnf")
    assert my.settings["require_secure_transport"] == mysql.Setting("ON", f"{folder}/conf.d/50-auditor-test.cnf:2")
    assert my.enabled("server_audit_logging") and [s.name for s in my.tls12_suites] == [
        "ECDHE-ECDSA-AES256-GCM-SHA384"]


def test_the_real_weak_server_has_require_secure_transport_off_where_it_says_so(db_lab: DbLab):
    my = _instance(db_lab, "mariadb-weak")
    folder = db_lab.servers["mariadb-weak"].folder
    assert my.settings["require_secure_transport"] == mysql.Setting("OFF", f"{folder}/conf.d/50-auditor-test.cnf:2")


@pytest.fixture(scope="module", name="suffixed_mariadb")
def suffixed_mariadb_fixture() -> Iterator[mysql.MysqlInstance]:
    """A real MariaDB started with `--defaults-group-suffix=.qa`, require_secure_transport = ON in [mariadbd.qa]
    only; the collector's view of it, then the server is stopped and its folder removed."""
    root = Path(tempfile.mkdtemp(prefix="auditor-db-suffix-"))
    root.chmod(0o755)
    try:
        server = start_mariadb(root, "mariadb-qa", "require_secure_transport = ON\n", "unused-password",
                               _server_user(), group_suffix=".qa")
        try:
            facts = mysql.collect(LocalTransport(), NO_SYSTEM)
            yield next(i for i in facts.instances if i.running and i.pid == server.pid)
        finally:
            _stop("kill", server)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_real_server_started_with_a_group_suffix_is_judged_on_its_suffixed_group(
        suffixed_mariadb: mysql.MysqlInstance):
    # Given a real MariaDB whose require_secure_transport = ON is in the [mariadbd.qa] group it reads
    # Then the collector reads that group too, as the server does (SHOW VARIABLES says ON)
    assert suffixed_mariadb.enabled("require_secure_transport")
    assert suffixed_mariadb.settings["require_secure_transport"].where.endswith("50-auditor-test.cnf:2")


@pytest.fixture(scope="module", name="mariadb_without_certificate")
def mariadb_without_certificate_fixture() -> Iterator[tuple[mysql.MysqlInstance, str]]:
    """A real MariaDB with no ssl_cert or ssl_key (as Debian installs it): the collector's view of it and what the
    server itself says of TLS (SHOW GLOBAL VARIABLES over its socket); then the server is stopped, its folder
    removed."""
    root = Path(tempfile.mkdtemp(prefix="auditor-db-nocert-"))
    root.chmod(0o755)
    try:
        server = start_mariadb(root, "mariadb-nocert", "require_secure_transport = ON\n", "unused-password",
                               _server_user(), certificate=False)
        try:
            said = subprocess.run([mariadb_bin("mariadb"), f"--socket={server.folder}/mysqld.sock", "--user=root",
                                   "--batch", "--skip-column-names", "--execute",
                                   "SHOW GLOBAL VARIABLES LIKE 'have_ssl'"],
                                  capture_output=True, text=True, timeout=30, check=True).stdout
            facts = mysql.collect(LocalTransport(), NO_SYSTEM)
            yield next(i for i in facts.instances if i.running and i.pid == server.pid), said
        finally:
            _stop("kill", server)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_real_mariadb_without_certificate_has_tls_off_and_the_checks_say_so(
        mariadb_without_certificate: tuple[mysql.MysqlInstance, str]):
    my, said = mariadb_without_certificate
    # Given a real MariaDB 10.11 with no certificate: the server itself says TLS is off
    assert said.split() == ["have_ssl", "DISABLED"], said
    # Then the collector's facts say so too
    assert my.tls_off and not my.value("ssl_cert") and not my.value("ssl_key")
    # And DB-0210 fails naming the missing certificate, DB-0211 and DB-0212 are not applicable
    facts = mysql.MysqlFacts((my,))
    (required,) = database.mysql_requires_tls(facts)
    assert required.status is Status.FAIL and "no certificate is configured" in required.message, required.message
    for (verdict,) in (database.mysql_tls_versions(facts, "1.2"), database.mysql_ciphers(facts, 256, False)):
        assert verdict.status is Status.NOT_APPLICABLE and verdict.message.startswith("TLS is off"), verdict.message


def test_the_real_servers_with_a_certificate_have_tls_on(db_lab: DbLab):
    assert not _instance(db_lab, "mariadb-hardened").tls_off and not _instance(db_lab, "mariadb-weak").tls_off


def test_an_include_folder_sudo_will_not_list_is_a_missing_right_not_an_error():
    # Given an account whose `sudo: true` has no right to run find as root (found by trying the tool: the database
    # checks were errors, where a missing right makes them skipped with the reason)
    host = debian_host(running=True)
    refused = CommandResult(find("/etc/mysql/conf.d"), 1, "", "sudo: a password is required\n")
    host._commands[find("/etc/mysql/conf.d")] = refused
    # When the servers are collected, Then the right is what is missing, and the message says how to give it
    with pytest.raises(PermissionMissing, match=r"/etc/mysql/conf.d could not be listed: .*needs root: sudo: a "
                                                r"password is required; scan as root or set sudo: true"):
        mysql.collect(host, NO_SYSTEM)
