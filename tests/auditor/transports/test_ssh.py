"""The SSH transport against real OpenSSH servers on 127.0.0.1: scans, host keys, failures and budgets."""

from __future__ import annotations

import getpass
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.bundle.evidence import EvidenceStore
from auditor.clock import FixedClock
from auditor.collectors import sshd as sshd_collector
from auditor.errors import (
    AuthenticationError,
    ConnectError,
    HostKeyError,
    NoTcpConnection,
    TransportError,
    UnsupportedTarget,
)
from auditor.models import ErrorReason, Status, SystemFacts, Target, TargetKind
from auditor.pipeline import load_checks
from auditor.plan import Selection
from auditor.profile import load_profile
from auditor.runner import ScanOptions, run_scan
from auditor.transports import _ssh_runner as runner
from auditor.transports import open_transport
from auditor.transports.base import MAX_FACT_BYTES, cmd
from auditor.transports.ssh import MAX_CHANNELS, SshTransport
from tests import sshd_server
from tests.conftest import load_results, run_cli
from tests.sshd_server import HARDENED, SshdServer, keygen

# The real-sshd fixtures, registered for this module.
client_key, hardened_sshd, ssh_root, weak_sshd = (sshd_server.client_key, sshd_server.hardened_sshd,
                                                  sshd_server.ssh_root, sshd_server.weak_sshd)

pytestmark = pytest.mark.ssh


def _target(server: SshdServer, key: Path, **options: object) -> Target:
    base = {"host": "127.0.0.1", "port": server.port, "identity_file": str(key),
            "known_hosts": str(server.known_hosts), "ssh_config": "none"}
    return Target("t", TargetKind.SSH, options={**base, **options})


def _scan(*args: str):
    """`auditor scan ARGS` through the real CLI, without rendering reports (only results.json is read)."""
    return run_cli("scan", *args, "--format", "none")


def _statuses(run_dir: Path) -> dict[tuple[str, str], str]:
    return {(f["check_id"], f["resource"]): f["status"] for f in load_results(run_dir)["findings"]}


@pytest.mark.alone
def test_a_scan_over_ssh_finds_what_a_local_scan_finds(hardened_sshd, client_key, tmp_path):
    # Given the same machine reached over SSH (as the current user, with a key) and scanned locally
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("targets:\n" + hardened_sshd.inventory_entry("over-ssh", client_key))
    # When both scans run through the CLI
    remote = _scan("--inventory", str(inventory), "--out", str(tmp_path / "ssh"), "--quiet")
    here_run = _scan("--role", "server", "--location", "datacenter", "--out", str(tmp_path / "local"),
                    "--quiet")
    # Then every host check has the same status; only the network view (SSH-0100, SSH-0110, and SSH-0120, which
    # holds it against the daemon's configuration) differs
    assert remote.returncode in (0, 1) and here_run.returncode in (0, 1), remote.stderr + here_run.stderr
    over_ssh, here = _statuses(tmp_path / "ssh"), _statuses(tmp_path / "local")
    for network_check in ("SSH-0100", "SSH-0110"):
        assert over_ssh.pop((network_check, "")) == "pass" and here.pop((network_check, "")) == "not_applicable"
    assert over_ssh.pop(("SSH-0120", f"port {hardened_sshd.port}")) == "pass"
    assert here.pop(("SSH-0120", "")) == "not_applicable"
    assert over_ssh == here
    (target,) = load_results(tmp_path / "ssh")["targets"]
    assert target["assessed"] and target["system"]["platform"] == "linux"


@pytest.fixture(params=["python-runner", "shell-fallback"])
def batch_mode(request, monkeypatch):
    """Both ways of running a batch: the python3 runner, and /bin/sh channels on a target without python3."""
    if request.param == "shell-fallback":
        monkeypatch.setattr(runner, "LAUNCH", runner.launch(("/nonexistent/python3",)))
    return request.param


