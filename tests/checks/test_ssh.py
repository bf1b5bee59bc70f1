"""SSH checks seen from the network: facts built in code (and from recorded outputs) -> verdicts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from auditor.collectors.ssh_auth import SshAuthFacts, parse_auth_methods
from auditor.collectors.ssh_wire import HostKey, SshWireFacts, parse_host_keys, parse_probe
from auditor.models import Role, Status, Target, TargetKind
from checks.ssh import ssh_wire_algorithms, ssh_wire_auth_methods

OUTPUTS = Path(__file__).resolve().parents[1] / "fixtures" / "outputs" / "ssh"
STRONG = SshWireFacts(probed=True, host="h", port=22, ciphers=("aes256-gcm@openssh.com",),
                      macs=("hmac-sha2-512-etm@openssh.com",), kex=("curve25519-sha256",),
                      host_key_algorithms=("ssh-ed25519", "rsa-sha2-512"),
                      host_keys=(HostKey(("ssh-ed25519",), "ssh-ed25519", 256, "SHA256:a"),
                                 HostKey(("rsa-sha2-512",), "ssh-rsa", 4096, "SHA256:b")))
ASKED = SshAuthFacts(probed=True, host="h", port=22)


def _algorithms(facts: SshWireFacts, min_rsa_bits: int = 3072):
    return ssh_wire_algorithms(facts, 256, False, min_rsa_bits)


def _server(role: Role = Role.SERVER) -> Target:
    return Target("t", TargetKind.SSH, role=role)


@pytest.mark.parametrize(
    ("fixture", "status", "words"),
    [
        ("debian12-kexinit-hardened.json", Status.PASS, "offers only aes256-gcm@openssh.com, aes256-ctr"),
        ("debian12-kexinit-weak.json", Status.FAIL, "hmac-md5 (MD5)"),
        ("debian12-kexinit-sha1only.json", Status.FAIL, "diffie-hellman-group14-sha1 (SHA-1)"),
    ],
)
def test_wire_view(fixture, status, words):
    verdict = _algorithms(parse_probe((OUTPUTS / fixture).read_text()))
    assert verdict.status is status and words in verdict.message
    assert verdict.observed["banner"].startswith("SSH-2.0-OpenSSH_9.2p1")


def test_strict_kex_and_ext_info_markers_are_not_algorithms():
    facts = dataclasses.replace(STRONG, kex=("curve25519-sha256", "ext-info-s", "kex-strict-s-v00@openssh.com"))
    assert _algorithms(facts).status is Status.PASS


def test_no_network_view_is_not_applicable():
    verdict = _algorithms(SshWireFacts(probed=False, problem="scanned locally"))
    assert verdict.status is Status.NOT_APPLICABLE and "scanned locally" in verdict.message


def test_recorded_legacy_host_keys_fail_with_their_sizes():
    # Given the host keys read from a legacy sshd (Ed25519, RSA 2048 bits, DSA 1024 bits)
    facts = dataclasses.replace(STRONG, **parse_host_keys((OUTPUTS / "debian12-hostkeys-legacy.json").read_text()))
    # When SSH-0100 judges them, Then the RSA key fails with its size and the DSA key fails, Ed25519 does not
    verdict = _algorithms(facts)
    assert verdict.status is Status.FAIL
    assert "RSA key of 2048 bits, under 3072 (offered as ssh-rsa)" in verdict.message
    assert "DSA key of 1024 bits (offered as ssh-dss)" in verdict.message and "ed25519" not in verdict.message
    assert any("ssh-rsa 2048 bits SHA256:" in key for key in verdict.observed["host_keys"])


@pytest.mark.parametrize(("bits", "minimum", "status"), [(2048, 3072, Status.FAIL), (3072, 3072, Status.PASS),
                                                         (2048, 2048, Status.PASS), (3071, 3072, Status.FAIL)])
def test_the_rsa_size_threshold_is_the_profiles(bits, minimum, status):
    facts = dataclasses.replace(STRONG, host_keys=(HostKey(("rsa-sha2-512", "rsa-sha2-256"), "ssh-rsa", bits, "x"),))
    assert _algorithms(facts, minimum).status is status


@pytest.mark.parametrize(
    ("macs", "status", "words"),
    [
        (("umac-64-etm@openssh.com", "hmac-sha2-512-etm@openssh.com"), Status.FAIL,
         "umac-64-etm@openssh.com (64-bit tag)"),
        (("umac-64@openssh.com",), Status.FAIL, "umac-64@openssh.com (64-bit tag)"),
        (("hmac-sha2-512-etm@openssh.com", "hmac-sha2-256"), Status.WARN, "hmac-sha2-256 (encrypt-and-MAC)"),
        (("umac-128@openssh.com",), Status.WARN, "umac-128@openssh.com (encrypt-and-MAC)"),
        (("umac-128-etm@openssh.com", "hmac-sha2-256-etm@openssh.com"), Status.PASS, "strong MACs"),
    ],
)
def test_short_tags_fail_and_encrypt_and_mac_is_flagged(macs, status, words):
    verdict = _algorithms(dataclasses.replace(STRONG, macs=macs))
    assert verdict.status is status and words in verdict.message


def test_a_legacy_login_is_named_in_the_finding():
    # Given a server logged into with the legacy opt-in, which agreed SHA-1 kex, ssh-rsa, CBC and hmac-sha1
    facts = dataclasses.replace(
        parse_probe((OUTPUTS / "debian12-kexinit-sha1only.json").read_text()), legacy_ssh=True,
        login_algorithms=(("kex", "diffie-hellman-group14-sha1"), ("host_key", "ssh-rsa"),
                          ("cipher_out", "aes128-cbc"), ("cipher_in", "aes128-cbc"), ("mac_out", "hmac-sha1"),
                          ("mac_in", "hmac-sha1")))
    # When SSH-0100 judges it, Then the finding says the audit's own login used each weak algorithm
    verdict = _algorithms(facts)
    assert verdict.status is Status.FAIL
    assert ("The audit login itself used weak algorithms (legacy_ssh): kex diffie-hellman-group14-sha1 (SHA-1), "
            "host key ssh-rsa (RSA with SHA-1 signatures), cipher aes128-cbc (CBC mode), mac hmac-sha1 (SHA-1).") \
        in verdict.message
    assert verdict.observed["login"]["legacy_ssh"] is True


def test_a_modern_login_is_not_called_weak():
    facts = dataclasses.replace(STRONG, login_algorithms=(
        ("kex", "curve25519-sha256"), ("host_key", "ssh-ed25519"), ("cipher_out", "chacha20-poly1305@openssh.com"),
        ("cipher_in", "chacha20-poly1305@openssh.com"), ("mac_out", "hmac-sha1"), ("mac_in", "hmac-sha1")))
    # an AEAD cipher carries its own tag: the MAC that was negotiated beside it is never used
    verdict = _algorithms(facts)
    assert verdict.status is Status.PASS and "audit login" not in verdict.message


@pytest.mark.parametrize(
    ("fixture", "role", "status", "words"),
    [
        ("debian12-auth-methods-hardened.json", Role.SERVER, Status.PASS, "only publickey logins"),
        ("debian12-auth-methods-legacy.json", Role.SERVER, Status.FAIL,
         "offers password and keyboard-interactive logins to 'auditor' (a server)"),
        ("debian12-auth-methods-legacy.json", Role.WORKSTATION, Status.PASS, "allows for role workstation"),
    ],
)
def test_offered_password_logins_fail_on_servers(fixture, role, status, words):
    facts = dataclasses.replace(ASKED, **parse_auth_methods((OUTPUTS / fixture).read_text()))
    verdict = ssh_wire_auth_methods(facts, _server(role), ["workstation"])
    assert verdict.status is status and words in verdict.message


def test_a_role_listed_in_the_profile_may_offer_passwords():
    facts = dataclasses.replace(ASKED, auth_user="ops", auth_methods=("publickey", "password"))
    assert ssh_wire_auth_methods(facts, _server(), ["server"]).status is Status.PASS
    assert ssh_wire_auth_methods(facts, _server(), []).status is Status.FAIL


def test_a_server_that_lets_none_in_fails():
    facts = dataclasses.replace(ASKED, auth_user="guest", auth_methods=(), none_accepted=True)
    verdict = ssh_wire_auth_methods(facts, _server(), ["server"])
    assert verdict.status is Status.FAIL and "without any authentication" in verdict.message


def test_methods_that_could_not_be_read_are_a_warning_with_the_reason():
    facts = dataclasses.replace(ASKED, auth_problem="the authentication probe failed: no acceptable kex")
    verdict = ssh_wire_auth_methods(facts, _server(), [])
    assert verdict.status is Status.WARN and "no acceptable kex" in verdict.message


def test_auth_methods_of_a_local_target_are_not_applicable():
    verdict = ssh_wire_auth_methods(SshAuthFacts(probed=False, problem="scanned locally"), _server(), [])
    assert verdict.status is Status.NOT_APPLICABLE


@pytest.mark.parametrize(("host", "address"), [("::1", "[::1]:22216"), ("fe80::1%eth0", "[fe80::1%eth0]:22216"),
                                               ("10.0.0.5", "10.0.0.5:22216"), ("db-1", "db-1:22216")])
def test_an_ipv6_address_is_named_in_brackets(host, address):
    # Given an SSH server reached at an address whose host holds colons (IPv6), or not
    wire = dataclasses.replace(STRONG, host=host, port=22216)
    auth = dataclasses.replace(ASKED, host=host, port=22216, auth_user="ops", auth_methods=("publickey",))
    # Then SSH-0100 and SSH-0110 name it as [host]:port, so the port cannot be read as part of the address
    algorithms = _algorithms(wire)
    assert f"The SSH server at {address} offers" in algorithms.message
    assert algorithms.observed["address"] == address
    assert f"The SSH server at {address} offers" in ssh_wire_auth_methods(auth, _server(), []).message
