"""sshd collector: which daemons listen and with which options; `sshd -T` per daemon and per Match block; the
files when `sshd -T` cannot run; a host where sshd never ran read in a private mount namespace. Recorded outputs
of the real tools first, then real daemons on this machine."""

from __future__ import annotations

import fnmatch
import json
import os
import posixpath
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from auditor.collectors.listeners import SS
from auditor.collectors.sshd import (
    CONNECTION,
    FIRST_FILES,
    FIRST_GLOBS,
    FROM_DAEMON,
    FROM_FILES,
    PRIVSEP_DIRS,
    PS,
    SSH_V,
    SSHD_T,
    SSHD_V,
    SshdFacts,
    _version,
    collect,
    in_private_namespace,
    parse_sshd_t,
    parse_view,
    requests,
)
from auditor.collectors.sshd_config.conditions import Connection
from auditor.collectors.sshd_config.values import EVALUATED
from auditor.errors import CollectorError
from auditor.models import Platform, Status, SystemFacts, Target, TargetKind
from auditor.transports.base import Command, CommandResult, FileContent, cmd
from checks.sshd import sshd_ciphers, sshd_forwarding, sshd_logins
from tests import sshd_server
from tests.auditor.fake_host import FakeHost

ROOT = Path(__file__).resolve().parents[3]
OUTPUTS = ROOT / "tests" / "fixtures" / "outputs" / "ssh"
LINUX = SystemFacts(None)
DEBIAN = SystemFacts(Platform.LINUX, os_id="debian", os_version="12")
SBIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
NEVER_RUN = (OUTPUTS / "debian12-sshd-T-never-run-stderr.txt").read_text()  # "Missing privilege separation ..."
NON_ROOT = (OUTPUTS / "debian12-sshd-T-nonroot-stderr.txt").read_text()
SUDO_REFUSED = (OUTPUTS / "debian12-sudo-n-refused-stderr.txt").read_text()
RETRY = in_private_namespace("/run/sshd", SSHD_T)
NOTE = "sshd has not run on this host (no /run/sshd); its configuration was read in a private mount namespace"


def _ok(stdout: str = "", stderr: str = "", status: int = 0) -> tuple[int, str, str]:
    return status, stdout, stderr


class TreeHost(FakeHost):
    """A FakeHost that also answers the Include glob command from its own files, as the target's shell would."""

    def __init__(self, commands: Mapping[str, tuple[int, str, str]],
                 files: Mapping[str, bytes | str | FileContent]) -> None:
        super().__init__({key: CommandResult(key, *answer) for key, answer in commands.items()},
                         {path: data.encode() if isinstance(data, str) else data for path, data in files.items()
                          if not isinstance(data, FileContent)})
        self.special = {path: data for path, data in files.items() if isinstance(data, FileContent)}
        self.paths = sorted(files)

    def read_file(self, path: str) -> FileContent:
        if isinstance(self.special.get(path), FileContent):
            self.calls.append(path)
            return self.special[path]
        return super().read_file(path)

    def run(self, command: Command) -> CommandResult:
        if command.argv[:2] == ("sh", "-c") and command.argv[3:4] == ("sh",) and str(command) not in self._commands:
            self.calls.append(str(command))
            lines = [f"{i}\t{path}" for i, pattern in enumerate(command.argv[4:], start=1) for path in self.paths
                     if fnmatch.fnmatchcase(path, pattern) and posixpath.dirname(path) == posixpath.dirname(pattern)]
            return CommandResult(str(command), 0, "".join(f"{line}\n" for line in lines))
        return super().run(command)


def _tree(folder: str, under: str = "") -> dict[str, bytes]:
    """A recorded file tree (tests/fixtures/outputs/ssh/<folder>) as target paths, optionally moved under `under`."""
    base = OUTPUTS / folder
    return {f"{under}/{p.relative_to(base)}" if under else f"/{p.relative_to(base)}": p.read_bytes()
            for p in base.rglob("*") if p.is_file()}


OUTSIDE = Connection()


def _sshd_t(*options: str, connection: Connection = OUTSIDE) -> str:
    return str(cmd("sshd", "-T", *options, "-C", connection.spec()))


# ---- the default daemon, recorded -------------------------------------------------------------------------------

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
    # Given a recorded `sshd -T` on a host where nothing else answers, When collected
    facts = collect(TreeHost({str(SSHD_T): _ok((OUTPUTS / fixture).read_text())}, {}), LINUX)
    # Then the lists and single values come out as sshd printed them, for the default daemon
    [daemon] = facts.daemons
    assert facts.installed and daemon.view is not None and daemon.view.lists["ciphers"] == ciphers
    assert daemon.view.options["permitrootlogin"] == root and daemon.view.options["maxauthtries"] == tries
    assert daemon.view.options["hostkey"].startswith("/etc/ssh/")  # the first of several HostKey lines is kept
    assert daemon.source == FROM_DAEMON and daemon.pid is None and daemon.resource == "/etc/ssh/sshd_config"


def test_old_openssh_key_types_name_is_accepted():
    facts = parse_sshd_t("pubkeyacceptedkeytypes ssh-ed25519,ssh-rsa\nciphers aes256-ctr\n")
    assert facts.lists["pubkeyacceptedalgorithms"] == ("ssh-ed25519", "ssh-rsa")


@pytest.mark.parametrize(("printed", "ports"), [
    ("port 2222\nlistenaddress 127.0.0.1:2200\n", (2200,)),  # ListenAddress host:port wins over Port
    ("port 22\nport 2222\nlistenaddress [::]:22\nlistenaddress 0.0.0.0:22\nlistenaddress 0.0.0.0:2222\n", (22, 2222)),
    ("port 2022\n", (2022,)),
])
def test_a_daemon_listens_where_sshd_t_prints_its_listen_addresses(printed, ports):
    # Given what `sshd -T` prints for Port and ListenAddress (sshd listens only on the listen addresses)
    # Then the daemon's ports are those, and a Port sshd does not listen on is not among them
    assert parse_sshd_t(printed).daemons[0].ports == ports


def test_missing_sshd_is_not_installed():
    assert collect(TreeHost({str(SSHD_T): _ok(status=127, stderr="sshd: command not found")}, {}), LINUX) \
        .installed is False


def test_a_broken_config_is_an_error_naming_its_line():
    host = TreeHost({str(SSHD_T): _ok(status=255, stderr="/etc/ssh/sshd_config line 3: Bad configuration option: "
                                                         "Ciphrs\n")}, {})
    with pytest.raises(CollectorError, match="exited 255: /etc/ssh/sshd_config line 3"):
        collect(host, LINUX)


def test_the_first_batch_is_declared_and_nothing_conditional_is():
    # The namespace retry, per-daemon runs and Match blocks depend on answers, so they are never prefetched
    commands, files = requests(LINUX)
    assert list(commands) == [SSHD_T, SS, PS, SSHD_V, FIRST_GLOBS]
    assert "/etc/ssh/sshd_config" in files and "/etc/default/ssh" in files and RETRY not in commands



