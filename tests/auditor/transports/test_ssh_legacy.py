"""Modern and legacy SSH servers against real OpenSSH on 127.0.0.1: who is logged into, with or without the
legacy opt-in, and SSH-0100 whatever happens to the login."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.errors import ConnectError, HostKeyError
from auditor.models import Target, TargetKind
from auditor.transports.base import cmd
from auditor.transports.ssh import SshTransport
from tests import sshd_server
from tests.conftest import load_results, run_cli
from tests.sshd_server import SshdServer, keygen

client_key, hardened_sshd, ssh_root = sshd_server.client_key, sshd_server.hardened_sshd, sshd_server.ssh_root

pytestmark = pytest.mark.ssh

# Only the RFC name of curve25519 and only chacha20-poly1305: paramiko 5.1 alone knows neither.
MODERN = ("KexAlgorithms curve25519-sha256\nCiphers chacha20-poly1305@openssh.com\n"
          "MACs hmac-sha2-512-etm@openssh.com\nHostKeyAlgorithms ssh-ed25519\n")
# Only what OpenSSH 9.2 still speaks when asked: SHA-1 kex, ssh-rsa signatures, CBC/3DES, hmac-sha1.
LEGACY = ("KexAlgorithms diffie-hellman-group14-sha1\nCiphers aes128-cbc,3des-cbc\nMACs hmac-sha1\n"
          "HostKeyAlgorithms ssh-rsa\nPubkeyAcceptedAlgorithms +ssh-rsa\n")


@pytest.fixture(scope="module")
def modern_sshd(ssh_root: Path, client_key: Path) -> Iterator[SshdServer]:
    server = SshdServer(ssh_root / "modern", MODERN, client_key).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def legacy_sshd(ssh_root: Path, client_key: Path) -> Iterator[SshdServer]:
    server = SshdServer(ssh_root / "legacy", LEGACY, client_key, first="PasswordAuthentication yes\n",
                        host_keys=(("rsa", 2048),)).start()
    yield server
    server.stop()


def _target(server: SshdServer, key: Path, **options: object) -> Target:
    base = {"host": "127.0.0.1", "port": server.port, "identity_file": str(key),
            "known_hosts": str(server.known_hosts), "ssh_config": "none"}
    return Target("t", TargetKind.SSH, options={**base, **options})


def _scan(tmp_path: Path, entry: str, *args: str) -> tuple[int, dict[str, dict[str, object]], list[dict[str, object]]]:
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("targets:\n" + entry)
    out = tmp_path / "run"
    done = run_cli("scan", "--inventory", str(inventory), "--out", str(out), "--quiet", "--format", "none", *args)
    assert done.returncode in (0, 1, 3), done.stderr
    results = load_results(out)
    return done.returncode, {f["check_id"]: f for f in results["findings"]}, results["targets"]


def test_a_server_limited_to_curve25519_sha256_and_chacha20_is_logged_into_without_opt_in(modern_sshd, client_key):
    # Given a server offering only curve25519-sha256 (the RFC name) and chacha20-poly1305
    transport = SshTransport(_target(modern_sshd, client_key))
    try:
        # When commands run over it (output larger than one packet)
        result = transport.run(cmd("head", "-c", "200000", "/dev/zero"))
        login = json.loads(transport.run(cmd("auditor:ssh-hostkey")).stdout)
    finally:
        transport.close()
    # Then the login used exactly those algorithms, and the bytes came through intact
    assert result.ok and len(result.stdout) == 200000
    assert login["algorithms"]["kex"] == "curve25519-sha256" and login["legacy_ssh"] is False
    assert login["algorithms"]["cipher_out"] == login["algorithms"]["cipher_in"] == "chacha20-poly1305@openssh.com"
    assert login["status"] == "known"


def test_a_legacy_server_is_not_logged_into_without_the_opt_in(legacy_sshd, client_key):
    with pytest.raises(ConnectError, match=r"legacy_ssh: true in the inventory, or --legacy-ssh"):
        SshTransport(_target(legacy_sshd, client_key))


def test_with_the_opt_in_a_legacy_login_still_verifies_the_host_key(legacy_sshd, hardened_sshd, client_key):
    # Given the opt-in but known_hosts of another server, Then the login is refused on the host key
    with pytest.raises(HostKeyError, match="ssh-rsa"):
        SshTransport(_target(legacy_sshd, client_key, legacy_ssh=True, known_hosts=str(hardened_sshd.known_hosts)))


def test_without_the_opt_in_ssh_0100_names_every_weak_algorithm_and_the_rest_is_not_assessed(legacy_sshd,
                                                                                               client_key, tmp_path):
    # Given a legacy server and checks that need a login beside the network checks
    code, findings, (target,) = _scan(tmp_path, legacy_sshd.inventory_entry("legacy", client_key),
                                      "--check", "SSH-0100", "--check", "SSH-0110", "--check", "SSH-0030")
    # Then SSH-0100 fails with each weak algorithm and the key size named, SSH-0110 sees the password
    message = str(findings["SSH-0100"]["message"])
    assert findings["SSH-0100"]["status"] == "fail"
    for weak in ("diffie-hellman-group14-sha1 (SHA-1)", "aes128-cbc (CBC mode)", "3des-cbc (CBC mode)",
                 "hmac-sha1 (SHA-1)", "ssh-rsa (RSA with SHA-1 signatures)", "RSA key of 2048 bits, under 3072"):
        assert weak in message
    assert "audit login" not in message
    assert findings["SSH-0110"]["status"] == "fail" and "password" in str(findings["SSH-0110"]["message"])
    # And the check that needs a login carries why it was not logged into; the target is not fully assessed
    assert findings["SSH-0030"]["status"] == "error" and "legacy_ssh" in str(findings["SSH-0030"]["message"])
    assert not target["assessed"] and code == 3


@pytest.mark.parametrize("opt_in", ["inventory", "flag"])
def test_with_the_opt_in_config_checks_run_and_ssh_0100_says_the_login_was_weak(legacy_sshd, client_key, tmp_path,
                                                                                   opt_in):
    entry = legacy_sshd.inventory_entry("legacy", client_key, **({"legacy_ssh": True} if opt_in == "inventory"
                                                                   else {}))
    flags = ["--legacy-ssh"] if opt_in == "flag" else []
    code, findings, (target,) = _scan(tmp_path, entry, *flags, "--check", "SSH-0100", "--check", "SSH-0030")
    assert code == 1 and target["assessed"] and findings["SSH-0030"]["status"] in ("pass", "fail")
    message = str(findings["SSH-0100"]["message"])
    assert findings["SSH-0100"]["status"] == "fail"
    assert "The audit login itself used weak algorithms (legacy_ssh): kex diffie-hellman-group14-sha1 (SHA-1), " \
           "host key ssh-rsa (RSA with SHA-1 signatures), cipher aes128-cbc (CBC mode)" in message


def test_ssh_0100_exists_when_the_login_fails(hardened_sshd, tmp_path):
    # Given a key the server refuses, and a check that needs a login
    stranger = keygen(tmp_path / "stranger")
    code, findings, (target,) = _scan(tmp_path, hardened_sshd.inventory_entry("refused", stranger),
                                      "--check", "SSH-0100", "--check", "SSH-0030")
    # Then SSH-0100 still judges what the network shows, and SSH-0030 carries the refusal
    assert findings["SSH-0100"]["status"] == "pass"
    assert findings["SSH-0030"]["status"] == "error" and "refused" in str(findings["SSH-0030"]["message"])
    assert findings["SSH-0030"]["error_reason"] == "auth_failed" and not target["assessed"] and code == 3


def test_an_unreachable_target_is_still_one_connection_error_without_findings(client_key, tmp_path):
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    entry = (f"  - {{name: gone, kind: ssh, host: 127.0.0.1, port: {port}, identity_file: '{client_key}', "
             "ssh_config: none}\n")
    code, findings, (target,) = _scan(tmp_path, entry, "--check", "SSH-0100", "--check", "SSH-0030")
    assert findings == {} and "connection refused" in str(target["connection_error"]) and code == 3


def test_the_modern_client_prefers_aes256_gcm_where_the_server_offers_it(hardened_sshd, client_key):
    transport = SshTransport(_target(hardened_sshd, client_key))
    try:
        agreed = json.loads(transport.run(cmd("auditor:ssh-hostkey")).stdout)["algorithms"]
    finally:
        transport.close()
    assert agreed["cipher_out"] == "aes256-gcm@openssh.com" and agreed["kex"] == "curve25519-sha256"
