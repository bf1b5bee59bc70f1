"""Real PostgreSQL and MariaDB servers on 127.0.0.1 for the database tests: each in a temporary folder of its own.

    from tests.db_servers import db_lab_fixture   # provides `db_lab`: the four servers, started once a session

Debian's own binaries (`postgresql`, `mariadb-server`; `make test` installs them) run as an unprivileged user
(`nobody` when the tests run as root) with their data, sockets, pid files, logs and configuration in a folder
made for them under /tmp, on free ports of 127.0.0.1. Nothing under /run, /var/lib or /etc is used, so the
servers start on a machine where the packages' own instances never ran, and a system-wide instance is never
touched. Each server has a certificate valid from a year before to two years after the real clock.

    postgres-hardened   pg_hba.conf: `local` and `hostssl` lines only; ssl = on, TLS 1.2+, AES-256 suites,
                        connection and statement logging (settings in an include_dir, as Debian lays them out)
    postgres-weak       pg_hba.conf: `host all all 0.0.0.0/0 scram-sha-256`; ssl = on with the defaults
    mariadb-hardened    require_secure_transport = ON, TLSv1.2/1.3, AES-256 suites only, the server_audit plugin
    mariadb-weak        require_secure_transport = OFF, TLS with the defaults, no audit or general log
Both MariaDB servers have the account `app` whose password is in `DbLab.password` (for `password_env`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import real_epoch
from tests.tls_servers import free_port

SERVER_NAME = "db.auditor.test"
START_SECONDS = 60
_SBIN = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")

POSTGRES_HARDENED_HBA = """\
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
hostssl all       all   127.0.0.1/32  scram-sha-256
hostssl all       all   ::1/128       scram-sha-256
"""
POSTGRES_WEAK_HBA = """\
local   all       all                 trust
hostssl all       all   127.0.0.1/32  scram-sha-256
host    all       all   0.0.0.0/0     scram-sha-256
"""
POSTGRES_HARDENED_CONF = """\
ssl = on
ssl_min_protocol_version = 'TLSv1.2'
ssl_max_protocol_version = 'TLSv1.2'
ssl_ciphers = 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384'
log_connections = on
log_disconnections = on
log_statement = 'mod'
"""
POSTGRES_WEAK_CONF = "ssl = on\n"
MARIADB_HARDENED = """\
require_secure_transport = ON
tls_version = TLSv1.2,TLSv1.3
ssl_cipher = TLS_AES_256_GCM_SHA384:ECDHE-ECDSA-AES256-GCM-SHA384
plugin_load_add = server_audit
server_audit_logging = ON
server_audit_events = CONNECT,QUERY
"""
MARIADB_WEAK = "require_secure_transport = OFF\n"


@dataclass
class DbServer:
    """One running server: where it listens and where its files are.

    Attributes:
        engine: postgres or mariadb.
        folder: the server's own temporary folder (data, socket, pid file, log, configuration, certificate).
        data_dir: its data directory; config_file: the main configuration file it reads.
        pid: the server process (the postmaster; mariadbd).
    """

    name: str
    engine: str
    port: int
    folder: Path
    data_dir: Path
    config_file: Path
    pid: int
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None

    @property
    def starttls(self) -> str:
        return "postgres" if self.engine == "postgres" else "mysql"

    def inventory_entry(self, **extra: str) -> str:
        """This server as one `kind: tls` target of an inventory (a YAML flow mapping under `targets:`)."""
        more = "".join(f", {key}: {value}" for key, value in extra.items())
        return (f"  - {{name: {self.name}, kind: tls, host: {self.host}, port: {self.port}, server_name: "
                f"{SERVER_NAME}, starttls: {self.starttls}, connect_timeout: 10{more}}}\n")


@dataclass
class DbLab:
    """The running servers, by name; `password` is the MariaDB account `app`'s password."""

    root: Path
    password: str
    servers: dict[str, DbServer] = field(default_factory=dict)
    _stops: list[tuple[str, DbServer]] = field(default_factory=list)

    def close(self) -> None:
        """Stop every server this lab started and remove its folder."""
        for how, server in reversed(self._stops):
            _stop(how, server)
        shutil.rmtree(self.root, ignore_errors=True)


def _server_user() -> tuple[int, int] | None:
    """(uid, gid) of `nobody` when the tests run as root (neither server runs as root); None: run as ourselves."""
    if os.geteuid() != 0:
        return None
    nobody = pwd.getpwnam("nobody")
    return nobody.pw_uid, nobody.pw_gid