@pytest.mark.parametrize(("sshd_v", "asked_ssh"), [("OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15\n", False),
                                                  ("sshd: illegal option -- V\n", True)])
def test_the_client_is_asked_for_the_version_only_when_sshd_names_none(sshd_v, asked_ssh):
    # Given sshd -V that names its version, or one that does not (a build that prints only its usage)
    host = FakeHost({str(SSHD_V): CommandResult(str(SSHD_V), 1, "", sshd_v),
                     str(SSH_V): CommandResult(str(SSH_V), 0, "", (OUTPUTS / "debian12-ssh-V.txt").read_text())})
    # When the version is looked up, Then it is OpenSSH 9.2 either way, and ssh -V was run only for the second
    assert _version(host) == (9, 2)
    assert (str(SSH_V) in host.calls) is asked_ssh

# ---- without root: the files, read by the scanner's own parser -------------------------------------------------

@pytest.mark.parametrize("stderr", [SUDO_REFUSED, NON_ROOT], ids=["sudo refused", "not root"])
def test_without_root_debian_stock_config_is_read_from_the_files_and_agrees_with_sshd(stderr):
    # Given Debian 12's stock sshd_config (recorded), and `sshd -T` refused for want of root
    host = TreeHost({str(SSHD_T): _ok(status=1 if "sudo" in stderr else 255, stderr=stderr),
                     str(SSHD_V): _ok(stderr=(OUTPUTS / "debian12-sshd-V.txt").read_text())},
                    {"/etc/ssh/sshd_config": (OUTPUTS / "debian12-sshd_config").read_bytes()})
    # When collected
    [daemon] = collect(host, DEBIAN).daemons
    # Then the configuration is derived from the files, says so and why, and is what sshd itself printed for the
    # same file (debian12-sshd-T-default.txt was recorded from it as root)
    assert daemon.source == FROM_FILES and daemon.view is not None
    assert "derived from the config files, not from the daemon" in daemon.notes[0]
    assert ("sudo -n was refused" if "sudo" in stderr else "needs root to load the host keys") in daemon.notes[0]
    recorded = parse_view((OUTPUTS / "debian12-sshd-T-default.txt").read_text()).options
    assert {k: daemon.view.options.get(k) for k in EVALUATED} == {k: recorded.get(k) for k in EVALUATED}
    assert daemon.warning == ""  # every keyword of the stock file is one sshd takes


def test_without_root_a_file_sshd_refuses_leaves_the_daemon_in_doubt_as_sshd_t_would():
    # Given a config sshd would refuse (ssh_config's Match Exec; an unknown log level), `sshd -T` refused for want
    # of root: as root `sshd -T` fails on that file, and the checks warn
    host = TreeHost({str(SSHD_T): _ok(status=255, stderr=NON_ROOT)},
                    {"/etc/ssh/sshd_config": b"PermitRootLogin no\nLogLevel chatty\nMatch Exec /bin/true\n"
                                             b"  PermitRootLogin yes\n"})
    [daemon] = collect(host, DEBIAN).daemons
    # Then its files are still judged, and it carries a warning that names every refused line
    assert daemon.source == FROM_FILES and daemon.view is not None
    assert daemon.warning.startswith("sshd refuses this configuration (/etc/ssh/sshd_config line 2: unsupported log "
                                     "level 'chatty'")
    assert "line 3: Unsupported Match attribute Exec" in daemon.warning
    assert "the running daemon is not using it as it is now" in daemon.warning


def test_a_rhel9_host_without_root_is_judged_from_its_crypto_policy():
    # Given RHEL 9's tree (crypto policy included by 50-redhat.conf; Anaconda's root-login drop-in) and no root
    host = TreeHost({str(SSHD_T): _ok(status=255, stderr=NON_ROOT),
                     str(SSHD_V): _ok(stderr="OpenSSH_8.7p1, OpenSSL 3.0.7 1 Nov 2022\n")}, _tree("rhel9-tree"))
    # When collected and judged
    facts = collect(host, SystemFacts(Platform.LINUX, os_id="rhel", os_version="9.4"))
    [daemon] = facts.daemons
    # Then the policy's ciphers and the drop-in's root login are what is judged, with RHEL 9's OpenSSH defaults
    assert daemon.view is not None and daemon.view.lists["ciphers"][-1] == "aes128-ctr"
    assert "compiled-in defaults of upstream OpenSSH 8.7p1" in daemon.notes[0]
    assert daemon.resource == "sshd.service" or daemon.resource == "/etc/ssh/sshd_config"
    ciphers = sshd_ciphers(facts, 256, False)[0]
    assert ciphers.status is Status.FAIL and "aes128-gcm@openssh.com (128-bit AES)" in ciphers.message
    assert "Derived from the config files, not from sshd itself." in ciphers.message
    logins = sshd_logins(facts, 4)[0]
    assert logins.status is Status.FAIL and "PermitRootLogin is yes" in logins.message


def test_a_stopped_rhel8_daemon_takes_its_crypto_policy_from_the_unit():
    # Given RHEL 8: the policy is CRYPTO_POLICY in an EnvironmentFile, passed as -o options by sshd.service
    host = TreeHost({str(SSHD_T): _ok(status=255, stderr=NON_ROOT),
                     str(SSHD_V): _ok(stderr=(OUTPUTS / "openssh80-sshd-V.txt").read_text())}, _tree("rhel8-tree"))
    [daemon] = collect(host, SystemFacts(Platform.LINUX, os_id="rhel", os_version="8.9")).daemons
    # Then the options on the unit's command line win over the files, and CBC is seen
    assert daemon.pid is None and daemon.arguments[:2] == ("-o", "Ciphers=aes256-gcm@openssh.com,"
                                                                 "chacha20-poly1305@openssh.com,aes256-ctr,aes256-cbc,"
                                                                 "aes128-gcm@openssh.com,aes128-ctr,aes128-cbc")
    assert daemon.view is not None and "aes256-cbc" in daemon.view.lists["ciphers"]
    assert "ssh-rsa" in daemon.view.lists["pubkeyacceptedalgorithms"]
    assert "upstream OpenSSH 8.0p1" in daemon.notes[0]


