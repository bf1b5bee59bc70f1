"""Real parts for the zone tests: a redis-server with a password, network namespaces joined to the host by
veth pairs, and `auditor worker` processes started inside them (`ip netns exec`).

Everything is created in temporary folders under names carrying this process's id, and removed at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from auditor.bundle.results import read_results
from auditor.models import Target
from tests.conftest import HOSTS, child_env
from tests.sshd_server import HARDENED, PRIVSEP_DIR, SSHD, SshdServer, free_port

REDIS = "/usr/bin/redis-server"
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "zones-broker-password-7f3a"


class RedisServer:
    """redis-server on 127.0.0.1 (and the given addresses), with a password and an append-only file, so a
    restart keeps the queued tasks, as a production broker should."""

    def __init__(self, root: Path, bind: Sequence[str] = (), tls: bool = False) -> None:
        self.root = root
        self.port = free_port()
        self.bind = ["127.0.0.1", *bind]
        root.mkdir(parents=True, exist_ok=True)
        self.ca_file: Path | None = None
        listen = f"port {self.port}\n"
        if tls:  # TLS only: the plain port is closed
            self.ca_file, key = tls_certificate(root)
            listen = (f"port 0\ntls-port {self.port}\ntls-cert-file {self.ca_file}\ntls-key-file {key}\n"
                      f"tls-ca-cert-file {self.ca_file}\ntls-auth-clients no\n")
        (root / "redis.conf").write_text(
            f"{listen}bind {' '.join(self.bind)}\nrequirepass {PASSWORD}\ndir {root}\n"
            "appendonly yes\nappendfsync always\nsave \"\"\ndaemonize no\nloglevel warning\n"
            f"logfile {root / 'redis.log'}\n")
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, host: str = "127.0.0.1") -> str:
        """The broker URL without its password (workers and the coordinator get it from the environment)."""
        return f"{'rediss' if self.ca_file else 'redis'}://{host}:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen([REDIS, str(self.root / "redis.conf")], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.command("PING") == "+PONG":
                return self
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start: {(self.root / 'redis.log').read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: redis flushes the append-only file, then exits
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def command(self, *words: str) -> str:
        """One command over RESP (the first reply line), or '' when redis does not answer."""
        try:
            with contextlib.ExitStack() as stack:
                sock = stack.enter_context(socket.create_connection(("127.0.0.1", self.port), timeout=2))
                if self.ca_file:
                    sock = stack.enter_context(ssl.create_default_context(cafile=str(self.ca_file)).wrap_socket(
                        sock, server_hostname="127.0.0.1"))
                payload = [f"AUTH {PASSWORD}", " ".join(words)]
                sock.sendall("".join(f"{line}\r\n" for line in payload).encode())
                data = b""
                while data.count(b"\r\n") < 2:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                return data.decode(errors="replace").split("\r\n")[1]
        except OSError:
            return ""

    def monitor(self, out: Path) -> subprocess.Popen[bytes]:
        """redis-cli MONITOR writing every command through the broker to `out` (stop it with .terminate())."""
        with out.open("wb") as sink:
            return subprocess.Popen(["redis-cli", "-p", str(self.port), "--no-auth-warning", "-a", PASSWORD,
                                     "MONITOR"], stdout=sink, stderr=subprocess.DEVNULL, start_new_session=True)


class Zone:
    """A network namespace with its own loopback, joined to the host by a veth pair (host .1, zone .2)."""

    def __init__(self, name: str, index: int) -> None:
        self.name = f"az{os.getpid() % 100000}{name}"
        self.zone = name
        self.host_if, self.zone_if = f"{self.name}h"[:15], f"{self.name}z"[:15]
        net = f"10.{200 + os.getpid() % 50}.{index}"
        self.host_address, self.zone_address = f"{net}.1", f"{net}.2"

    def create(self) -> Zone:
        for argv in (["ip", "netns", "add", self.name], ["ip", "-n", self.name, "link", "set", "lo", "up"],
                     ["ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.zone_if],
                     ["ip", "link", "set", self.zone_if, "netns", self.name],
                     ["ip", "addr", "add", f"{self.host_address}/30", "dev", self.host_if],
                     ["ip", "link", "set", self.host_if, "up"],
                     ["ip", "-n", self.name, "addr", "add", f"{self.zone_address}/30", "dev", self.zone_if],
                     ["ip", "-n", self.name, "link", "set", self.zone_if, "up"]):
            subprocess.run(argv, check=True, capture_output=True)
        return self

    def delete(self) -> None:
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False)

    @property
    def launcher(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]


class Worker:
    """`python -m auditor.zones.worker` as its own process (in a zone's namespace when given a launcher)."""

    def __init__(self, log: Path, broker: str, zone: str, allow: Sequence[str], launcher: Sequence[str] = (),
                 env: dict[str, str] | None = None, extra: Sequence[str] = ()) -> None:
        argv = [*launcher, sys.executable, "-m", "auditor.zones.worker", "--broker", broker, "--zone", zone,
                *(a for entry in allow for a in ("--allow", entry)), "--concurrency", "2", *extra]
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True,
                                            env=child_env({"AUDITOR_BROKER_PASSWORD": PASSWORD, **(env or {})}))

    def wait_ready(self, timeout: float = 30) -> Worker:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited: {self.log.read_text()}")
            if b"ready." in self.log.read_bytes():
                return self
            time.sleep(0.1)
        raise RuntimeError(f"the worker did not start: {self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL, as a dying machine would: no warm shutdown, no acknowledgement."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def temp_root(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


class ZoneSshd(SshdServer):
    """An sshd listening on 127.0.0.1 inside a zone's namespace: nothing outside that zone can reach it."""

    def __init__(self, root: Path, key: Path, zone: Zone) -> None:
        super().__init__(root, HARDENED, key, launcher=zone.launcher)
        self.zone = zone

    def start(self) -> ZoneSshd:
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        with open(self.root / "sshd.log", "wb") as log:
            self.process = subprocess.Popen([*self.launcher, SSHD, "-D", "-e", "-f", str(self.config)],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                            start_new_session=True)
        probe = (f"import socket; s = socket.create_connection(('127.0.0.1', {self.port}), timeout=1); "
                 "assert s.recv(4) == b'SSH-'")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.root / 'sshd.log').read_text()}")
            if subprocess.run([*self.launcher, sys.executable, "-c", probe], capture_output=True).returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError(f"sshd did not listen on {self.port} in {self.zone.name}")