def _give(path: Path, owner: tuple[int, int] | None) -> None:
    if owner is not None:
        for item in [path, *path.rglob("*")]:
            os.chown(item, *owner, follow_symlinks=False)


def _run(argv: list[str], owner: tuple[int, int] | None, **kwargs: object) -> subprocess.CompletedProcess[str]:
    ids = {"user": owner[0], "group": owner[1], "extra_groups": []} if owner else {}
    return subprocess.run(argv, capture_output=True, text=True, timeout=START_SECONDS, check=False, cwd="/",
                          **ids, **kwargs)  # type: ignore[call-overload]


def postgres_bin(program: str) -> str:
    """A PostgreSQL server program: Debian keeps them in /usr/lib/postgresql/<major>/bin, out of PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"), key=lambda p: int(p.split("/")[4]))
    path = found[-1] if found else shutil.which(program)
    if not path:
        raise RuntimeError(f"PostgreSQL's {program} is not installed: apt-get install postgresql (make test does)")
    return path


def mariadb_bin(program: str) -> str:
    """A MariaDB program (mariadbd is in /usr/sbin, outside a normal user's PATH)."""
    path = shutil.which(program, path=os.pathsep.join([os.environ.get("PATH", ""), *_SBIN]))
    if not path:
        raise RuntimeError(f"MariaDB's {program} is not installed: apt-get install mariadb-server (make test does)")
    return path


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed server certificate valid from a year before to two years after the real clock."""
    now = dt.datetime.fromtimestamp(real_epoch(), dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=365))
            .not_valid_after(now + dt.timedelta(days=730))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME)]), critical=False)
            .sign(key, hashes.SHA256()))
    (folder / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    (folder / "server.key").chmod(0o600)
    return folder / "server.crt", folder / "server.key"


def _wait_port(port: int, log: Path, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    raise RuntimeError(f"the test server on port {port} did not start:\n{tail}")


# ---- PostgreSQL --------------------------------------------------------------------------------------------

def _postgres_template(root: Path, owner: tuple[int, int] | None) -> Path:
    """One initdb for the session; each server gets a copy (initdb takes a second, a copy a tenth)."""
    template = root / "pg-template"
    template.mkdir()
    _give(template, owner)
    done = _run([postgres_bin("initdb"), "-D", str(template / "data"), "-U", "postgres", "--auth=trust",
                 "-E", "UTF8", "--no-sync", "--no-instructions"], owner)
    if done.returncode != 0:
        raise RuntimeError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
    return template / "data"


def start_postgres(root: Path, name: str, template: Path, hba: str, settings: str,
                   owner: tuple[int, int] | None) -> DbServer:
    """A PostgreSQL server from a copy of `template`: `hba` as its pg_hba.conf, `settings` in conf.d/."""
    folder = root / name
    folder.mkdir()
    data = folder / "data"
    subprocess.run(["cp", "-a", str(template), str(data)], check=True)
    cert, key = _certificate(folder)
    (data / "pg_hba.conf").write_text(hba)
    (data / "conf.d").mkdir()
    (data / "conf.d" / "10-auditor-test.conf").write_text(
        f"{settings}ssl_cert_file = '{cert}'\nssl_key_file = '{key}'\n")
    with (data / "postgresql.conf").open("a") as conf:
        conf.write("\nlisten_addresses = '127.0.0.1'\nfsync = off\ninclude_dir = 'conf.d'\n")
    _give(folder, owner)
    port = free_port()
    log = folder / "server.log"
    done = _run([postgres_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", str(START_SECONDS),
                 "-o", f"-p {port} -k {folder}", "start"], owner)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {done.stdout.strip()} {done.stderr.strip()}\n{tail}")
    pid = int((data / "postmaster.pid").read_text().split()[0])
    return DbServer(name, "postgres", port, folder, data, data / "postgresql.conf", pid)


# ---- MariaDB -----------------------------------------------------------------------------------------------

def start_mariadb(root: Path, name: str, settings: str, password: str, owner: tuple[int, int] | None,
                  group_suffix: str = "", certificate: bool = True) -> DbServer:
    """A MariaDB server bootstrapped in its own folder, read from its own --defaults-file (with an includedir).
    With `group_suffix` it is also started with `--defaults-group-suffix` (as mariadb@.service starts an instance),
    and `settings` go in the suffixed group ([mariadbd.qa]) instead of [mariadbd]. Without `certificate` no
    ssl_cert or ssl_key is set, as Debian installs it: MariaDB before 11.4 then runs without TLS."""
    folder = root / name
    (folder / "conf.d").mkdir(parents=True)
    _give(folder, owner)
    data = folder / "data"
    # Its own temporary folder: in the shared /tmp, another process cleaning up can take the bootstrap's
    # temporary tables away mid-way ("Could not remove temporary table ... error: 2", then it aborts).
    (folder / "tmp").mkdir()
    _give(folder, owner)
    done = _run([mariadb_bin("mariadb-install-db"), "--no-defaults", f"--datadir={data}", "--skip-test-db",
                 "--auth-root-authentication-method=socket", "--skip-name-resolve", f"--tmpdir={folder}/tmp"],
                owner)
    if done.returncode != 0:
        raise RuntimeError(f"mariadb-install-db failed: {done.stderr.strip()[-2000:]}")
    tls = "ssl_cert = {}\nssl_key = {}\n".format(*_certificate(folder)) if certificate else ""
    (folder / "init.sql").write_text(f"CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY '{password}';\n")
    (folder / "conf.d" / "50-auditor-test.cnf").write_text(f"[mariadbd{group_suffix}]\n{settings}")
    port = free_port()
    config = folder / "my.cnf"
    config.write_text(f"""\
[mysqld]
datadir = {data}
port = {port}
bind_address = 127.0.0.1
socket = {folder}/mysqld.sock
pid_file = {folder}/mysqld.pid
tmpdir = {folder}/tmp
log_error = {folder}/server.log
init_file = {folder}/init.sql
skip_name_resolve
innodb_buffer_pool_size = 16M
{tls}!includedir {folder}/conf.d
""")
    _give(folder, owner)
    ids = {"user": owner[0], "group": owner[1], "extra_groups": []} if owner else {}
    suffix = [f"--defaults-group-suffix={group_suffix}"] if group_suffix else []
    proc = subprocess.Popen([mariadb_bin("mariadbd"), f"--defaults-file={config}", *suffix], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/", start_new_session=True,
                            **ids)  # type: ignore[call-overload]
    try:
        _wait_port(port, folder / "server.log", proc, time.monotonic() + START_SECONDS)
    except RuntimeError:
        proc.kill()
        proc.wait()
        raise
    return DbServer(name, "mariadb", port, folder, data, config, proc.pid, process=proc)


def _stop(how: str, server: DbServer) -> None:
    if how == "pg_ctl":
        done = _run([postgres_bin("pg_ctl"), "-D", str(server.data_dir), "-m", "immediate", "-w", "stop"],
                    _server_user())
        if done.returncode == 0:
            return
    if server.process is not None:
        server.process.kill()
        server.process.wait()
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(server.pid, signal.SIGKILL)


def start_lab() -> DbLab:
    """Start the four servers side by side; on any failure, stop those that started and raise."""
    owner = _server_user()
    root = Path(tempfile.mkdtemp(prefix="auditor-db-"))
    root.chmod(0o755)  # the unprivileged server user must reach its own folder
    lab = DbLab(root, secrets.token_urlsafe(16))
    try:
        template = _postgres_template(root, owner)
        with ThreadPoolExecutor(max_workers=4) as pool:
            starting = {
                **{pool.submit(start_postgres, root, name, template, hba, conf, owner): "pg_ctl"
                   for name, hba, conf in (("postgres-hardened", POSTGRES_HARDENED_HBA, POSTGRES_HARDENED_CONF),
                                           ("postgres-weak", POSTGRES_WEAK_HBA, POSTGRES_WEAK_CONF))},
                **{pool.submit(start_mariadb, root, name, settings, lab.password, owner): "kill"
                   for name, settings in (("mariadb-hardened", MARIADB_HARDENED), ("mariadb-weak", MARIADB_WEAK))},
            }
        for future, how in starting.items():
            if future.exception() is None:
                lab.servers[future.result().name] = future.result()
                lab._stops.append((how, future.result()))
        for future in starting:
            future.result()  # the first failure, now that every started server is known to close()
    except BaseException:
        lab.close()
        raise
    return lab


_LABS: dict[str, DbLab] = {}


@pytest.fixture(scope="session", name="db_lab")
def db_lab_fixture(request: pytest.FixtureRequest) -> Iterator[DbLab]:
    """The four database servers, started once per test session however many modules import this fixture."""
    if "lab" not in _LABS:
        lab = _LABS["lab"] = start_lab()
        request.session.config.add_cleanup(lab.close)
    yield _LABS["lab"]