def test_a_running_openssh_80_is_read_with_the_options_it_runs_with():
    # Given a listening OpenSSH 8.0 whose recorded cmdline names its own config and -o options, and no root
    files = {"/etc/ssh/test/sshd_config": (OUTPUTS / "rhel8-tree/etc/ssh/sshd_config").read_bytes(),
             "/proc/812/cmdline": (OUTPUTS / "openssh80-proc-cmdline.bin").read_bytes()}
    ps = "  812     1     0 /usr/sbin/sshd -f /etc/ssh/test/sshd_config -oCiphers=aes256-gcm@openssh.com,aes256-ctr\n"
    host = TreeHost({str(SSHD_T): _ok(status=255, stderr=NON_ROOT), str(PS): _ok(ps),
                     str(SS): _ok("tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\n")}, files)
    [daemon] = collect(host, LINUX).daemons
    # Then its config and -o lines are the ones judged, and its port comes from that config
    assert daemon.pid == 812 and daemon.config == "/etc/ssh/test/sshd_config" and daemon.ports == (22,)
    assert daemon.view is not None and daemon.view.lists["ciphers"] == ("aes256-gcm@openssh.com", "aes256-ctr")
    assert daemon.view.lists["macs"] == ("hmac-sha2-256-etm@openssh.com",)


# ---- several daemons, recorded ---------------------------------------------------------------------------------

TWO = {str(SS): _ok((OUTPUTS / "debian12-ss-two-sshd.txt").read_text()),
       str(PS): _ok((OUTPUTS / "debian12-ps-two-sshd.txt").read_text())}
HARDENED_OPTIONS = ("-f", "/etc/ssh/test/sshd_config")
OTHER_OPTIONS = ("-f", "/etc/ssh/test2/sshd_config")


def _two_daemons(config: bytes = b"Port 2222\nListenAddress 127.0.0.1\nMatch Address 10.40.0.0/16\n"
                                  b"  PermitRootLogin yes\n  PasswordAuthentication yes\n",
                 **extra: tuple[int, str, str]) -> TreeHost:
    """The recorded two-daemon host: 4711 (-f /etc/ssh/test/sshd_config, port 2222, `config`: a Match block) and
    812 (-f /etc/ssh/test2/sshd_config, port 22), both retitled, so ps alone gives their options."""
    commands = {**TWO, str(SSHD_T): _ok((OUTPUTS / "debian12-sshd-T-default.txt").read_text()),
                _sshd_t(*HARDENED_OPTIONS): _ok((OUTPUTS / "debian12-sshd-T-hardened.txt").read_text()),
                _sshd_t(*OTHER_OPTIONS): _ok((OUTPUTS / "debian12-sshd-T-default.txt").read_text()), **extra}
    files = {"/etc/ssh/test2/sshd_config": (OUTPUTS / "debian12-sshd_config").read_bytes(),
             "/etc/ssh/test/sshd_config": config}
    return TreeHost(commands, files)


def _ssh_target(port: int) -> Target:
    return Target("t", TargetKind.SSH, options={"host": "127.0.0.1", "port": port, "ssh_config": "none"})


@pytest.mark.parametrize(("port", "first", "second"), [(2222, "port 2222", "port 22"), (22, "port 22", "port 2222")])
def test_each_daemon_is_judged_with_its_own_options_the_scanned_one_first(port, first, second):
    # Given two daemons (the recorded ss, ps and cmdlines) and a Match block in the hardened one's config
    block = Connection(addr="10.40.0.0")
    host = _two_daemons(**{_sshd_t(*HARDENED_OPTIONS, connection=block): _ok(
        (OUTPUTS / "debian12-sshd-T-hardened.txt").read_text().replace("permitrootlogin without-password",
                                                                       "permitrootlogin yes"))})
    # When collected for a scan of `port`
    facts = collect(host, DEBIAN, _ssh_target(port))
    # Then each daemon is named by its port, the scanned one first, each from its own `sshd -T`
    assert [d.resource for d in facts.daemons] == [first, second] and facts.scanned_port == port
    by_port = {d.resource: d for d in facts.daemons}
    assert by_port["port 2222"].arguments == HARDENED_OPTIONS and by_port["port 22"].arguments == OTHER_OPTIONS
    assert not any(call.startswith("/proc/") for call in host.calls)  # the titles in ps were enough
    assert by_port["port 2222"].view is not None and by_port["port 2222"].view.lists["ciphers"] == \
        ("aes256-gcm@openssh.com", "aes256-ctr")
    assert facts.daemons[0].serves_target and not facts.daemons[1].serves_target
    # And the Match block was asked about with a connection from its network, and fails SSH-0030 by its condition
    [match] = by_port["port 2222"].matches
    assert match.connection == block.spec() and match.view is not None
    verdict = next(v for v in sshd_logins(facts, 4) if v.resource == "port 2222")
    assert verdict.status is Status.FAIL and "`Match Address 10.40.0.0/16`" in verdict.message
    assert "/etc/ssh/test/sshd_config line 3" in verdict.message


def test_a_local_port_block_for_a_port_the_daemon_does_not_listen_on_never_counts():
    # Given the daemon on port 2222 with a block for local port 2299 that allows root logins (it listens on no such
    # port, so no connection can match the block)
    host = _two_daemons(b"Port 2222\nMatch LocalPort 2299\n  PermitRootLogin yes\n",
                        **{_sshd_t(*HARDENED_OPTIONS, connection=Connection(lport=2222)): _ok(
                            (OUTPUTS / "debian12-sshd-T-hardened.txt").read_text())})
    facts = collect(host, DEBIAN, _ssh_target(2222))
    # Then sshd is asked for a connection to its own port (it refuses a Match LocalPort config without one), not
    # about the block; the block says why it never applies, and SSH-0030 judges the daemon's own settings alone
    # (the recorded ones: prohibit-password), neither failing nor doubting it for the block
    [block] = facts.daemons[0].matches
    assert block.never_applies == "the daemon listens only on port 2222, so no connection matches LocalPort 2299"
    assert not any("lport=2299" in call for call in host.calls)
    verdict = next(v for v in sshd_logins(facts, 4) if v.resource == "port 2222")
    assert "PermitRootLogin is prohibit-password" in verdict.message and "2299" not in verdict.message


def test_without_root_a_daemon_whose_config_is_closed_is_not_said_to_serve_another_port():
    # Given no root: ss shows the listening sockets but not their processes, ps shows both daemons, and the
    # scanned daemon's config is 0600
    no_users = "".join(line.split(" users:")[0] + "\n" for line in TWO[str(SS)][1].splitlines())
    host = TreeHost({str(SSHD_T): _ok(status=255, stderr=NON_ROOT), str(SS): _ok(no_users), str(PS): TWO[str(PS)]},
                    {"/etc/ssh/test/sshd_config": FileContent("/etc/ssh/test/sshd_config", True,
                                                              error="Permission denied"),
                     "/etc/ssh/test2/sshd_config": b"Port 22\n"})
    facts = collect(host, DEBIAN, _ssh_target(2222))
    # Then the scan says it cannot tell which daemon serves the port, and why (not "no sshd listens there")
    assert facts.unserved.startswith("which sshd serves the scanned port 2222 is not known: sshd process 4711's "
                                     "ports could not be read (its config file could not be read"), facts.unserved
    assert "sudo: true" in facts.unserved


