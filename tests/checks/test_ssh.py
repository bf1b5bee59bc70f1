"""SSH checks: facts built in code (and from recorded outputs) -> verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.collectors.ssh_wire import SshWireFacts, parse_probe
from auditor.collectors.sshd import SshdFacts, parse_sshd_t
from auditor.models import Status
from checks.ssh import ssh_wire_algorithms
from checks.sshd import sshd_ciphers, sshd_logins, sshd_weak_algorithms

OUTPUTS = Path(__file__).resolve().parents[1] / "fixtures" / "outputs" / "ssh"


def _sshd(**options: str) -> SshdFacts:
    return parse_sshd_t("\n".join(f"{k} {v}" for k, v in options.items()))


@pytest.mark.parametrize(
    ("ciphers", "bits", "chacha", "status", "words"),
    [
        ("aes256-gcm@openssh.com,aes256-ctr", 256, False, Status.PASS, "allows only aes256-gcm"),
        ("chacha20-poly1305@openssh.com,aes256-ctr", 256, True, Status.PASS, "allows only chacha20"),
        ("chacha20-poly1305@openssh.com,aes256-ctr", 256, False, Status.FAIL, "ChaCha20, not AES"),
        ("aes128-ctr,aes256-ctr", 256, False, Status.FAIL, "aes128-ctr (128-bit AES)"),
        ("aes128-ctr,aes256-ctr", 128, False, Status.PASS, "allows only"),
        ("aes256-cbc", 256, False, Status.FAIL, "aes256-cbc (CBC mode)"),
        ("3des-cbc", 128, False, Status.FAIL, "3des-cbc (CBC mode)"),
    ],
)
def test_ciphers_against_min_aes_bits(ciphers, bits, chacha, status, words):
    # Given sshd's cipher list, When judged with the profile's parameters, Then the verdict names the culprits
    verdict = sshd_ciphers(_sshd(ciphers=ciphers), bits, chacha)
    assert verdict.status is status and words in verdict.message


def test_openssh_default_fails_with_its_list_shown():
    verdict = sshd_ciphers(parse_sshd_t((OUTPUTS / "debian12-sshd-T-default.txt").read_text()), 256, False)
    assert verdict.status is Status.FAIL and "aes128-gcm@openssh.com (128-bit AES)" in verdict.message
    assert "full list: chacha20-poly1305@openssh.com, aes128-ctr" in verdict.message


@pytest.mark.parametrize(
    ("options", "status", "words"),
    [
        ({"macs": "hmac-sha2-512-etm@openssh.com", "kexalgorithms": "curve25519-sha256",
          "hostkeyalgorithms": "ssh-ed25519,rsa-sha2-512"}, Status.PASS, "no SHA-1"),
        ({"macs": "hmac-sha1,hmac-md5-96"}, Status.FAIL, "hmac-sha1 (SHA-1), hmac-md5-96 (MD5)"),
        ({"kexalgorithms": "diffie-hellman-group14-sha1,diffie-hellman-group1-sha1"}, Status.FAIL,
         "diffie-hellman-group1-sha1 (1024-bit group with SHA-1)"),
        ({"hostkeyalgorithms": "ssh-rsa,ssh-dss"}, Status.FAIL, "ssh-rsa (RSA with SHA-1 signatures), ssh-dss (DSA)"),
        ({"pubkeyacceptedalgorithms": "ssh-ed25519,ssh-rsa-cert-v01@openssh.com"}, Status.FAIL, "certificates"),
    ],
)
def test_weak_algorithms(options, status, words):
    verdict = sshd_weak_algorithms(_sshd(**options))
    assert verdict.status is status and words in verdict.message


def test_default_openssh_fails_on_its_sha1_macs():
    verdict = sshd_weak_algorithms(parse_sshd_t((OUTPUTS / "debian12-sshd-T-default.txt").read_text()))
    assert verdict.status is Status.FAIL and "hmac-sha1-etm@openssh.com (SHA-1)" in verdict.message
    assert "kexalgorithms" not in verdict.observed["weak"]


GOOD_LOGINS = {"permitrootlogin": "no", "passwordauthentication": "no", "permitemptypasswords": "no",
               "maxauthtries": "4", "kbdinteractiveauthentication": "no", "usepam": "yes"}


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({}, Status.PASS, "allows 4 authentication attempts"),
        ({"permitrootlogin": "without-password"}, Status.FAIL, "PermitRootLogin is prohibit-password"),
        ({"passwordauthentication": "yes"}, Status.FAIL, "PasswordAuthentication is yes"),
        ({"kbdinteractiveauthentication": "yes"}, Status.FAIL, "KbdInteractiveAuthentication is yes with UsePAM"),
        ({"permitemptypasswords": "yes"}, Status.FAIL, "PermitEmptyPasswords is yes"),
        ({"maxauthtries": "6"}, Status.FAIL, "MaxAuthTries is 6"),
    ],
)
def test_login_settings(change, status, words):
    verdict = sshd_logins(_sshd(**(GOOD_LOGINS | change)))
    assert verdict.status is status and words in verdict.message


def test_the_hardened_test_server_still_fails_ssh_0030_for_its_root_login():
    verdict = sshd_logins(parse_sshd_t((OUTPUTS / "debian12-sshd-T-hardened.txt").read_text()))
    assert verdict.status is Status.FAIL and verdict.message.count(";") == 0


@pytest.mark.parametrize("check", [sshd_weak_algorithms, sshd_logins])
def test_no_sshd_is_not_applicable(check):
    assert check(SshdFacts(installed=False)).status is Status.NOT_APPLICABLE


def test_no_sshd_is_not_applicable_for_ciphers():
    assert sshd_ciphers(SshdFacts(installed=False), 256, False).status is Status.NOT_APPLICABLE


@pytest.mark.parametrize(
    ("fixture", "status", "words"),
    [
        ("debian12-kexinit-hardened.json", Status.PASS, "offers only aes256-gcm@openssh.com, aes256-ctr"),
        ("debian12-kexinit-weak.json", Status.FAIL, "hmac-md5 (MD5)"),
        ("debian12-kexinit-sha1only.json", Status.FAIL, "diffie-hellman-group14-sha1 (SHA-1)"),
    ],
)
def test_wire_view(fixture, status, words):
    verdict = ssh_wire_algorithms(parse_probe((OUTPUTS / fixture).read_text()), 256, False)
    assert verdict.status is status and words in verdict.message
    assert verdict.observed["banner"].startswith("SSH-2.0-OpenSSH_9.2p1")


def test_strict_kex_and_ext_info_markers_are_not_algorithms():
    facts = SshWireFacts(probed=True, host="h", port=22, ciphers=("aes256-ctr",), macs=("hmac-sha2-256",),
                         kex=("curve25519-sha256", "ext-info-s", "kex-strict-s-v00@openssh.com"),
                         host_key_algorithms=("ssh-ed25519",))
    assert ssh_wire_algorithms(facts, 256, False).status is Status.PASS


def test_no_network_view_is_not_applicable():
    verdict = ssh_wire_algorithms(SshWireFacts(probed=False, problem="scanned locally"), 256, False)
    assert verdict.status is Status.NOT_APPLICABLE and "scanned locally" in verdict.message