def test_commands_keep_output_status_and_stderr_apart_even_with_hostile_output(hardened_sshd, client_key,
                                                                               batch_mode):
    transport = SshTransport(_target(hardened_sshd, client_key))
    try:
        hostile = "printf 'auditor-0 0 0 99 0\\nend\\n\\0\\377'; echo oops >&2; exit 7"
        first, missing, files = (transport.run_many([cmd("sh", "-c", hostile), cmd("no-such-tool")]),
                                 None, transport.read_many(["/etc/hostname", "/nonexistent", "/etc"]))
        hostile_result, missing = first
        assert hostile_result.exit_status == 7 and hostile_result.stderr == "oops\n"
        assert hostile_result.stdout.startswith("auditor-0 0 0 99 0\nend\n")
        assert missing.not_found
        assert files[0].data == Path("/etc/hostname").read_bytes() and not files[1].exists
        assert files[2].error == "is a directory"
        # The runner needs one channel; without python3, the runner's failed channel and up to 4 shells.
        if batch_mode == "python-runner":
            assert transport.channels_opened == 1
        else:
            assert 2 <= transport.channels_opened <= 1 + MAX_CHANNELS
    finally:
        transport.close()


def test_a_hanging_command_times_out_and_huge_output_is_cut(hardened_sshd, client_key, batch_mode):
    transport = SshTransport(_target(hardened_sshd, client_key))
    try:
        started = time.monotonic()
        hang, flood, after = transport.run_many([cmd("sleep", "30", timeout=1),
                                                 cmd("head", "-c", "20000000", "/dev/zero"), cmd("true")])
        assert hang.timed_out and time.monotonic() - started < 8
        assert flood.truncated and len(flood.stdout) == MAX_FACT_BYTES
        assert after.ok
    finally:
        transport.close()


def test_commands_and_files_come_back_together_in_one_batch(hardened_sshd, client_key):
    transport = SshTransport(_target(hardened_sshd, client_key))
    try:
        results, files = transport.fetch([cmd("echo", "a"), cmd("sh", "-c", "exit 3")], ["/etc/hostname"])
        assert [r.stdout for r in results] == ["a\n", ""] and results[1].exit_status == 3
        assert files[0].data == Path("/etc/hostname").read_bytes()
        assert transport.channels_opened == 1
    finally:
        transport.close()


def test_a_runner_killed_on_the_target_fails_that_batch_and_the_next_batch_starts_a_new_one(hardened_sshd,
                                                                                            client_key):
    transport = SshTransport(_target(hardened_sshd, client_key))
    try:
        with pytest.raises(TransportError, match="batch runner on the target stopped"):
            transport.run_many([cmd("sh", "-c", "kill -9 $PPID; sleep 5")])
        assert transport.run(cmd("echo", "again")).stdout == "again\n"
        assert transport.channels_opened == 2
    finally:
        transport.close()