@pytest.mark.parametrize(("usedns", "never"), [
    ("", "UseDNS is no, so sshd matches Host against the client's address, and no address matches '*.example.org'"),
    ("UseDNS yes\n", ""),
])
def test_a_host_name_block_never_applies_while_sshd_does_not_look_names_up(usedns, never):
    # Given a block for host names (UseDNS is off by default: sshd then matches Host against the address text)
    host = _two_daemons(f"Port 2222\n{usedns}Match Host *.example.org\n  PermitRootLogin yes\n"
                        "Match Host 10.*\n  MaxAuthTries 9\n".encode())
    name_block, address_block = collect(host, DEBIAN, _ssh_target(2222)).daemons[0].matches
    # Then the name block never applies unless names are looked up; an address-shaped pattern always may
    assert name_block.never_applies == never
    assert address_block.never_applies == ""


def test_a_block_for_the_daemons_own_port_is_named_where_its_settings_fail():
    # Given the daemon on port 2222 whose passwords are turned on by a block for that very port (so `sshd -T` for
    # any connection to it, the outside client's too, prints them on)
    hardened = (OUTPUTS / "debian12-sshd-T-hardened.txt").read_text()
    host = _two_daemons(b"Port 2222\nPasswordAuthentication no\nMatch LocalPort 2222\n  PasswordAuthentication yes\n",
                        **{_sshd_t(*HARDENED_OPTIONS, connection=Connection(lport=2222)): _ok(
                            hardened.replace("passwordauthentication no", "passwordauthentication yes"))})
    facts = collect(host, DEBIAN, _ssh_target(2222))
    # Then the block is marked as one every connection matches, and SSH-0030 names it beside the value
    [block] = facts.daemons[0].matches
    assert block.everyone and block.view is not None
    verdict = next(v for v in sshd_logins(facts, 4) if v.resource == "port 2222")
    assert verdict.status is Status.FAIL and "PasswordAuthentication is yes" in verdict.message
    assert "(every connection to it matches `Match LocalPort 2222` (/etc/ssh/test/sshd_config line 3), whose " \
           "settings these include)" in verdict.message


def test_a_daemon_started_with_a_relative_config_path_is_judged_in_doubt():
    # Given the daemon on port 2222 started as `sshd -D -e -f sshd_config` from some folder
    ps = TWO[str(PS)][1].replace("-f /etc/ssh/test/sshd_config", "-f sshd_config")
    host = _two_daemons(**{str(PS): _ok(ps), _sshd_t("-f", "/sshd_config"): _ok(
        (OUTPUTS / "debian12-sshd-T-hardened.txt").read_text())})
    host._files["/sshd_config"] = b"Port 2222\n"  # the file sshd -T is given
    daemon = collect(host, DEBIAN, _ssh_target(2222)).daemons[0]
    # Then it is judged as sshd would read it from /, and a pass cannot hide that the folder is unknown
    assert daemon.config == "/sshd_config" and daemon.warning == (
        "sshd process 4711 was started with a relative config path (-f sshd_config), which it read from the folder "
        "it was started in; sshd works in / once started, so that folder cannot be found: the daemon's own config "
        "file could not be located, and /sshd_config was judged instead (start sshd with an absolute -f path)")
    # And without root, where its ports come from that file, which does not exist: the scanned port says both
    no_users = "".join(line.split(" users:")[0] + "\n" for line in TWO[str(SS)][1].splitlines())
    host = TreeHost({str(SSHD_T): _ok(status=255, stderr=NON_ROOT), str(SS): _ok(no_users), str(PS): _ok(ps)},
                    {"/etc/ssh/test2/sshd_config": b"Port 22\n"})
    unserved = collect(host, DEBIAN, _ssh_target(2222)).unserved
    assert "sshd process 4711's ports could not be read (its config file could not be read" in unserved
    assert "started with a relative config path (-f sshd_config)" in unserved


def test_a_scanned_port_no_daemon_serves_is_said():
    facts = collect(_two_daemons(), DEBIAN, _ssh_target(2200))
    assert "no sshd found on this host listens on the scanned port 2200" in facts.unserved
    assert "found: port 22, port 2222" in facts.unserved


def test_without_any_process_view_the_judged_file_is_named_and_doubted():
    # Given neither ss nor ps answers (a locked-down host), When a scan of port 22 is collected
    facts = collect(TreeHost({str(SSHD_T): _ok((OUTPUTS / "debian12-sshd-T-default.txt").read_text())}, {}), DEBIAN,
                    _ssh_target(22))
    # Then the default config is judged, named, and its findings cannot pass silently
    [daemon] = facts.daemons
    assert daemon.resource == "/etc/ssh/sshd_config" and "may be served by another daemon" in daemon.warning
    assert "ss and ps could not be read" in daemon.warning


def test_a_daemon_another_account_started_is_never_given_to_root():
    # Given an sshd listening as uid 1000 with its own -f config, on a host where sudo works
    host = _two_daemons(**{str(PS): _ok((OUTPUTS / "debian12-ps-two-sshd.txt").read_text().replace(
        " 4711     1     0", " 4711     1  1000"))})
    facts = collect(host, DEBIAN, _ssh_target(2222))
    # Then its config is read as files (root's sshd -T never sees that account's -f), the other by sshd -T
    by_port = {d.resource: d for d in facts.daemons}
    assert by_port["port 2222"].source == FROM_FILES and "runs as uid 1000" in by_port["port 2222"].notes[0]
    assert by_port["port 22"].source == FROM_DAEMON
    assert _sshd_t(*HARDENED_OPTIONS) not in host.calls


def test_the_files_of_another_accounts_daemon_are_never_read_as_root():
    # Given that account's config unreadable to the scanning account (it could include /etc/shadow)
    host = _two_daemons(**{str(PS): _ok((OUTPUTS / "debian12-ps-two-sshd.txt").read_text().replace(
        " 4711     1     0", " 4711     1  1000"))})
    host.special["/etc/ssh/test/sshd_config"] = FileContent("/etc/ssh/test/sshd_config", True,
                                                             error="Permission denied")
    daemon = next(d for d in collect(host, DEBIAN, _ssh_target(2222)).daemons if d.resource == "port 2222")
    # Then it is not read again with sudo: that daemon stays unjudged, and says why
    assert "cat -- /etc/ssh/test/sshd_config" not in host.calls
    assert daemon.view is None and "could not be read" in daemon.problem


def test_a_match_exec_block_is_never_run_and_says_sshd_refuses_it():
    # Given a Match Exec line (ssh_config has Match Exec; sshd refuses it) in a file sshd has not read yet
    host = TreeHost({str(SSHD_T): _ok((OUTPUTS / "debian12-sshd-T-default.txt").read_text())},
                    {"/etc/ssh/sshd_config": b"Match Exec \"/usr/local/bin/is-trusted %h\"\n  PermitRootLogin yes\n"})
    [match] = collect(host, DEBIAN).daemons[0].matches
    # Then its command is never run, and the block says why it was not evaluated
    assert match.view is None and match.sets == ("permitrootlogin",)
    assert "sshd refuses this Match line (Unsupported Match attribute Exec" in match.not_evaluated
    assert not any("is-trusted" in call and "sshd" not in call for call in host.calls)


