"""sshd collector: recorded `sshd -T` outputs -> facts; failures say why; a host where sshd never ran is read in
a private mount namespace; and real runs on this machine."""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.collectors.sshd import PRIVSEP_DIRS, SSHD_T, collect, in_private_namespace, parse_sshd_t, requests
from auditor.errors import CollectorError, PermissionMissing
from auditor.models import SystemFacts
from auditor.transports.base import CommandResult
from auditor.transports.local import LocalTransport
from tests import sshd_server
from tests.auditor.fake_host import FakeHost

ROOT = Path(__file__).resolve().parents[3]
OUTPUTS = ROOT / "tests" / "fixtures" / "outputs" / "ssh"
LINUX = SystemFacts(None)
SBIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
NEVER_RUN = (OUTPUTS / "debian12-sshd-T-never-run-stderr.txt").read_text()  # "Missing privilege separation ..."
RETRY = in_private_namespace("/run/sshd")
NOTE = "sshd has not run on this host (no /run/sshd); its configuration was read in a private mount namespace"
# A fresh tmpfs over $1 in the caller's private mount namespace, then the rest of the arguments: a host on which
# sshd has never run, whatever this machine's /run/sshd is. Test-side only; the collector has its own script.
FRESH_TMPFS = 'mount -t tmpfs -o size=1m,mode=0755 auditor-test "$1" && shift && exec "$@"'


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


def test_only_the_first_command_is_declared():
    # The namespace retry is conditional, so it is never prefetched
    assert requests(LINUX) == ((SSHD_T,), ())


def test_a_never_run_host_is_read_in_a_private_namespace():
    # Given sshd's recorded refusal (no /run/sshd) and the retry's answer (the same configuration)
    host = FakeHost({str(SSHD_T): CommandResult(str(SSHD_T), 255, "", NEVER_RUN),
                     str(RETRY): CommandResult(str(RETRY), 0, (OUTPUTS / "debian12-sshd-T-default.txt").read_text())})
    # When collected
    facts = collect(host, LINUX)
    # Then the configuration is judged, says how it was read, and took exactly one more round trip
    assert facts.installed and facts.lists["ciphers"][:2] == ("chacha20-poly1305@openssh.com", "aes128-ctr")
    assert facts.options["permitrootlogin"] == "without-password" and facts.note == NOTE
    assert host.calls == [str(SSHD_T), str(RETRY)]
    assert RETRY.sudo and RETRY.timeout == SSHD_T.timeout


def test_a_host_where_sshd_ran_needs_no_note_and_no_retry():
    host = _host(0, (OUTPUTS / "debian12-sshd-T-default.txt").read_text())
    assert collect(host, LINUX).note == "" and host.calls == [str(SSHD_T)]


@pytest.mark.parametrize("folder", sorted(PRIVSEP_DIRS))
def test_the_retry_script_is_constant_and_paths_are_arguments(folder):
    # Given each known privilege separation directory, When the retry is built
    argv = in_private_namespace(folder).argv
    # Then the shell script is the same text for all of them; the paths and sshd's argv follow as parameters
    assert argv[:6] == ("unshare", "--mount", "--propagation", "private", "sh", "-c")
    assert argv[6] == RETRY.argv[6] and folder not in argv[6] and argv[7] == "sh"
    assert argv[8:10] == (posixpath.dirname(folder), folder) and argv[8] != "/"
    assert argv[10:] == SSHD_T.argv


@pytest.mark.parametrize("folder", ["/tmp/evil", "/sshd", "/", "/run/sshd/../../etc", "$(reboot)"])
def test_a_folder_outside_the_allow_list_is_never_mounted(folder):
    # Given sshd naming a privilege separation directory that is not a known one
    host = _host(255, stderr=NEVER_RUN.replace("/run/sshd", folder))
    # When collected, Then a plain error names it, and nothing but the first command ran
    with pytest.raises(CollectorError, match="sshd has never run on this host") as raised:
        collect(host, LINUX)
    assert folder in str(raised.value) and "not a known privilege separation directory" in str(raised.value)
    assert "nothing was created on the host" in str(raised.value)
    assert host.calls == [str(SSHD_T)]
    with pytest.raises(ValueError, match="not a known privilege separation directory"):
        in_private_namespace(folder)


@pytest.mark.parametrize(
    ("status", "stderr", "error"),
    [
        # recorded: `setpriv --reuid=nobody --regid=nogroup --clear-groups unshare --mount true` (no CAP_SYS_ADMIN)
        (1, (OUTPUTS / "debian12-unshare-not-permitted-stderr.txt").read_text(), CollectorError),
        (127, "unshare: command not found", CollectorError),  # LocalTransport's answer for a missing program
        # recorded: the namespace's mount refused (an unprivileged user namespace), with mount's dmesg hint after it
        (32, (OUTPUTS / "debian12-mount-not-permitted-stderr.txt").read_text(), CollectorError),
        (127, "/bin/sh: 1: unshare: not found\n", CollectorError),  # recorded: dash with no unshare on its PATH
        (1, (OUTPUTS / "debian12-sudo-n-refused-stderr.txt").read_text(), PermissionMissing),
    ],
)
def test_an_impossible_retry_says_plainly_that_sshd_never_ran(status, stderr, error):
    # Given a host where sshd never ran and the namespace cannot be made
    host = FakeHost({str(SSHD_T): CommandResult(str(SSHD_T), 255, "", NEVER_RUN),
                     str(RETRY): CommandResult(str(RETRY), status, "", stderr)})
    # When collected, Then the error says sshd never ran, which folder is missing, and that nothing was created
    with pytest.raises(error) as raised:
        collect(host, LINUX)
    message = str(raised.value)
    assert type(raised.value) is error
    assert "sshd has never run on this host" in message and "/run/sshd does not exist" in message
    assert "nothing was created on the host" in message
    failing_step = stderr.strip().splitlines()[0 if stderr.startswith("mount:") else -1]
    assert failing_step in message and "dmesg" not in message