def test_unknown_host_key_is_refused_and_nothing_runs(hardened_sshd, client_key, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(HostKeyError, match=r"unknown host key .* --trust-new-host-keys"):
        SshTransport(_target(hardened_sshd, client_key, known_hosts=str(empty)))


def _host_key_status(server: SshdServer, key: Path, known_hosts: Path) -> str:
    """How the server's host key was judged against `known_hosts` when logging in."""
    transport = SshTransport(_target(server, key, known_hosts=str(known_hosts)))
    try:
        assert transport.host_key is not None
        return transport.host_key.status
    finally:
        transport.close()


def test_hashed_known_hosts_entries_are_understood(hardened_sshd, client_key, tmp_path):
    # Debian's and Ubuntu's ssh client write known_hosts hashed (HashKnownHosts yes): |1|salt|hash key-type key
    hashed = tmp_path / "known_hosts"
    shutil.copy(hardened_sshd.known_hosts, hashed)
    subprocess.run(["ssh-keygen", "-H", "-f", str(hashed)], capture_output=True, check=True)
    assert hashed.read_text().startswith("|1|")
    assert _host_key_status(hardened_sshd, client_key, hashed) == "known"


def test_marker_lines_and_a_bad_line_do_not_hide_the_other_entries(hardened_sshd, client_key, tmp_path):
    ca = keygen(tmp_path / "host_ca")
    mixed = tmp_path / "known_hosts"
    mixed.write_text(f"@cert-authority *.example.org {' '.join(Path(f'{ca}.pub').read_text().split()[:2])}\n"
                     "not a known_hosts line\n" + hardened_sshd.known_hosts.read_text())
    assert _host_key_status(hardened_sshd, client_key, mixed) == "known"


def test_a_revoked_host_key_is_refused_even_when_listed(hardened_sshd, client_key, tmp_path):
    revoked = tmp_path / "known_hosts"
    host_key = " ".join(Path(f"{hardened_sshd.host_keys[0]}.pub").read_text().split()[:2])
    revoked.write_text(hardened_sshd.known_hosts.read_text() + f"@revoked * {host_key}\n")
    with pytest.raises(HostKeyError, match="REVOKED host key"):
        SshTransport(_target(hardened_sshd, client_key, known_hosts=str(revoked)))


def test_changed_host_key_is_refused_loudly(hardened_sshd, client_key, tmp_path):
    other = keygen(tmp_path / "other_host_key")
    changed = tmp_path / "known_hosts"
    changed.write_text(f"[127.0.0.1]:{hardened_sshd.port} {' '.join(Path(f'{other}.pub').read_text().split()[:2])}\n")
    with pytest.raises(HostKeyError, match="HOST KEY CHANGED"):
        SshTransport(_target(hardened_sshd, client_key, known_hosts=str(changed)), trust_new_host_keys=True)


def test_a_changed_host_key_names_the_file_and_line_to_fix_and_the_command_that_fixes_that_file(
        hardened_sshd, client_key, tmp_path):
    # Given a target's own known_hosts (not ~/.ssh/known_hosts) whose second line holds another key for the server
    other = keygen(tmp_path / "other_host_key")
    changed = tmp_path / "known hosts"  # a space: the command must quote it
    name = f"[127.0.0.1]:{hardened_sshd.port}"
    changed.write_text(f"[127.0.0.1]:1 {' '.join(Path(f'{other}.pub').read_text().split()[:2])}\n"
                       f"{name} {' '.join(Path(f'{other}.pub').read_text().split()[:2])}\n")
    with pytest.raises(HostKeyError) as refused:
        SshTransport(_target(hardened_sshd, client_key, known_hosts=str(changed)), trust_new_host_keys=True)
    # Then the refusal names the offending line, as ssh does, and `ssh-keygen -R` is told that file: without -f it
    # edits ~/.ssh/known_hosts and leaves the stale line where the scan reads it
    message = str(refused.value)
    assert f"{changed}:2" in message
    assert f"ssh-keygen -f '{changed}' -R '{name}'" in message


def test_a_changed_key_under_a_hashed_name_is_found_on_its_line(hardened_sshd, client_key, tmp_path):
    # Given known_hosts written by `ssh-keygen -H`: the server's name is hashed on line 2
    other = keygen(tmp_path / "other_host_key")
    name = f"[127.0.0.1]:{hardened_sshd.port}"
    changed = tmp_path / "known_hosts"
    changed.write_text(f"[127.0.0.1]:1 {' '.join(Path(f'{other}.pub').read_text().split()[:2])}\n"
                       f"{name} {' '.join(Path(f'{other}.pub').read_text().split()[:2])}\n")
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(changed)], check=True, capture_output=True)
    with pytest.raises(HostKeyError, match=re.escape(f"({changed}:2) holds")):
        SshTransport(_target(hardened_sshd, client_key, known_hosts=str(changed)), trust_new_host_keys=True)