def test_a_group_block_is_asked_about_as_a_real_member():
    # Given a Match Group block, and the target's group database naming a member
    host = TreeHost({str(SSHD_T): _ok((OUTPUTS / "debian12-sshd-T-default.txt").read_text()),
                     "getent group sftponly": _ok("sftponly:x:1001:carol,dave\n"),
                     _sshd_t(connection=Connection(user="carol")): _ok("permitrootlogin no\nx11forwarding yes\n")},
                    {"/etc/ssh/sshd_config": b"Match Group sftponly\n  X11Forwarding yes\n"})
    [match] = collect(host, DEBIAN).daemons[0].matches
    # Then sshd was asked for carol, who is in it
    assert match.connection.startswith("user=carol,") and match.view is not None
    assert match.view.options["x11forwarding"] == "yes"


def test_a_value_a_users_group_block_gives_is_that_blocks_finding_not_the_users():
    # Given a Match User block for deploy, who is in sftpusers, and a Match Group sftpusers block that turns X11
    # forwarding on (sshd looks deploy's groups up: deploy's connection gets it too)
    host = TreeHost({str(SSHD_T): _ok((OUTPUTS / "debian12-sshd-T-default.txt").read_text()),
                     "getent group sftpusers": _ok("sftpusers:x:1001:deploy\n"),
                     _sshd_t(connection=Connection(user="deploy")): _ok("x11forwarding yes\nmaxsessions 2\n"),
                     _sshd_t(connection=Connection(user="deploy", groups=frozenset({"sftpusers"}))): _ok(
                         "x11forwarding yes\n")},
                    {"/etc/ssh/sshd_config": b"Match User deploy\n  MaxSessions 2\n"
                                             b"Match Group sftpusers\n  X11Forwarding yes\n"})
    facts = collect(host, DEBIAN)
    user, group = facts.daemons[0].matches
    # Then the user's block knows the group's block applies to it too
    assert user.also == (group.where,) and group.also == (user.where,)
    # And SSH-0040 reports the forwarding once, for the group's block, which sets it (the user's sets no forwarding)
    verdict = sshd_forwarding(facts, False)[0]
    assert verdict.status is Status.FAIL and verdict.message.count("X11Forwarding is yes") == 1, verdict.message
    assert "`Match Group sftpusers`" in verdict.message and "`Match User deploy`" not in verdict.message


def test_each_value_is_the_finding_of_the_block_that_sets_it_when_a_user_s_and_his_group_s_blocks_both_apply():
    # Given a daemon that refuses passwords, a Match User block for deploy that allows them, and a Match Group block
    # for his group that allows empty passwords (found by trying the tool: both were blamed on the user's block)
    hardened = (OUTPUTS / "debian12-sshd-T-default.txt").read_text().replace(
        "passwordauthentication yes", "passwordauthentication no").replace(
        "permitrootlogin without-password", "permitrootlogin no").replace("maxauthtries 6", "maxauthtries 3")
    deploy = hardened.replace("passwordauthentication no", "passwordauthentication yes").replace(
        "permitemptypasswords no", "permitemptypasswords yes")
    host = TreeHost({str(SSHD_T): _ok(hardened), "getent group sftpusers": _ok("sftpusers:x:1001:deploy\n"),
                     _sshd_t(connection=Connection(user="deploy")): _ok(deploy),
                     _sshd_t(connection=Connection(user="deploy", groups=frozenset({"sftpusers"}))): _ok(deploy)},
                    {"/etc/ssh/sshd_config": b"Match User deploy\n  PasswordAuthentication yes\n"
                                             b"Match Group sftpusers\n  PermitEmptyPasswords yes\n"})
    # When SSH-0030 judges it
    verdict = sshd_logins(collect(host, DEBIAN), 4)[0]
    # Then each value is reported once, under the block that sets it
    assert verdict.status is Status.FAIL, verdict.message
    user, group = (part for part in verdict.message.split("for a connection matching ")[1:])
    assert user.startswith("`Match User deploy`") and "PasswordAuthentication is yes" in user, user
    assert "PermitEmptyPasswords" not in user
    assert group.startswith("`Match Group sftpusers`") and "PermitEmptyPasswords is yes" in group, group
    assert "PasswordAuthentication" not in group


def test_a_config_only_root_may_read_is_read_with_sudo_for_its_match_blocks():
    # Given sshd_config at 0600 (as CIS asks), a scanning account with sudo, and a Match block in the file
    config = "Match User deploy\n  PermitRootLogin yes\n"
    host = TreeHost({str(SSHD_T): _ok((OUTPUTS / "debian12-sshd-T-default.txt").read_text()),
                     "cat -- /etc/ssh/sshd_config": _ok(config),
                     _sshd_t(connection=Connection(user="deploy")): _ok("permitrootlogin yes\n")},
                    {"/etc/ssh/sshd_config": FileContent("/etc/ssh/sshd_config", True, error="Permission denied")})
    [daemon] = collect(host, DEBIAN).daemons
    # Then the file was read again as root, and its block evaluated
    assert "cat -- /etc/ssh/sshd_config" in host.calls and daemon.unread == ()
    assert [m.condition for m in daemon.matches] == ["Match User deploy"]
    assert daemon.matches[0].view is not None and daemon.matches[0].view.options["permitrootlogin"] == "yes"


def _closed_dropins(sshd_t: tuple[int, str, str]) -> TreeHost:
    """sshd_config including a drop-in folder the scanning account may not list (the glob says so: "1\t!")."""
    index = FIRST_GLOBS.argv.index("/etc/ssh/sshd_config.d/*.conf") - 3
    return TreeHost({str(SSHD_T): sshd_t, str(FIRST_GLOBS): _ok(f"{index}\t!\n"),
                     str(SSHD_V): _ok(stderr=(OUTPUTS / "debian12-sshd-V.txt").read_text()),
                     _sshd_t(connection=Connection(user="deploy")): _ok("permitrootlogin yes\n")},
                    {"/etc/ssh/sshd_config": b"Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n",
                     "/etc/ssh/sshd_config.d/50-deploy.conf": b"Match User deploy\n  PermitRootLogin yes\n"})


def test_a_drop_in_folder_only_root_may_list_is_listed_with_sudo():
    # Given the drop-in folder closed to the scanning account, and sudo working
    host = _closed_dropins(_ok((OUTPUTS / "debian12-sshd-T-default.txt").read_text()))
    [daemon] = collect(host, DEBIAN).daemons
    # Then it was listed again as root, and the drop-in's Match block evaluated
    assert [m.condition for m in daemon.matches] == ["Match User deploy"] and daemon.unread == ()