def test_a_broken_config_found_by_the_retry_is_reported_as_such():
    host = FakeHost({str(SSHD_T): CommandResult(str(SSHD_T), 255, "", NEVER_RUN),
                     str(RETRY): CommandResult(str(RETRY), 255, "", "/etc/ssh/sshd_config line 3: Bad configuration "
                                                                    "option: Ciphrs\n")})
    with pytest.raises(CollectorError, match="exited 255: /etc/ssh/sshd_config line 3"):
        collect(host, LINUX)


def _sshd_or_skip() -> str:
    sshd_server.require_root("`sshd -T` (it loads the host keys)")
    binary = shutil.which("sshd", path=SBIN_PATH)
    if binary is None:
        pytest.skip("no sshd on this machine")
    return binary


def _namespaces_work() -> bool:
    if shutil.which("unshare", path=SBIN_PATH) is None:
        return False
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True,
                          check=False).returncode == 0


def _namespaces_or_skip() -> None:
    if not _namespaces_work():
        pytest.skip("no private mount namespaces here (no unshare, or no CAP_SYS_ADMIN)")


def _sshd_itself() -> str:
    """The `ciphers` line as sshd prints it, run directly or, where its privilege separation directory is missing,
    in a private namespace of the test's own where that folder exists."""
    env = {"PATH": SBIN_PATH, "LC_ALL": "C"}
    run = subprocess.run(list(SSHD_T.argv), capture_output=True, text=True, check=False, env=env)
    if "Missing privilege separation directory" in run.stderr:
        folder = run.stderr.split(": ", 1)[1].strip()
        run = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                              'mount -t tmpfs -o size=1m,mode=0755 auditor-test "$1" && mkdir "$2" && shift 2 && '
                              'exec "$@"', "sh", os.path.dirname(folder), folder, *SSHD_T.argv],
                             capture_output=True, text=True, check=False, env=env)
    assert run.returncode == 0, run.stderr
    return next(x for x in run.stdout.splitlines() if x.startswith("ciphers ")).split(" ", 1)[1]


def test_this_machine_agrees_with_sshd_itself():
    # Given this machine's sshd (or its absence), whether or not it has ever run here (/run/sshd)
    if shutil.which("sshd", path=SBIN_PATH) is None:
        assert collect(LocalTransport(), LINUX).installed is False
        return
    _sshd_or_skip()
    ran_before = Path("/run/sshd").is_dir()
    if not ran_before and not _namespaces_work():
        # e.g. a container without CAP_SYS_ADMIN: the plain error
        with pytest.raises(CollectorError, match=r"sshd has never run on this host.*nothing was created"):
            collect(LocalTransport(), LINUX)
        return
    # When collected locally
    facts = collect(LocalTransport(), LINUX)
    # Then the ciphers are sshd's own, and the note says whether they were read in a private namespace
    assert facts.installed and ",".join(facts.lists["ciphers"]) == _sshd_itself()
    if Path("/run/sshd").is_dir() == ran_before:  # (an sshd started by another test may create it meanwhile)
        assert facts.note == ("" if ran_before else NOTE)


# Run in a child Python under a private mount namespace whose /run is a fresh tmpfs: sshd has never run there.
CHILD = """
import json, os, subprocess
from auditor.collectors.sshd import SSHD_T, collect
from auditor.models import SystemFacts
from auditor.transports.local import LocalTransport

absent = not os.path.exists("/run/sshd")
facts = collect(LocalTransport(), SystemFacts(None))
created = os.path.exists("/run/sshd")
os.mkdir("/run/sshd", 0o755)  # on this namespace's tmpfs only: now sshd itself can say what it serves
itself = subprocess.run(list(SSHD_T.argv), capture_output=True, text=True, check=True,
                        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}).stdout
print(json.dumps({"absent": absent, "created": created, "note": facts.note, "ciphers": list(facts.lists["ciphers"]),
                  "itself": next(x for x in itself.splitlines() if x.startswith("ciphers ")).split(" ", 1)[1]}))
"""


def test_a_real_never_run_host_is_read_without_creating_anything():
    # Given this machine's sshd, seen from a mount namespace where /run is empty (sshd has never run there)
    _sshd_or_skip()
    _namespaces_or_skip()
    real_before = os.path.exists("/run/sshd")
    # When the collector runs there through the local transport
    child = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", FRESH_TMPFS, "sh", "/run",
                            sys.executable, "-c", CHILD], capture_output=True, text=True, check=False, cwd=ROOT,
                           timeout=60)
    assert child.returncode == 0, child.stderr
    seen = json.loads(child.stdout)
    # Then it got sshd's own configuration, said how, and created /run/sshd neither there nor here
    assert seen["absent"] and not seen["created"]
    assert ",".join(seen["ciphers"]) == seen["itself"] and seen["note"] == NOTE
    assert os.path.exists("/run/sshd") == real_before