def test_trusting_a_new_host_key_records_its_fingerprint(hardened_sshd, client_key, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("targets:\n" + hardened_sshd.inventory_entry("new-key", client_key, known_hosts=str(empty)))
    # SSH-0030 needs a login (SSH-0100 alone is answered from the network without one).
    result = _scan("--inventory", str(inventory), "--out", str(tmp_path / "r"), "--quiet",
                   "--check", "SSH-0030", "--trust-new-host-keys")
    assert result.returncode in (0, 1), result.stderr
    record = next((tmp_path / "r" / "evidence" / "new-key").glob("cmd-auditor_ssh_hostkey-*.json"))
    expected = subprocess.run(["ssh-keygen", "-lf", f"{hardened_sshd.host_keys[0]}.pub"], capture_output=True,
                              text=True, check=True).stdout.split()[1]
    assert json.loads(json.loads(record.read_text())["stdout"]) | {"sha256": expected} == json.loads(
        json.loads(record.read_text())["stdout"])
    assert json.loads(json.loads(record.read_text())["stdout"])["status"] == "trusted-new"


def test_a_wrong_key_is_an_authentication_error(hardened_sshd, tmp_path):
    stranger = keygen(tmp_path / "stranger")
    with pytest.raises(AuthenticationError, match="refused user"):
        SshTransport(_target(hardened_sshd, stranger))


def _temporary_account(server: SshdServer, client_key: Path, shell: str) -> Iterator[str]:
    """An account that may log in to `server` with `client_key`, removed afterwards (needs root)."""
    name = f"aud{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "-M", "-d", "/tmp", "-s", shell, name], check=True)
    subprocess.run(["usermod", "-p", "*", name], check=True)  # no password, but not locked (sshd refuses "!")
    (server.root / "authorized" / name).write_text(Path(f"{client_key}.pub").read_text())
    try:
        yield name
    finally:
        _remove_account(name)


def _remove_account(name: str) -> None:
    """userdel refuses while the account's session processes still run, and they end a moment after logout."""
    for _ in range(50):
        if subprocess.run(["userdel", name], capture_output=True, check=False).returncode != 8:  # 8: in use
            return
        subprocess.run(["pkill", "-KILL", "-u", name], check=False)
        time.sleep(0.1)
    raise AssertionError(f"test account {name} could not be removed")


@pytest.fixture
def unprivileged_user(hardened_sshd, client_key):
    """A login without sudo rights: a temporary account when the tests run as root, else the current user."""
    if os.geteuid() != 0:
        yield getpass.getuser()
        return
    yield from _temporary_account(hardened_sshd, client_key, "/bin/sh")


@pytest.fixture
def windows_like_user(hardened_sshd, client_key):
    """An account whose login shell refuses `/bin/sh` in the words of cmd.exe, the default shell of Windows'
    OpenSSH server ("'x' is not recognized as an internal or external command, operable program or batch
    file.", CRLF line ends)."""
    sshd_server.require_root("creating an account")
    folder = Path(tempfile.mkdtemp(prefix="auditor-winshell-"))  # /tmp: the account must reach its shell
    folder.chmod(0o755)
    shell = folder / "cmd"
    shell.write_text("#!/bin/sh\n"
                     "printf \"'%s' is not recognized as an internal or external command,\\r\\n\" \"${2%% *}\" >&2\n"
                     "printf 'operable program or batch file.\\r\\n' >&2\nexit 1\n")
    shell.chmod(0o755)
    try:
        yield from _temporary_account(hardened_sshd, client_key, str(shell))
    finally:
        shutil.rmtree(folder)


@pytest.fixture
def chatty_login_user(hardened_sshd, client_key):
    """An account whose login shell prints a banner on stdout before it runs the command, as a ~/.bashrc that
    echoes a greeting does."""
    sshd_server.require_root("creating an account")
    folder = Path(tempfile.mkdtemp(prefix="auditor-chatty-"))  # /tmp: the account must reach its shell
    folder.chmod(0o755)
    shell = folder / "chatty"
    shell.write_text('#!/bin/sh\nprintf "Welcome to db-1\\nauditor-0 0 0 5 0\\n\\n"\nexec /bin/sh -c "$2"\n')
    shell.chmod(0o755)
    try:
        yield from _temporary_account(hardened_sshd, client_key, str(shell))
    finally:
        shutil.rmtree(folder)


def test_a_banner_printed_at_login_does_not_break_the_batch(hardened_sshd, client_key, chatty_login_user,
                                                             batch_mode):
    transport = SshTransport(_target(hardened_sshd, client_key, user=chatty_login_user))
    try:
        first, second = transport.run_many([cmd("echo", "one"), cmd("sh", "-c", "exit 4")])
        assert first.stdout == "one\n" and second.exit_status == 4
        assert transport.run(cmd("echo", "again")).stdout == "again\n"
    finally:
        transport.close()


@pytest.mark.parametrize("closed_before_the_batch", [False, True], ids=["as-usual", "closed-before-the-batch"])
def test_a_forced_command_is_reported_with_what_the_target_said(ssh_root, client_key, monkeypatch,
                                                                closed_before_the_batch):
    if closed_before_the_batch:
        # As on a loaded machine: sshd runs the forced command and closes the channel before the batch goes out.
        # The send then fails, and what the target printed must still be the message.
        from auditor.transports import ssh as ssh_module

        real_exec = ssh_module._exec_without_waiting

        def exec_then_wait_for_the_close(channel, command):
            real_exec(channel, command)
            deadline = time.monotonic() + 10
            while not channel.closed and time.monotonic() < deadline:
                time.sleep(0.01)
            assert channel.closed, "sshd did not close the forced command's channel"

        monkeypatch.setattr(ssh_module, "_exec_without_waiting", exec_then_wait_for_the_close)
    server = SshdServer(ssh_root / f"forced-{uuid.uuid4().hex[:6]}", HARDENED, client_key,
                        extra="ForceCommand internal-sftp\n").start()
    transport = SshTransport(_target(server, client_key))
    try:
        with pytest.raises(TransportError, match=r"stopped .*This service allows sftp connections only"):
            transport.run(cmd("id", "-u"))
    finally:
        transport.close()
        server.stop()


def test_a_login_that_never_starts_the_batch_fails_the_target_once_not_per_command(ssh_root, client_key):
    server = SshdServer(ssh_root / f"stuck-{uuid.uuid4().hex[:6]}", HARDENED, client_key,
                        extra="ForceCommand /bin/sleep 60\n").start()
    transport = SshTransport(_target(server, client_key, total_timeout=3))
    try:
        with pytest.raises(TransportError, match="did not start auditor's runner within 3 s"):
            transport.run(cmd("id", "-u"))
        started = time.monotonic()
        with pytest.raises(TransportError, match="did not start"):
            transport.run(cmd("uname"))
        assert time.monotonic() - started < 0.5
    finally:
        transport.close()
        server.stop()


def test_a_windows_login_shell_is_named_as_unsupported_not_a_lost_connection(hardened_sshd, client_key,
                                                                            windows_like_user):
    transport = SshTransport(_target(hardened_sshd, client_key, user=windows_like_user))
    try:
        with pytest.raises(UnsupportedTarget, match=r"no POSIX shell .* Windows targets over SSH are not supported"):
            transport.run(cmd("id", "-u"))
    finally:
        transport.close()


@pytest.fixture
def sudo_user(hardened_sshd, client_key):
    """An account that may run anything as root with `sudo -n` (a sudoers.d entry, removed afterwards)."""
    sshd_server.require_root("a sudoers rule")
    assert shutil.which("sudo"), "sudo is missing: `make test` installs it"
    for name in _temporary_account(hardened_sshd, client_key, "/bin/sh"):
        rule = Path(f"/etc/sudoers.d/auditor-test-{name}")
        rule.write_text(f"{name} ALL=(root) NOPASSWD: ALL\n")
        rule.chmod(0o440)
        try:
            yield name
        finally:
            rule.unlink()


def test_with_a_sudo_right_root_commands_run_as_root_and_the_rest_as_the_login(hardened_sshd, client_key,
                                                                              sudo_user, batch_mode):
    transport = SshTransport(_target(hardened_sshd, client_key, user=sudo_user, sudo=True))
    try:
        as_root, as_login = transport.run_many([cmd("id", "-u", sudo=True), cmd("id", "-un")])
        assert as_root.stdout == "0\n" and as_login.stdout == f"{sudo_user}\n"
        # `sshd -T` needs root to load the host keys: through sudo it prints this machine's configuration.
        facts = sshd_collector.collect(transport, SystemFacts(None))
        assert facts.installed and facts.lists["ciphers"] and "permitrootlogin" in facts.options
    finally:
        transport.close()


@pytest.mark.alone
def test_a_scan_as_a_sudo_user_finds_what_a_scan_as_root_finds(hardened_sshd, client_key, sudo_user, tmp_path):
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("targets:\n" + hardened_sshd.inventory_entry("as-root", client_key)
                         + hardened_sshd.inventory_entry("as-sudo", client_key, user=sudo_user, sudo=True))
    result = _scan("--inventory", str(inventory), "--out", str(tmp_path / "r"), "--quiet")
    assert result.returncode in (0, 1), result.stderr
    findings = load_results(tmp_path / "r")["findings"]
    # Database servers that other tests of the session leave running come and go between the two targets'
    # scans, so the DB-01xx/02xx host checks are compared by the database tests themselves, not here.
    by_target = {name: {(f["check_id"], f["resource"]): f["status"] for f in findings
                        if f["target"] == name and not f["check_id"].startswith("DB-")}
                 for name in ("as-root", "as-sudo")}
    assert by_target["as-root"] and by_target["as-root"] == by_target["as-sudo"]
    assert "skipped" not in {status for (check, _), status in by_target["as-sudo"].items()
                             if check in ("SSH-0010", "SSH-0030", "LOG-0010")}


def test_without_a_sudo_right_the_root_command_says_so(hardened_sshd, client_key, unprivileged_user):
    # Given an account whose sudo is refused, When sshd's configuration is collected over SSH,
    # Then the refusal is recorded and said, and the configuration is judged from the readable files instead
    transport = SshTransport(_target(hardened_sshd, client_key, user=unprivileged_user, sudo=True))
    try:
        result = transport.run(sshd_collector.SSHD_T)
        assert result.exit_status == 1 and "sudo:" in result.stderr
        facts = sshd_collector.collect(transport, SystemFacts(None))
        assert facts.daemons[0].source == sshd_collector.FROM_FILES and "sudo -n was refused" in facts.note
    finally:
        transport.close()


def test_a_silent_listener_fails_within_the_banner_budget(client_key):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        target = Target("t", TargetKind.SSH, options={"host": "127.0.0.1", "port": silent.getsockname()[1],
                                                       "identity_file": str(client_key), "banner_timeout": 1,
                                                       "ssh_config": "none"})
        started = time.monotonic()
        with pytest.raises(ConnectError, match="no SSH banner within 1 s"):
            SshTransport(target)
        assert time.monotonic() - started < 3


def test_a_server_that_stalls_after_its_banner_fails_within_the_auth_budget(client_key):
    with socket.socket() as stalled:
        stalled.bind(("127.0.0.1", 0))
        stalled.listen(1)

        done = threading.Event()

        def banner_then_silence() -> None:
            peer, _ = stalled.accept()
            with peer:
                peer.sendall(b"SSH-2.0-OpenSSH_9.2p1 stalled\r\n")
                done.wait(5)

        silent = threading.Thread(target=banner_then_silence, daemon=True)
        silent.start()
        target = Target("t", TargetKind.SSH, options={"host": "127.0.0.1", "port": stalled.getsockname()[1],
                                                       "identity_file": str(client_key), "auth_timeout": 1,
                                                       "ssh_config": "none"})
        started = time.monotonic()
        try:
            with pytest.raises(ConnectError, match=r"did not finish within 1 s \(auth_timeout\)"):
                SshTransport(target)
            assert time.monotonic() - started < 3
        finally:
            done.set()
            silent.join(timeout=10)


def test_a_closed_port_is_a_connect_error(client_key):
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    target = Target("t", TargetKind.SSH, options={"host": "127.0.0.1", "port": port, "ssh_config": "none"})
    with pytest.raises(ConnectError, match="refused"):
        SshTransport(target)


def test_a_target_that_dies_mid_scan_is_an_error_not_a_hang(ssh_root, client_key):
    server = SshdServer(ssh_root / f"dying-{uuid.uuid4().hex[:6]}", HARDENED, client_key).start()
    transport = SshTransport(_target(server, client_key))
    try:
        assert transport.run(cmd("true")).ok  # the shells are open and working
        threading.Timer(0.5, server.kill_all).start()
        started = time.monotonic()
        with pytest.raises(ConnectError, match=r"connection was lost|connection is closed"):
            transport.run_many([cmd("sleep", "20", timeout=30)])
        assert time.monotonic() - started < 5
    finally:
        transport.close()
        server.stop()


def test_proxy_jump_through_a_bastion(hardened_sshd, client_key):
    jump = f"{getpass.getuser()}@127.0.0.1:{hardened_sshd.port}"
    transport = SshTransport(_target(hardened_sshd, client_key, proxy_jump=jump))
    try:
        assert transport.run(cmd("echo", "via jump")).stdout == "via jump\n"
    finally:
        transport.close()


def test_targets_behind_one_bastion_share_one_connection_to_it(hardened_sshd, client_key, ssh_root, tmp_path):
    # A bastion that logs each login (LogLevel INFO), in front of the hardened server.
    bastion = SshdServer(ssh_root / f"bastion-{uuid.uuid4().hex[:6]}", HARDENED, client_key)
    bastion.config.write_text(bastion.config.read_text().replace("LogLevel ERROR", "LogLevel INFO"))
    bastion.start()
    try:
        jump = f"{getpass.getuser()}@127.0.0.1:{bastion.port}"
        known = tmp_path / "known_hosts"
        known.write_text(hardened_sshd.known_hosts.read_text() + bastion.known_hosts.read_text())
        inventory = tmp_path / "inv.yaml"
        inventory.write_text("targets:\n" + "".join(
            hardened_sshd.inventory_entry(f"behind-{n}", client_key, proxy_jump=jump, known_hosts=str(known))
            for n in range(6)))
        result = _scan("--inventory", str(inventory), "--out", str(tmp_path / "r"), "--quiet", "--workers", "6",
                       "--check", "SSH-0030", "--check", "SSH-0100")
        assert result.returncode in (0, 1), result.stderr
        assert all(t["assessed"] for t in load_results(tmp_path / "r")["targets"])
        logins = (bastion.root / "sshd.log").read_text().count("Accepted publickey")
        assert logins == 1, f"{logins} logins to the bastion for 6 targets"
    finally:
        bastion.stop()


def test_ansible_inventories_ini_and_yaml_are_scanned(hardened_sshd, client_key, tmp_path):
    ini = tmp_path / "hosts.ini"
    ini.write_text(f"[servers]\nweb-1 ansible_host=127.0.0.1 ansible_port={hardened_sshd.port}\n\n[servers:vars]\n"
                   f"ansible_ssh_private_key_file={client_key}\nauditor_known_hosts={hardened_sshd.known_hosts}\n"
                   "auditor_ssh_config=none\n")
    yaml = tmp_path / "hosts.yaml"
    yaml.write_text("all:\n  children:\n    servers:\n      hosts:\n        web-2:\n"
                    f"          ansible_host: 127.0.0.1\n          ansible_port: {hardened_sshd.port}\n      vars:\n"
                    f"        ansible_ssh_private_key_file: {client_key}\n"
                    f"        auditor_known_hosts: {hardened_sshd.known_hosts}\n        auditor_ssh_config: none\n")
    for inventory, name in ((ini, "web-1"), (yaml, "web-2")):
        out = tmp_path / name
        # SSH-0030 reads `sshd -T`, so the key from the Ansible variables must log in.
        result = _scan("--inventory", str(inventory), "--out", str(out), "--quiet", "--check", "SSH-0100",
                       "--check", "SSH-0030")
        assert result.returncode in (0, 1), result.stderr
        (target,) = load_results(out)["targets"]
        assert target["name"] == name and target["tags"] == ["servers"] and target["assessed"]
        statuses = _statuses(out)
        daemon = next(resource for check, resource in statuses if check == "SSH-0030")  # "port N": the daemon judged
        assert statuses[("SSH-0100", "")] == "pass" and statuses[("SSH-0030", daemon)] in ("pass", "fail")


def test_network_checks_alone_do_not_log_in(hardened_sshd, tmp_path):
    # Given a key the server refuses, When only SSH-0100 is asked for, Then nothing logs in and it still passes
    stranger = keygen(tmp_path / "stranger")
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("targets:\n" + hardened_sshd.inventory_entry("wire-only", stranger))
    result = _scan("--inventory", str(inventory), "--out", str(tmp_path / "r"), "--quiet", "--check", "SSH-0100")
    assert result.returncode == 0, result.stderr
    assert _statuses(tmp_path / "r") == {("SSH-0100", ""): "pass"}


def test_the_wire_view_of_a_weak_server_fails_ssh_0100(weak_sshd, client_key, tmp_path):
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("targets:\n" + weak_sshd.inventory_entry("weak", client_key))
    result = _scan("--inventory", str(inventory), "--out", str(tmp_path / "r"), "--quiet",
                     "--check", "SSH-0100")
    assert result.returncode == 1, result.stderr
    (finding,) = load_results(tmp_path / "r")["findings"]
    assert finding["status"] == "fail"
    for weak in ("aes128-ctr (128-bit AES)", "3des-cbc (CBC mode)", "hmac-md5 (MD5)", "ssh-rsa (RSA with SHA-1"):
        assert weak in finding["message"]


def test_the_network_view_alone_needs_no_login_and_no_paramiko(hardened_sshd, tmp_path):
    # Given auth: none, When the banner and KEXINIT are read in a fresh interpreter
    options = {"host": "127.0.0.1", "port": hardened_sshd.port, "auth": "none", "ssh_config": "none"}
    code = ("import json, sys\n"
            "from auditor.models import Target, TargetKind\n"
            "from auditor.transports import open_transport\n"
            "from auditor.transports.base import cmd\n"
            f"transport = open_transport(Target('t', TargetKind.SSH, options={options!r}))\n"
            "result = transport.run(cmd('auditor:ssh-kexinit'))\n"
            "print(json.dumps([result.exit_status, json.loads(result.stdout)['banner'], 'paramiko' in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False)
    # Then the server's banner is read and paramiko (~0.1 s to import) was never loaded
    status, banner, loaded = json.loads(done.stdout)
    assert status == 0 and banner.startswith("SSH-2.0-OpenSSH") and not loaded, done.stderr


def test_the_network_view_refuses_host_commands_and_reports_a_closed_port():
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    transport = open_transport(Target("t", TargetKind.SSH, options={"host": "127.0.0.1", "port": port,
                                                                    "auth": "none", "ssh_config": "none"}))
    with pytest.raises(UnsupportedTarget, match="not logged in"):
        transport.run(cmd("id", "-u"))
    # A closed port is a connection error (the target is not assessed, as with a login), not a failed probe
    with pytest.raises(ConnectError, match="connection refused"):
        transport.run(cmd("auditor:ssh-kexinit"))


def test_a_port_the_jump_host_cannot_reach_is_no_tcp_connection(hardened_sshd, client_key):
    # Given a target behind a bastion (the hardened server), on a port where nothing listens
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    target = Target("behind", TargetKind.SSH, options={
        "host": "127.0.0.1", "port": port, "identity_file": str(client_key), "ssh_config": "none",
        "known_hosts": str(hardened_sshd.known_hosts),
        "proxy_jump": f"{getpass.getuser()}@127.0.0.1:{hardened_sshd.port}"})
    # When the login is tried, Then the error says TCP did not connect (from the bastion), so that the network
    # checks are not tried the same way again (runner._scan_target)
    with pytest.raises(NoTcpConnection, match=rf"the jump host could not reach 127\.0\.0\.1:{port} "):
        SshTransport(target)


def test_a_login_refused_after_tcp_connected_still_runs_the_network_checks(hardened_sshd, tmp_path):
    # Given a key the server refuses, When SSH-0100 (network) and SSH-0030 (needs a login) are asked for
    stranger = keygen(tmp_path / "stranger")
    profile = load_profile()
    result = run_scan("run-1", [_target(hardened_sshd, stranger)], load_checks(profile), profile,
                      EvidenceStore(tmp_path / "run"), ScanOptions(selection=Selection(only=frozenset(
                          {"SSH-0100", "SSH-0030"}))), clock=FixedClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC)))
    (scanned,) = result.targets
    # Then the network view still judges SSH-0100, and SSH-0030 carries the login's failure
    statuses = {f.check_id: f for f in scanned.findings}
    assert statuses["SSH-0100"].status is Status.PASS
    assert statuses["SSH-0030"].status is Status.ERROR and statuses["SSH-0030"].message.startswith("Not assessed: ")
    assert scanned.error_reason is ErrorReason.AUTH_FAILED