def test_without_sudo_a_closed_drop_in_folder_is_a_doubt_not_a_pass():
    # Given the same host without root: the files are all the scanner has, and one folder it cannot list
    host = _closed_dropins(_ok(status=255, stderr=NON_ROOT))
    facts = collect(host, DEBIAN)
    # Then the folder is named as unread, and SSH-0030 cannot pass (root is refused in the files it could read)
    assert facts.daemons[0].unread == ("/etc/ssh/sshd_config.d/*.conf",)
    verdict = sshd_logins(replace(facts, daemons=(replace(facts.daemons[0], view=parse_view(
        "permitrootlogin no\npasswordauthentication no\npermitemptypasswords no\nmaxauthtries 3\n")),)), 4)[0]
    assert verdict.status is Status.WARN and "/etc/ssh/sshd_config.d/*.conf could not be read" in verdict.message


def test_a_config_nobody_could_read_leaves_its_match_blocks_in_doubt():
    # Given sshd -T works but the file cannot be read, not even with sudo
    host = TreeHost({str(SSHD_T): _ok((OUTPUTS / "debian12-sshd-T-hardened.txt").read_text()
                                      .replace("permitrootlogin without-password", "permitrootlogin no")
                                      .replace("passwordauthentication yes", "passwordauthentication no"))},
                    {"/etc/ssh/sshd_config": FileContent("/etc/ssh/sshd_config", True, error="Permission denied")})
    facts = collect(host, DEBIAN)
    # Then the daemon's own view is judged, and a pass of a check that Match blocks could change is a warning
    assert facts.daemons[0].unread == ("/etc/ssh/sshd_config",)
    verdict = sshd_logins(facts, 4)[0]
    assert verdict.status is Status.WARN and "could not be read, so Match blocks in it were not evaluated" in \
        verdict.message


def test_evidence_recorded_before_daemons_were_told_apart_still_replays(tmp_path):
    # Given a run folder whose evidence holds only the default daemon's `sshd -T` (as runs recorded before this
    # collector told daemons apart do)
    from datetime import UTC, datetime

    from auditor.bundle.evidence import EvidenceStore
    from auditor.transports.records import command_record
    from auditor.transports.replay import ReplayTransport

    store = EvidenceStore(tmp_path)
    answer = CommandResult(str(SSHD_T), 0, (OUTPUTS / "debian12-sshd-T-default.txt").read_text())
    store.save("vm", command_record("vm", SSHD_T, answer, datetime(2026, 11, 26, tzinfo=UTC)))
    store.write_manifest()
    # When collected from a replay of it, Then that daemon is judged, and the facts say what the evidence lacks
    [daemon] = collect(ReplayTransport(tmp_path, "vm"), DEBIAN).daemons
    assert daemon.view is not None and daemon.view.options["permitrootlogin"] == "without-password"
    assert "the evidence holds only the default daemon's `sshd -T`" in daemon.notes[0]
    assert daemon.unread == ("/etc/ssh/sshd_config",)


# ---- a host where sshd never ran --------------------------------------------------------------------------------

def test_a_never_run_host_is_read_in_a_private_namespace():
    # Given sshd's recorded refusal (no /run/sshd) and the retry's answer (the same configuration)
    host = TreeHost({str(SSHD_T): _ok(status=255, stderr=NEVER_RUN),
                     str(RETRY): _ok((OUTPUTS / "debian12-sshd-T-default.txt").read_text())}, {})
    # When collected
    facts = collect(host, LINUX)
    # Then the configuration is judged, says how it was read, and the retry came right after the refusal
    assert facts.installed and facts.lists["ciphers"][:2] == ("chacha20-poly1305@openssh.com", "aes128-ctr")
    assert facts.options["permitrootlogin"] == "without-password" and NOTE in facts.note
    assert host.calls[:2] == [str(SSHD_T), str(RETRY)]
    assert RETRY.sudo and RETRY.timeout == SSHD_T.timeout


@pytest.mark.parametrize(
    ("ps", "target", "stopped"),
    [
        ((1, "", ""), None, True),  # ps read the processes and found no sshd: installed, not running
        ((0, "  931     1     0 [sshd] <defunct>\n", ""), None, True),  # only a dead one (a container's leftover)
        ((127, "", "ps: command not found"), None, False),  # nothing could be read: running or not is unknown
        ((1, "", ""), "ssh", False),  # over SSH the unserved port is its own warning
    ],
)
def test_a_local_sshd_that_is_installed_but_not_running_is_said_to_be_so(ps, target, stopped):
    # Given a host with the default configuration, and what ps says of sshd processes (ss names none)
    host = TreeHost({str(SSHD_T): _ok((OUTPUTS / "debian12-sshd-T-default.txt").read_text()), str(PS): ps,
                     str(SS): (0, "", "") if ps[0] != 127 else (127, "", "ss: command not found")}, {})
    scanned = Target("srv", TargetKind.SSH, {"host": "10.0.0.5", "port": "22"}) if target else None
    # When collected, and SSH-0030 judges it
    facts = collect(host, DEBIAN, scanned)
    [daemon] = facts.daemons
    verdict = next(v for v in sshd_logins(facts, 4) if v.resource == daemon.resource)
    # Then a stopped daemon is named as stopped, in the finding and in what it observed; an unknown one is not
    assert daemon.stopped is stopped and daemon.pid is None
    assert ("No sshd is running; this is the configuration it starts with." in verdict.message) is stopped
    assert verdict.observed.get("running", True) is not stopped


def test_a_host_where_sshd_ran_needs_no_note_and_no_retry():
    host = TreeHost({str(SSHD_T): _ok((OUTPUTS / "debian12-sshd-T-default.txt").read_text())}, {})
    facts = collect(host, LINUX)
    assert "namespace" not in facts.note and str(RETRY) not in host.calls


@pytest.mark.parametrize("folder", sorted(PRIVSEP_DIRS))
def test_the_retry_script_is_constant_and_paths_are_arguments(folder):
    # Given each known privilege separation directory, When the retry is built
    argv = in_private_namespace(folder, SSHD_T).argv
    # Then the shell script is the same text for all of them; the paths and sshd's argv follow as parameters
    assert argv[:6] == ("unshare", "--mount", "--propagation", "private", "sh", "-c")
    assert argv[6] == RETRY.argv[6] and folder not in argv[6] and argv[7] == "sh"
    assert argv[8:10] == (posixpath.dirname(folder), folder) and argv[8] != "/"
    assert argv[10:] == SSHD_T.argv


