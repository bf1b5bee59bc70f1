"""`auditor scan` over SSH against two real sshd on one host (a hardened one with a Match block that lets root in
from one network, a lax one): every SSH-00xx finding names the daemon it describes, the scanned one first; and an
audit account without root judges SSH-0010..0030 from the files, as sshd itself does."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import sshd_server
from tests.conftest import load_results, run_cli

pytestmark = pytest.mark.ssh

ROOT_FROM_A_NETWORK = ("Match Address 10.40.0.0/16\n  PermitRootLogin yes\n  PasswordAuthentication yes\n"
                       "Match all\n")
# MaxAuthTries 6, not 0: the scan itself must still log in.
LAX = "X11Forwarding yes\nPermitUserEnvironment yes\nLoginGraceTime 0\nMaxAuthTries 6\n"
CHECKS = ("SSH-0010", "SSH-0020", "SSH-0030", "SSH-0040", "SSH-0050", "SSH-0060", "SSH-0070")


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[sshd_server.SshdServer, sshd_server.SshdServer, Path]]:
    sshd_server.require_root("two sshd and an audit account")
    # The key readable by all: the scanner reads it, and the audit account's own login uses it too.
    with sshd_server.hardened_and_lax("auditor-sshd-scan-", ROOT_FROM_A_NETWORK, LAX, key_mode=0o644) as servers:
        yield servers


def _scan(tmp_path: Path, inventory: str) -> list[dict]:
    (tmp_path / "inv.yaml").write_text("targets:\n" + inventory)
    run = run_cli("scan", "--inventory", str(tmp_path / "inv.yaml"), "--out", str(tmp_path / "run"), "--format",
                  "none", "--no-history", "--no-sign", "--quiet", *(a for c in CHECKS for a in ("--check", c)))
    assert run.returncode in (0, 1), run.stderr
    return list(load_results(tmp_path / "run")["findings"])


def _by(findings: list[dict], target: str, check: str) -> list[dict]:
    return [f for f in findings if f["target"] == target and f["check_id"] == check]


def test_a_scan_of_each_daemon_describes_the_daemon_it_names(servers, tmp_path):
    # Given two sshd on one host, each scanned as a target of its own (over SSH, as root)
    hardened, lax, key = servers
    findings = _scan(tmp_path, hardened.inventory_entry("hardened", key) + lax.inventory_entry("lax", key))
    # Then for each target, each SSH check's first finding is the scanned daemon, named by its port
    for target, server in (("hardened", hardened), ("lax", lax)):
        for check in CHECKS:
            first = _by(findings, target, check)[0]
            assert first["resource"] == f"port {server.port}", (target, check, first)
    # And the findings describe that daemon: the lax one's settings fail there and nowhere else
    lax_forwarding = _by(findings, "lax", "SSH-0040")[0]
    assert lax_forwarding["status"] == "fail" and "X11Forwarding is yes" in lax_forwarding["message"]
    hardened_forwarding = _by(findings, "hardened", "SSH-0040")[0]
    assert "X11Forwarding" not in hardened_forwarding["message"]
    assert "MaxAuthTries is 6 (1 to 4 expected)" in _by(findings, "lax", "SSH-0030")[0]["message"]
    # And the hardened one's Match block fails SSH-0030 with its condition named
    logins = _by(findings, "hardened", "SSH-0030")[0]
    assert logins["status"] == "fail" and "`Match Address 10.40.0.0/16`" in logins["message"]
    assert "PermitRootLogin is yes" in logins["message"] and "MaxAuthTries" not in logins["message"]


def _account(server: sshd_server.SshdServer, key: Path) -> Iterator[str]:
    name = f"aud{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "-M", "-d", "/tmp", "-s", "/bin/sh", name], check=True)
    subprocess.run(["usermod", "-p", "*", name], check=True)  # no password, but not locked (sshd refuses "!")
    (server.root / "authorized" / name).write_text(Path(f"{key}.pub").read_text())
    try:
        yield name
    finally:
        for _ in range(50):  # userdel refuses while the account's session processes still end
            if subprocess.run(["userdel", name], capture_output=True, check=False).returncode != 8:
                break
            subprocess.run(["pkill", "-KILL", "-u", name], check=False)
            time.sleep(0.1)


@pytest.fixture
def audit_account(servers) -> Iterator[str]:
    hardened, _, key = servers
    yield from _account(hardened, key)


def test_an_audit_account_without_root_judges_the_config_from_the_files(servers, audit_account, tmp_path):
    # Given the hardened daemon scanned as root, and again by an account without root or sudo
    hardened, lax, key = servers
    findings = _scan(tmp_path, hardened.inventory_entry("as-root", key)
                     + hardened.inventory_entry("no-root", key, user=audit_account))
    for check in ("SSH-0010", "SSH-0020", "SSH-0030"):
        as_root = {f["resource"]: f for f in _by(findings, "as-root", check)}
        without = {f["resource"]: f for f in _by(findings, "no-root", check)}
        # Then it is judged, not skipped for want of root, and says it came from the files
        for resource in (f"port {hardened.port}", f"port {lax.port}"):
            mine = without[resource]
            assert mine["status"] != "skipped" and "Derived from the config files" in mine["message"]
            # And its verdict and what it saw are what sshd itself gave the root scan
            assert mine["status"] == as_root[resource]["status"], (check, resource)
            observed = {k: v for k, v in mine["observed"].items() if k not in ("source", "notes")}
            assert observed == {k: v for k, v in as_root[resource]["observed"].items() if k not in ("source", "notes")}
    logins = next(f for f in _by(findings, "no-root", "SSH-0030") if f["resource"] == f"port {hardened.port}")
    assert "`Match Address 10.40.0.0/16`" in logins["message"]


def test_a_config_changed_after_sshd_started_is_not_what_runs_and_ssh_0120_says_so(servers, tmp_path):
    # Given a daemon started with passwords and CBC on, whose file is then changed to turn both off without a
    # reload (sshd reads its file when it starts or reloads), beside the hardened daemon, left as it started
    hardened, _, key = servers
    stale = sshd_server.SshdServer(tmp_path / "stale", "Ciphers aes256-ctr,aes128-cbc\n", key,
                                   first="PasswordAuthentication yes\n")
    stale.start()
    try:
        stale.config.write_text(stale.config.read_text().replace("PasswordAuthentication yes", "PasswordAuthentication"
                                                                 " no").replace(",aes128-cbc", ""))
        (tmp_path / "inv.yaml").write_text("targets:\n" + stale.inventory_entry("stale", key)
                                           + hardened.inventory_entry("hardened", key))
        run = run_cli("scan", "--inventory", str(tmp_path / "inv.yaml"), "--out", str(tmp_path / "run"), "--format",
                      "none", "--no-history", "--no-sign", "--quiet", "--check", "SSH-0120", "--check", "SSH-0010")
        assert run.returncode in (0, 1), run.stderr
    finally:
        stale.stop()
    findings = list(load_results(tmp_path / "run")["findings"])
    # Then the judged file passes SSH-0010 (it says AES-256 only), but SSH-0120 fails: the daemon still offers
    # CBC and password logins, as it started
    assert _by(findings, "stale", "SSH-0010")[0]["status"] == "pass"
    [verdict] = _by(findings, "stale", "SSH-0120")
    assert verdict["status"] == "fail" and verdict["resource"] == f"port {stale.port}"
    assert "it offers ciphers aes256-ctr, aes128-cbc, its configuration sets aes256-ctr" in verdict["message"]
    assert "it offers password logins" in verdict["message"] and "(PasswordAuthentication no)" in verdict["message"]
    assert "was not reloaded" in verdict["message"]
    # And the daemon that runs what its file says passes (its algorithms: its Match block may turn passwords on for
    # the scanner's own address, so its authentication methods prove nothing either way)
    [unchanged] = _by(findings, "hardened", "SSH-0120")
    assert unchanged["status"] == "pass" and "(algorithms) is what its configuration sets" in unchanged["message"]



def test_passwords_turned_on_in_the_file_but_not_reloaded_fail_ssh_0120(tmp_path):
    # Given a daemon started with passwords off, whose file then turns them on without a reload
    sshd_server.require_root("sshd -T")
    key = sshd_server.keygen(tmp_path / "client")
    server = sshd_server.SshdServer(tmp_path / "unreloaded", sshd_server.HARDENED, key)
    server.start()
    try:
        server.config.write_text("PasswordAuthentication yes\n" + server.config.read_text())  # sshd: first wins
        (tmp_path / "inv.yaml").write_text("targets:\n" + server.inventory_entry("unreloaded", key))
        run = run_cli("scan", "--inventory", str(tmp_path / "inv.yaml"), "--out", str(tmp_path / "run"), "--format",
                      "none", "--no-history", "--no-sign", "--quiet", "--check", "SSH-0120")
        assert run.returncode in (0, 1), run.stderr
    finally:
        server.stop()
    # Then SSH-0120 fails: the file says yes, the daemon still offers publickey only, as it started
    [verdict] = _by(list(load_results(tmp_path / "run")["findings"]), "unreloaded", "SSH-0120")
    assert verdict["status"] == "fail" and verdict["resource"] == f"port {server.port}", verdict
    assert "it does not offer password logins" in verdict["message"]
    assert "(PasswordAuthentication yes)" in verdict["message"] and "was not reloaded" in verdict["message"]


def test_a_block_for_another_local_port_changes_nothing_as_root_or_from_the_files(servers, tmp_path):
    # Given a daemon with a block for a local port it does not listen on, that would let root in (sshd -T refuses
    # such a config unless the connection names a local port)
    _, _, key = servers
    folder = Path(tempfile.mkdtemp(prefix="auditor-sshd-lport-"))
    folder.chmod(0o755)  # the account without root reads the config and its authorized key there
    server = sshd_server.SshdServer(folder / "d", sshd_server.HARDENED, key)
    server.config.write_text(server.config.read_text() + "Match LocalPort 2299\n  PermitRootLogin yes\n")
    (folder / "d").chmod(0o755)
    server.start()
    try:
        for account in _account(server, key):
            # When it is scanned as root and by an account without root or sudo
            findings = _scan(tmp_path, server.inventory_entry("as-root", key)
                             + server.inventory_entry("no-root", key, user=account))
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    # Then both judge the daemon (not "could not be judged"), and neither counts the block
    for target in ("as-root", "no-root"):
        [logins] = [f for f in _by(findings, target, "SSH-0030") if f["resource"] == f"port {server.port}"]
        assert "could not be judged" not in logins["message"] and "2299" not in logins["message"], logins
        assert "PermitRootLogin is prohibit-password" in logins["message"]
