"""How the SSH transport logs in, against real OpenSSH servers: an encrypted key with its passphrase from the
environment, ssh-agent, a password from the environment, and ~/.ssh/config (HostName, Port, User,
IdentityFile, ProxyCommand), which is read only when it is as trusted as the scanning account."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.bundle.evidence import EvidenceStore
from auditor.clock import FixedClock
from auditor.errors import AuthenticationError, InputError
from auditor.models import Target, TargetKind
from auditor.pipeline import load_checks
from auditor.plan import Selection
from auditor.profile import load_profile
from auditor.runner import ScanOptions, run_scan
from auditor.transports import environment
from auditor.transports.base import cmd
from auditor.transports.ssh import SshTransport
from tests import sshd_server
from tests.conftest import run_cli
from tests.sshd_server import HARDENED, SshdServer, keygen

client_key, hardened_sshd, ssh_root = sshd_server.client_key, sshd_server.hardened_sshd, sshd_server.ssh_root

pytestmark = pytest.mark.ssh


def _target(server: SshdServer, **options: object) -> Target:
    base = {"host": "127.0.0.1", "port": server.port, "known_hosts": str(server.known_hosts), "ssh_config": "none"}
    return Target("t", TargetKind.SSH, options={**base, **options})


def _logs_in(transport: SshTransport) -> None:
    try:
        assert transport.run(cmd("echo", "in")).stdout == "in\n"
    finally:
        transport.close()


def _authorize(server: SshdServer, key: Path, user: str | None = None) -> None:
    """Let `key` log in to `server` too (as the current user, or `user`)."""
    keys = server.root / "authorized" / (user or sshd_server._current_user())
    keys.write_text(keys.read_text() + Path(f"{key}.pub").read_text() if keys.exists()
                    else Path(f"{key}.pub").read_text())


def test_an_encrypted_key_opens_with_the_passphrase_from_the_named_variable(hardened_sshd, tmp_path, monkeypatch):
    secret = secrets.token_hex(8)
    key = keygen(tmp_path / "locked", passphrase=secret)
    _authorize(hardened_sshd, key)
    monkeypatch.setenv("AUDIT_KEY_PASSPHRASE", secret)
    _logs_in(SshTransport(_target(hardened_sshd, identity_file=str(key), passphrase_env="AUDIT_KEY_PASSPHRASE")))


def test_an_encrypted_key_without_its_passphrase_says_how_to_give_it(hardened_sshd, tmp_path, monkeypatch):
    key = keygen(tmp_path / "locked", passphrase="not given")
    _authorize(hardened_sshd, key)
    monkeypatch.delenv("AUDIT_KEY_PASSPHRASE", raising=False)
    with pytest.raises(AuthenticationError, match="encrypted and no passphrase is available; export AUDIT_KEY"):
        SshTransport(_target(hardened_sshd, identity_file=str(key), passphrase_env="AUDIT_KEY_PASSPHRASE"))
    monkeypatch.setenv("AUDIT_KEY_PASSPHRASE", "wrong")
    with pytest.raises(AuthenticationError, match="could not be decrypted"):
        SshTransport(_target(hardened_sshd, identity_file=str(key), passphrase_env="AUDIT_KEY_PASSPHRASE"))


def test_an_identity_file_that_is_no_private_key_says_so_not_a_python_class_name(hardened_sshd, tmp_path):
    # Given an identity file that is not a private key (a PuTTY key, a certificate, a note saved under that name)
    not_a_key = tmp_path / "id_ed25519"
    not_a_key.write_text("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n")
    not_a_key.chmod(0o600)
    # Then the refusal says what is wrong with the file, in words a user acts on, not "(ValueError)"
    with pytest.raises(AuthenticationError) as refused:
        SshTransport(_target(hardened_sshd, identity_file=str(not_a_key)))
    assert str(refused.value) == (f"t: key file {not_a_key} is not a private key auditor can read (OpenSSH or PEM "
                                  "format; convert a PuTTY .ppk key with puttygen)")


def test_a_key_held_by_ssh_agent_logs_in(hardened_sshd, tmp_path, monkeypatch):
    key = keygen(tmp_path / "agent_key")
    _authorize(hardened_sshd, key)
    socket_path = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket_path)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        monkeypatch.setenv("SSH_AUTH_SOCK", str(socket_path))
        for _ in range(50):
            if subprocess.run(["ssh-add", str(key)], capture_output=True, check=False).returncode == 0:
                break
            subprocess.run(["sleep", "0.1"], check=True)
        # No identity_file: the agent's key comes first (the default ~/.ssh/id_* keys are tried after it).
        transport = SshTransport(_target(hardened_sshd))
        assert transport.login == "ssh-agent key"
        _logs_in(transport)
    finally:
        agent.terminate()
        agent.wait(timeout=5)


@pytest.fixture
def password_server(ssh_root, client_key) -> Iterator[tuple[SshdServer, str, str]]:
    """A server that takes passwords from one temporary account: (server, account, its password)."""
    sshd_server.require_root("creating an account")
    name, password = f"aud{uuid.uuid4().hex[:8]}", secrets.token_urlsafe(12)
    # Match blocks must come last in sshd_config, after the algorithm lines.
    server = SshdServer(ssh_root / f"password-{name}", HARDENED + f"Match User {name}\n  PasswordAuthentication yes\n",
                        client_key).start()
    subprocess.run(["useradd", "-M", "-d", "/tmp", "-s", "/bin/sh", name], check=True)
    subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
    try:
        yield server, name, password
    finally:
        server.stop()
        subprocess.run(["userdel", name], capture_output=True, check=False)


def test_a_password_comes_from_the_named_variable_and_is_never_written(password_server, client_key, tmp_path,
                                                                       monkeypatch):
    server, name, password = password_server
    stranger = keygen(tmp_path / "stranger")  # a key the server refuses, so the password is what logs in
    monkeypatch.setenv("AUDIT_PASSWORD", password)
    transport = SshTransport(_target(server, user=name, identity_file=str(stranger), password_env="AUDIT_PASSWORD"))
    assert transport.login == "password"
    _logs_in(transport)
    # Through the CLI: the run folder and the audit log never hold the password.
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("targets:\n" + server.inventory_entry("pw", stranger, user=name,
                                                               password_env="AUDIT_PASSWORD"))
    result = run_cli("--audit-log", str(tmp_path / "audit.log"), "scan", "--inventory", str(inventory),
                     "--out", str(tmp_path / "run"), "--quiet", "--format", "html", "--check", "SSH-0030",
                     env={"AUDIT_PASSWORD": password})
    assert result.returncode in (0, 1), result.stderr
    written = [p for p in [*(tmp_path / "run").rglob("*"), tmp_path / "audit.log"] if p.is_file()]
    assert written and not [p for p in written if password.encode() in p.read_bytes()]
    assert password not in result.stdout + result.stderr


def test_a_missing_password_variable_is_named(password_server, tmp_path, monkeypatch):
    server, name, _ = password_server
    monkeypatch.delenv("AUDIT_PASSWORD", raising=False)
    with pytest.raises(AuthenticationError, match=r"AUDIT_PASSWORD .* is not set"):
        SshTransport(_target(server, user=name, identity_file=str(keygen(tmp_path / "stranger")),
                             password_env="AUDIT_PASSWORD"))


def _config(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_ssh_config_gives_hostname_port_user_and_identity_file(hardened_sshd, client_key, tmp_path):
    config = _config(tmp_path / "config", f"Host db-1\n  HostName 127.0.0.1\n  Port {hardened_sshd.port}\n"
                     f"  User {sshd_server._current_user()}\n  IdentityFile {client_key}\n")
    target = Target("db-1", TargetKind.SSH, options={"host": "db-1", "ssh_config": str(config),
                                                     "known_hosts": str(hardened_sshd.known_hosts)})
    _logs_in(SshTransport(target))


def _behind_a_proxy_command(sshd, client_key, tmp_path, **options: str) -> Target:
    """A target reached through a ProxyCommand that stands in for `nc %h %p` (copies stdin to a TCP connection
    and back) and writes the names of the variables it was started with to tmp_path/proxy-environment."""
    bridge = tmp_path / "bridge.py"
    bridge.write_text("import os, socket, sys, threading\n"
                      f"open({str(tmp_path / 'proxy-environment')!r}, 'w').write('\\n'.join(os.environ))\n"
                      "s = socket.create_connection((sys.argv[1], int(sys.argv[2])))\n"
                      "def up():\n"
                      "    while data := sys.stdin.buffer.read1(65536):\n"
                      "        s.sendall(data)\n"
                      "threading.Thread(target=up, daemon=True).start()\n"
                      "while data := s.recv(65536):\n"
                      "    sys.stdout.buffer.write(data); sys.stdout.buffer.flush()\n")
    config = _config(tmp_path / "config", f"Host behind\n  HostName 127.0.0.1\n  Port {sshd.port}\n"
                     f"  IdentityFile {client_key}\n  ProxyCommand {sys.executable} {bridge} %h %p\n")
    return Target("behind", TargetKind.SSH, options={"host": "behind", "ssh_config": str(config),
                                                     "known_hosts": str(sshd.known_hosts), **options})


def test_ssh_config_proxy_command_carries_the_connection(hardened_sshd, client_key, tmp_path):
    _logs_in(SshTransport(_behind_a_proxy_command(hardened_sshd, client_key, tmp_path)))


def test_a_proxy_command_gets_the_environment_but_none_of_auditors_secrets(hardened_sshd, client_key, tmp_path,
                                                                          monkeypatch):
    # Given auditor's key passphrase, a password variable the target names, and what a proxy itself may need
    monkeypatch.setenv("AUDITOR_KEY_PASSPHRASE", "signing-secret")
    monkeypatch.setenv("WEB_SSH_PASSWORD", "login-secret")
    monkeypatch.setenv("AWS_PROFILE", "bastion")
    # When the target is reached through its ssh config's ProxyCommand
    _logs_in(SshTransport(_behind_a_proxy_command(hardened_sshd, client_key, tmp_path,
                                                  password_env="WEB_SSH_PASSWORD")))
    # Then the proxy saw the environment a ssh would give it, without auditor's secrets
    seen = set((tmp_path / "proxy-environment").read_text().split())
    assert "AWS_PROFILE" in seen and "PATH" in seen
    assert not seen & {"AUDITOR_KEY_PASSPHRASE", "WEB_SSH_PASSWORD"}


def test_a_proxy_command_never_sees_another_targets_password(hardened_sshd, client_key, tmp_path, monkeypatch):
    # Given a run of two targets: one behind a ProxyCommand, the other with its password in DB_SSH_PASSWORD
    monkeypatch.setenv("DB_SSH_PASSWORD", "the-other-targets-secret")
    monkeypatch.setattr(environment, "_HELD_IN_TRUST", set())
    behind = _behind_a_proxy_command(hardened_sshd, client_key, tmp_path)
    other = Target("db-1", TargetKind.SSH, options={"host": "127.0.0.1", "port": 1, "auth": "password",
                                                    "password_env": "DB_SSH_PASSWORD", "connect_timeout": 1})
    # When the runner scans both (the proxied one logs in; the other's port is closed)
    profile = load_profile()
    result = run_scan("run-1", [behind, other], load_checks(profile), profile, EvidenceStore(tmp_path / "run"),
                      ScanOptions(selection=Selection(only=frozenset({"LOG-0040"}))),
                      clock=FixedClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC)))
    assert not result.targets[0].connection_error, result.targets[0].connection_error
    # Then the proxy ran without the other target's password variable
    seen = set((tmp_path / "proxy-environment").read_text().split())
    assert "PATH" in seen and "DB_SSH_PASSWORD" not in seen


def test_an_ssh_config_others_may_write_is_not_read(hardened_sshd, tmp_path):
    # `Match exec` runs commands: a file someone else could edit is refused, as OpenSSH refuses it.
    config = _config(tmp_path / "config", f"Host db-1\n  HostName 127.0.0.1\n  Port {hardened_sshd.port}\n", 0o666)
    target = Target("db-1", TargetKind.SSH, options={"host": "db-1", "ssh_config": str(config)})
    with pytest.raises(InputError, match="writable by group or others"):
        SshTransport(target)


def test_the_default_keys_are_found_when_nothing_else_is_named(hardened_sshd, client_key, tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    shutil.copy(client_key, home / ".ssh" / "id_ed25519")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    transport = SshTransport(_target(hardened_sshd))
    assert transport.login == f"key {home / '.ssh' / 'id_ed25519'}"
    _logs_in(transport)


def test_a_proxy_command_that_cannot_start_is_tried_once_and_named(hardened_sshd, client_key, tmp_path, monkeypatch):
    # Given a target whose ssh config's ProxyCommand names a program that is not installed
    from auditor.errors import NoTcpConnection
    from auditor.transports import ssh

    started: list[str] = []

    class Counted(ssh._ProxyCommand):  # the real ProxyCommand, counted
        def __init__(self, command_line: str, env: dict[str, str]) -> None:
            started.append(command_line)
            super().__init__(command_line, env)

    monkeypatch.setattr(ssh, "_ProxyCommand", Counted)
    config = _config(tmp_path / "config", f"Host behind\n  HostName 127.0.0.1\n  Port {hardened_sshd.port}\n"
                     f"  IdentityFile {client_key}\n  ProxyCommand {tmp_path}/not-installed %h %p\n")
    target = Target("behind", TargetKind.SSH, options={"host": "behind", "ssh_config": str(config),
                                                       "known_hosts": str(hardened_sshd.known_hosts)})
    # When its login is tried, Then no connection was made, and it says why
    with pytest.raises(NoTcpConnection, match=r"ProxyCommand failed to start"):
        SshTransport(target)
    # And in a scan, the network checks do not start the proxy once more (it can only fail the same way)
    started.clear()
    profile = load_profile()
    result = run_scan("run-1", [target], load_checks(profile), profile, EvidenceStore(tmp_path / "run"),
                      ScanOptions(selection=Selection(only=frozenset({"SSH-0100", "SSH-0030"}))),
                      clock=FixedClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC)))
    (scanned,) = result.targets
    assert len(started) == 1 and "ProxyCommand failed to start" in scanned.connection_error