def recorded_fleet(dest: Path, copies: int = 1) -> list[Target]:
    """One run folder holding every recorded host of tests/fixtures/hosts `copies` times, each copy a target of
    its own (<case>-<n>): what a worker answers from with --answer-from. Returns the targets, as recorded."""
    from auditor.files import dump_json, sha256_bytes
    from auditor.transports.records import EVIDENCE_DIR, EVIDENCE_INDEX

    facts: list[dict[str, object]] = []
    targets: list[Target] = []
    for case in sorted(p for p in HOSTS.iterdir() if (p / EVIDENCE_INDEX).is_file()):
        recorded = read_results(case).targets
        index = json.loads((case / EVIDENCE_INDEX).read_text())["facts"]
        for original in recorded:
            for n in range(copies):
                name = f"{case.name}-{n}"
                targets.append(dataclasses.replace(original.target, name=name))
                folder = dest / EVIDENCE_DIR / name
                folder.mkdir(parents=True)
                for fact in index:
                    if fact["target"] != original.target.name:
                        continue
                    record = json.loads((case / fact["path"]).read_text())
                    data = dump_json({**record, "target": name})
                    file = Path(fact["path"]).name
                    (folder / file).write_bytes(data)
                    facts.append({**fact, "target": name, "path": f"{EVIDENCE_DIR}/{name}/{file}",
                                  "sha256": sha256_bytes(data)})
    (dest / EVIDENCE_INDEX).write_bytes(dump_json({"schema_version": 1, "facts": facts}))
    return targets


def tls_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA), valid from a year before to two years after the
    real clock."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from tests.conftest import real_epoch

    now = dt.datetime.fromtimestamp(real_epoch(), dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "redis.auditor.test")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=365))
            .not_valid_after(now + dt.timedelta(days=730))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    (folder / "redis.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "redis.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    (folder / "redis.key").chmod(0o600)
    return folder / "redis.crt", folder / "redis.key"