@pytest.mark.parametrize("folder", ["/tmp/evil", "/sshd", "/", "/run/sshd/../../etc", "$(reboot)"])
def test_a_folder_outside_the_allow_list_is_never_mounted(folder):
    # Given sshd naming a privilege separation directory that is not a known one
    host = TreeHost({str(SSHD_T): _ok(status=255, stderr=NEVER_RUN.replace("/run/sshd", folder))}, {})
    # When collected, Then no namespace is made; the files are read instead, and the note names the folder
    [daemon] = collect(host, LINUX).daemons
    assert daemon.source == FROM_FILES and folder in daemon.notes[0]
    assert "not a known privilege separation directory" in daemon.notes[0]
    assert "nothing was created on the host" in daemon.notes[0]
    assert not any(call.startswith("unshare") for call in host.calls)
    with pytest.raises(ValueError, match="not a known privilege separation directory"):
        in_private_namespace(folder, SSHD_T)


@pytest.mark.parametrize(
    ("status", "stderr", "grant"),
    [
        # recorded: `setpriv --reuid=nobody --regid=nogroup --clear-groups unshare --mount true` (no CAP_SYS_ADMIN)
        (1, (OUTPUTS / "debian12-unshare-not-permitted-stderr.txt").read_text(), "Start the ssh service once"),
        (127, "unshare: command not found", "Start the ssh service once"),  # LocalTransport's missing program
        # recorded: the namespace's mount refused (an unprivileged user namespace), with mount's dmesg hint after it
        (32, (OUTPUTS / "debian12-mount-not-permitted-stderr.txt").read_text(), "Start the ssh service once"),
        (127, "/bin/sh: 1: unshare: not found\n", "Start the ssh service once"),  # recorded: dash with no unshare
        (1, SUDO_REFUSED, "Allow `unshare` in its sudo rule"),
    ],
)
def test_an_impossible_retry_falls_back_to_the_files_and_says_why(status, stderr, grant):
    # Given a host where sshd never ran and the namespace cannot be made
    host = TreeHost({str(SSHD_T): _ok(status=255, stderr=NEVER_RUN), str(RETRY): _ok(status=status, stderr=stderr)},
                    {"/etc/ssh/sshd_config": (OUTPUTS / "debian12-sshd_config").read_bytes()})
    # When collected, Then the files are judged, and the note says sshd never ran, which folder, what to grant
    [daemon] = collect(host, DEBIAN).daemons
    message = daemon.notes[0]
    assert daemon.source == FROM_FILES and daemon.view is not None
    assert "sshd has never run on this host" in message and "/run/sshd does not exist" in message
    assert "nothing was created on the host" in message and grant in message
    failing_step = stderr.strip().splitlines()[0 if stderr.startswith("mount:") else -1]
    assert failing_step in message and "dmesg" not in message


def test_a_broken_config_found_by_the_retry_is_reported_as_such():
    host = TreeHost({str(SSHD_T): _ok(status=255, stderr=NEVER_RUN),
                     str(RETRY): _ok(status=255, stderr="/etc/ssh/sshd_config line 3: Bad configuration option: "
                                                        "Ciphrs\n")}, {})
    with pytest.raises(CollectorError, match="exited 255: /etc/ssh/sshd_config line 3"):
        collect(host, LINUX)


# ---- real daemons on this machine --------------------------------------------------------------------------------

def _real_sshd() -> str:
    sshd_server.require_root("`sshd -T` (it loads the host keys)")
    binary = shutil.which("sshd", path=SBIN_PATH)
    if binary is None or shutil.which("unshare", path=SBIN_PATH) is None:
        pytest.fail("the OpenSSH server and util-linux must be installed (Makefile TEST_DEBS)")
    return binary


ROOT_FROM_A_NETWORK = ("Match Address 10.40.0.0/16\n  PermitRootLogin yes\n  PasswordAuthentication yes\n"
                       "Match all\n")
# Host-side weaknesses of the second daemon; its algorithms stay ones paramiko can log in with.
LAX = "X11Forwarding yes\nPermitUserEnvironment yes\nLoginGraceTime 0\nMaxAuthTries 0\nLogLevel QUIET\n"


@pytest.fixture(scope="module")
def two_daemons():
    """A hardened sshd with a Match block that lets root in with a password from 10.40.0.0/16, and a lax one."""
    _real_sshd()
    with sshd_server.hardened_and_lax("auditor-two-sshd-", ROOT_FROM_A_NETWORK, LAX) as servers:
        yield servers


def _mine(facts: SshdFacts, server: sshd_server.SshdServer):
    return next(d for d in facts.daemons if d.config == str(server.config))


def test_two_real_daemons_are_each_judged_by_their_own_config(two_daemons):
    # Given two real sshd on 127.0.0.1, each with its own -f config and port
    hardened, lax, _ = two_daemons
    from auditor.transports.local import LocalTransport

    for scanned, other in ((hardened, lax), (lax, hardened)):
        # When the host is collected for a scan of one of them
        facts = collect(LocalTransport(), DEBIAN, _ssh_target(scanned.port))
        # Then that one comes first, named by its port, read by sshd -T with its own -f
        first = facts.daemons[0]
        assert first.resource == f"port {scanned.port}" and first.config == str(scanned.config)
        assert first.serves_target and first.source == FROM_DAEMON
        assert _mine(facts, other).resource == f"port {other.port}" and not _mine(facts, other).serves_target
    facts = collect(LocalTransport(), DEBIAN, _ssh_target(lax.port))
    # And each finding describes the daemon it names: the lax one fails SSH-0040, the hardened one does not
    forwarding = {v.resource: v for v in sshd_forwarding(facts, False)}
    assert forwarding[f"port {lax.port}"].status is Status.FAIL
    assert "X11Forwarding is yes" in forwarding[f"port {lax.port}"].message
    assert "X11Forwarding" not in forwarding[f"port {hardened.port}"].message
    logins = {v.resource: v for v in sshd_logins(facts, 4)}
    assert "MaxAuthTries is 0 (1 to 4 expected)" in logins[f"port {lax.port}"].message
    assert "MaxAuthTries" not in logins[f"port {hardened.port}"].message


def test_a_real_match_block_that_lets_root_in_fails_ssh_0030_by_its_condition(two_daemons):
    hardened, _, _ = two_daemons
    from auditor.transports.local import LocalTransport

    facts = collect(LocalTransport(), DEBIAN, _ssh_target(hardened.port))
    daemon = facts.daemons[0]
    block = next(m for m in daemon.matches if m.condition == "Match Address 10.40.0.0/16")
    assert block.connection == "user=auditor-probe,host=probe.invalid,addr=10.40.0.0"
    assert block.view is not None and block.view.options["permitrootlogin"] == "yes"
    verdict = sshd_logins(facts, 4)[0]
    assert verdict.status is Status.FAIL and verdict.resource == f"port {hardened.port}"
    assert "for a connection matching `Match Address 10.40.0.0/16`" in verdict.message
    assert "PasswordAuthentication is yes" in verdict.message



