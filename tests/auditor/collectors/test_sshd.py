"""sshd collector: recorded `sshd -T` outputs -> facts; failures say why; and one real run on this machine."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.collectors.sshd import SSHD_T, collect, parse_sshd_t
from auditor.errors import CollectorError
from auditor.models import SystemFacts
from auditor.transports.base import CommandResult
from auditor.transports.local import LocalTransport
from tests.auditor.fake_host import FakeHost

OUTPUTS = Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "ssh"
LINUX = SystemFacts(None)


def _host(status: int, stdout: str = "", stderr: str = "") -> FakeHost:
    return FakeHost({str(SSHD_T): CommandResult(str(SSHD_T), status, stdout, stderr)})


@pytest.mark.parametrize(
    ("fixture", "ciphers", "root", "tries"),
    [
        ("debian12-sshd-T-default.txt", ("chacha20-poly1305@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr",
                                          "aes128-gcm@openssh.com", "aes256-gcm@openssh.com"), "without-password", "6"),
        ("debian12-sshd-T-hardened.txt", ("aes256-gcm@openssh.com", "aes256-ctr"), "without-password", "4"),
        ("debian12-sshd-T-weak.txt", ("aes128-ctr", "aes256-ctr", "aes128-cbc", "3des-cbc"), "without-password", "6"),
    ],
)
def test_recorded_outputs_parse_into_options_and_lists(fixture, ciphers, root, tries):
    # Given a recorded `sshd -T`, When collected, Then the lists and single values come out as sshd printed them
    facts = collect(_host(0, (OUTPUTS / fixture).read_text()), LINUX)
    assert facts.installed and facts.lists["ciphers"] == ciphers
    assert facts.options["permitrootlogin"] == root and facts.options["maxauthtries"] == tries
    assert facts.options["hostkey"].startswith("/etc/ssh/")  # the first of several HostKey lines is kept
    assert "hmac-sha2-256" in ",".join(facts.lists["macs"])


def test_old_openssh_key_types_name_is_accepted():
    facts = parse_sshd_t("pubkeyacceptedkeytypes ssh-ed25519,ssh-rsa\nciphers aes256-ctr\n")
    assert facts.lists["pubkeyacceptedalgorithms"] == ("ssh-ed25519", "ssh-rsa")


def test_missing_sshd_is_not_installed():
    assert collect(_host(127, stderr="sshd: command not found"), LINUX).installed is False


@pytest.mark.parametrize(
    ("stderr", "words"),
    [
        ((OUTPUTS / "debian12-sudo-n-refused-stderr.txt").read_text(), "sudo -n was refused"),
        ((OUTPUTS / "debian12-sshd-T-nonroot-stderr.txt").read_text(), "needs root to load the host keys"),
        ("/etc/ssh/sshd_config line 3: Bad configuration option: Ciphrs\n", "exited 255: /etc/ssh/sshd_config line 3"),
    ],
)
def test_failures_name_their_reason(stderr, words):
    with pytest.raises(CollectorError, match=words):
        collect(_host(1 if "sudo" in stderr else 255, stderr=stderr), LINUX)


def test_this_machine_agrees_with_sshd_itself():
    # Given this machine's sshd (or its absence), When collected locally, Then the ciphers are sshd's own
    facts = collect(LocalTransport(), LINUX)
    binary = shutil.which("sshd", path="/usr/sbin:/usr/bin:/sbin:/bin")
    assert facts.installed == (binary is not None)
    if binary:
        out = subprocess.run(list(SSHD_T.argv), capture_output=True, text=True, check=False,
                             env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}).stdout
        line = next(x for x in out.splitlines() if x.startswith("ciphers "))
        assert ",".join(facts.lists["ciphers"]) == line.split(" ", 1)[1]
