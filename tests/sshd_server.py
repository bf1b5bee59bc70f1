"""Real OpenSSH servers on 127.0.0.1 for the SSH tests and the benchmark: own config, host keys and port.

    from tests.sshd_server import SshdServer, hardened_sshd, weak_sshd, client_key   # pytest fixtures

Each server runs `/usr/sbin/sshd -D -e -f <config>` from a temporary directory with its own host keys
and an authorized key for the current user (generated with ssh-keygen). Root login stays possible with
a key (PermitRootLogin prohibit-password) because CI runs the tests as root; SSH-0030 fails for it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import psutil
import pytest

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")

HARDENED = """\
Ciphers aes256-gcm@openssh.com,aes256-ctr
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512
HostKeyAlgorithms ssh-ed25519
PubkeyAcceptedAlgorithms ssh-ed25519,rsa-sha2-512,rsa-sha2-256
"""
WEAK = """\
Ciphers aes128-ctr,aes256-ctr,aes128-cbc,3des-cbc
MACs hmac-sha1,hmac-md5,hmac-sha2-256
KexAlgorithms diffie-hellman-group14-sha1,diffie-hellman-group1-sha1,curve25519-sha256@libssh.org,\
diffie-hellman-group14-sha256
HostKeyAlgorithms ssh-rsa,rsa-sha2-256,ssh-ed25519
PubkeyAcceptedAlgorithms +ssh-rsa
MaxAuthTries 6
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def keygen(path: Path, kind: str = "ed25519", passphrase: str = "", bits: int = 0) -> Path:
    size = ["-b", str(bits)] if bits else []
    subprocess.run(["ssh-keygen", "-q", "-t", kind, *size, "-N", passphrase, "-C", "auditor-test", "-f", str(path)],
                   check=True, capture_output=True)
    return path


class SshdServer:
    """One sshd on 127.0.0.1:port; `known_hosts` holds its host keys, `client_key` may log in.

    `first`: config lines put before the harness's own, so they win (sshd takes a keyword's first value), e.g.
    "PasswordAuthentication yes"; `host_keys`: the host key types and sizes (default Ed25519 and RSA).
    """

    def __init__(self, root: Path, algorithms: str, client_key: Path, extra: str = "",
                 authorized: dict[str, Path] | None = None, launcher: Sequence[str] = (), first: str = "",
                 host_keys: Sequence[tuple[str, int]] = (("ed25519", 0), ("rsa", 0))) -> None:
        self.root = root
        self.launcher = list(launcher)  # a command prefix that sshd runs under (the benchmark's namespace)
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        self.host_keys = [keygen(root / f"host_{kind}", kind, bits=bits) for kind, bits in host_keys]
        keys_dir = root / "authorized"
        keys_dir.mkdir()
        user = _current_user()
        for name, key in {user: client_key, **(authorized or {})}.items():
            (keys_dir / name).write_text(Path(f"{key}.pub").read_text())
        self.config = root / "sshd_config"
        self.config.write_text(
            first + f"Port {self.port}\nListenAddress 127.0.0.1\n"
            + "".join(f"HostKey {k}\n" for k in self.host_keys)
            + f"PidFile {root / 'sshd.pid'}\nAuthorizedKeysFile {keys_dir}/%u\nStrictModes no\nUsePAM no\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PermitEmptyPasswords no\nAllowTcpForwarding yes\nMaxSessions 10\nMaxStartups 200:30:400\n"
            "LogLevel ERROR\nSubsystem sftp internal-sftp\n" + extra + algorithms
            + ("" if "MaxAuthTries" in algorithms + extra else "MaxAuthTries 4\n"))
        self.known_hosts = root / "known_hosts"
        self.known_hosts.write_text("".join(f"[127.0.0.1]:{self.port} {_public(k)}\n" for k in self.host_keys))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> SshdServer:
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        with open(self.root / "sshd.log", "wb") as log:
            self.process = subprocess.Popen([*self.launcher, SSHD, "-D", "-e", "-f", str(self.config)],
                                            stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.root / 'sshd.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    if sock.recv(4).startswith(b"SSH-"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sshd did not listen on {self.port}")

    def kill_all(self) -> None:
        """Stop the server and every session process it forked (a target that dies mid-scan)."""
        if self.process is not None and self.process.poll() is None:
            # Each connection's sshd calls setsid(), so the process group alone would miss the sessions.
            children = self._descendants()
            with contextlib.suppress(ProcessLookupError):  # another thread's kill_all got there first
                os.killpg(self.process.pid, signal.SIGKILL)
            for child in children:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            self.process.wait(timeout=5)

    def _descendants(self) -> list[psutil.Process]:
        assert self.process is not None
        for _ in range(10):
            try:
                return list(psutil.Process(self.process.pid).children(recursive=True))
            except psutil.NoSuchProcess:  # a short-lived session process ended while the tree was walked
                continue
        return []

    def stop(self) -> None:
        self.kill_all()

    def inventory_entry(self, name: str, key: Path, **extra: object) -> str:
        options = {"name": name, "kind": "ssh", "host": "127.0.0.1", "port": self.port, "user": _current_user(),
                   "identity_file": str(key), "known_hosts": str(self.known_hosts), "ssh_config": "none", **extra}
        return "  - {" + ", ".join(f"{k}: {_yaml(v)}" for k, v in options.items()) + "}\n"


def _yaml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int) else f"'{value}'"


def _public(private: Path) -> str:
    return " ".join(Path(f"{private}.pub").read_text().split()[:2])


def _current_user() -> str:
    import getpass

    return getpass.getuser()


def require_root(what: str) -> None:
    """Creating accounts and sudo rules needs root: without it the test fails (never skips), saying why."""
    if os.geteuid() != 0:
        pytest.fail(f"{what} needs root: run the suite as root, as `make test` and CI do")


@contextlib.contextmanager
def hardened_and_lax(prefix: str, hardened_extra: str, lax_extra: str,
                     key_mode: int = 0o600) -> Iterator[tuple[SshdServer, SshdServer, Path]]:
    """Two sshd on one host sharing a client key: the hardened algorithms with each its own extra lines."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)  # an account without root reads the configs too
    key = keygen(folder / "client")
    key.chmod(key_mode)
    hardened = SshdServer(folder / "hardened", HARDENED, key, extra=hardened_extra)
    lax = SshdServer(folder / "lax", HARDENED, key, extra=lax_extra)
    try:
        hardened.start()
        lax.start()
        yield hardened, lax, key
    finally:
        hardened.stop()
        lax.stop()
        shutil.rmtree(folder, ignore_errors=True)


def available() -> bool:
    return Path(SSHD).is_file() and shutil.which("ssh-keygen") is not None


@pytest.fixture(scope="session")
def ssh_root() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="auditor-sshd-"))
    folder.chmod(0o755)  # sshd reads authorized keys as the logging-in user, who may not be root
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def client_key(ssh_root: Path) -> Path:
    return keygen(ssh_root / "client_ed25519")


@pytest.fixture(scope="session")
def hardened_sshd(ssh_root: Path, client_key: Path) -> Iterator[SshdServer]:
    server = SshdServer(ssh_root / "hardened", HARDENED, client_key).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def weak_sshd(ssh_root: Path, client_key: Path) -> Iterator[SshdServer]:
    server = SshdServer(ssh_root / "weak", WEAK, client_key).start()
    yield server
    server.stop()