def test_a_daemon_on_several_ports_is_named_by_the_scanned_port_first(tmp_path):
    # Given one real sshd listening on two ports given on its command line (`sshd -f cfg -p A -p B`)
    _real_sshd()
    key = sshd_server.keygen(tmp_path / "client")
    second = sshd_server.free_port()
    server = sshd_server.SshdServer(tmp_path / "d", sshd_server.HARDENED, key)
    # sh execs sshd with the ports appended, so sshd's own command line holds them (-p overrides the config's Port)
    server.launcher = ["sh", "-c", f'exec "$@" -p {server.port} -p {second}', "sh"]
    from auditor.transports.local import LocalTransport

    server.start()
    try:
        for scanned, other in ((second, server.port), (server.port, second)):
            # When the host is collected for a scan of either port
            facts = collect(LocalTransport(), DEBIAN, _ssh_target(scanned))
            # Then the daemon is named by both ports, the scanned one first (docs/targets.md)
            daemon = next(d for d in facts.daemons if d.config == str(server.config))
            assert daemon.serves_target and daemon.resource == f"port {scanned}, {other}"
            assert sshd_logins(facts, 4)[0].resource == f"port {scanned}, {other}"
    finally:
        server.stop()


@pytest.fixture
def relative_sshd(tmp_path):
    """A real sshd started from its own folder as `sshd -D -e -f sshd_config -p PORT`: a relative config path,
    which sshd read from that folder."""
    _real_sshd()
    key = sshd_server.keygen(tmp_path / "client")
    server = sshd_server.SshdServer(tmp_path / "d", sshd_server.HARDENED, key)
    # sh goes to the folder and execs sshd there, with the relative path instead of the harness's absolute one
    server.launcher = ["sh", "-c", f'cd "$0" && exec "$1" -D -e -f sshd_config -p {server.port}', str(server.root)]
    server.start()
    yield server
    server.stop()


def test_a_real_daemon_started_with_a_relative_config_path_is_judged_in_doubt_naming_the_file_judged(relative_sshd):
    # Given a real sshd started in its folder with `-f sshd_config`: once started it works in / (sshd.c chdir("/"),
    # -D or not), so neither its working directory nor anything else on the host tells which folder it read from
    assert relative_sshd.process is not None
    pid = relative_sshd.process.pid
    assert os.readlink(f"/proc/{pid}/cwd") == "/"
    from auditor.transports.local import LocalTransport

    # When the host is collected for a scan of its port
    facts = collect(LocalTransport(), DEBIAN, _ssh_target(relative_sshd.port))
    # Then the file judged is named, and that the daemon's own config file could not be located
    daemon = facts.daemons[0]
    assert daemon.serves_target and daemon.config == "/sshd_config"
    assert daemon.warning == (
        f"sshd process {pid} was started with a relative config path (-f sshd_config), which it read from the folder "
        "it was started in; sshd works in / once started, so that folder cannot be found: the daemon's own config "
        "file could not be located, and /sshd_config was judged instead (start sshd with an absolute -f path)")
    # And its findings warn with that sentence: never a silent pass
    verdict = next(v for v in sshd_logins(facts, 4) if v.resource == f"port {relative_sshd.port}")
    assert verdict.status is Status.WARN and daemon.warning in verdict.message


# Run as an account without root (nobody): the collector reads the daemons' files itself.
AS_NOBODY = """
import json, sys
from auditor.collectors.sshd import collect
from auditor.models import Platform, SystemFacts
from auditor.transports.local import LocalTransport
facts = collect(LocalTransport(), SystemFacts(Platform.LINUX, os_id="debian", os_version="12"))
print(json.dumps([{"config": d.config, "source": d.source, "ports": d.ports, "notes": d.notes,
                   "options": dict(d.view.options) if d.view else None,
                   "matches": {m.condition: dict(m.view.options) if m.view else None for m in d.matches}}
                  for d in facts.daemons if d.config in sys.argv[1:]]))
"""


def test_an_account_without_root_judges_from_the_files_what_sshd_says(two_daemons):
    # Given the two real daemons, and the same host seen by an account without root (nobody, no sudo)
    hardened, lax, _ = two_daemons
    from auditor.transports.local import LocalTransport

    as_root = {d.config: d for d in collect(LocalTransport(), DEBIAN).daemons}
    child = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable, "-c",
                            AS_NOBODY, str(hardened.config), str(lax.config)], capture_output=True, text=True,
                           check=False, cwd=ROOT, timeout=60)
    assert child.returncode == 0, child.stderr
    seen = {d["config"]: d for d in json.loads(child.stdout)}
    # Then each daemon is judged from its files, says so, finds its port, and every evaluated keyword is sshd's
    for server in (hardened, lax):
        assert str(server.config) in seen, (child.stdout, child.stderr[-2000:])
        mine, root = seen[str(server.config)], as_root[str(server.config)]
        assert mine["source"] == FROM_FILES and "needs root" in mine["notes"][0]
        assert mine["ports"] == [server.port] and root.view is not None
        assert {k: mine["options"].get(k) for k in EVALUATED} == {k: root.view.options.get(k) for k in EVALUATED}
        for block in root.matches:
            assert block.view is not None
            assert {k: mine["matches"][block.condition].get(k) for k in EVALUATED} == \
                {k: block.view.options.get(k) for k in EVALUATED}


# An isolated view of this machine (own PID and network namespaces: no other test's sshd is seen; /run fresh:
# sshd has never run there), in which the collector runs through the local transport.
ISOLATED = 'mount -t tmpfs -o size=1m,mode=0755 auditor-test /run && exec "$@"'
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
                  "daemons": len(facts.daemons), "source": facts.daemons[0].source,
                  "itself": next(x for x in itself.splitlines() if x.startswith("ciphers ")).split(" ", 1)[1]}))
"""


def test_a_real_never_run_host_is_read_without_creating_anything():
    # Given this machine's sshd, seen from namespaces where no sshd runs and /run is empty (it never ran there)
    _real_sshd()
    real_before = os.path.exists("/run/sshd")
    # When the collector runs there through the local transport
    child = subprocess.run(["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc",
                            "--net", "sh", "-c", ISOLATED, "sh", sys.executable, "-c", CHILD],
                           capture_output=True, text=True, check=False, cwd=ROOT, timeout=60)
    assert child.returncode == 0, child.stderr
    seen = json.loads(child.stdout)
    # Then it judged the one default daemon with sshd's own configuration, said how, and created /run/sshd
    # neither there nor here
    assert seen["absent"] and not seen["created"] and seen["daemons"] == 1 and seen["source"] == FROM_DAEMON
    assert ",".join(seen["ciphers"]) == seen["itself"] and NOTE in seen["note"]
    assert os.path.exists("/run/sshd") == real_before


def test_the_outside_connection_is_the_documented_one():
    assert CONNECTION == "user=auditor-probe,host=probe.invalid,addr=192.0.2.1"
    assert FIRST_FILES[0] == "/etc/ssh/sshd_config"
