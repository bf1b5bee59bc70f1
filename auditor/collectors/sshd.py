"""The OpenSSH daemon's effective configuration, from `sshd -T` (Match blocks resolved), as Lynis SSH-7408 does.

`sshd -T` needs root (it loads the host keys), so it runs with sudo. The connection it is evaluated for
(`-C`) is an unknown user from an outside documentation address (RFC 5737), so that Match blocks for
trusted networks or users do not hide what an arbitrary client on the network gets.

`sshd -T` refuses to run while its privilege separation directory is missing, which it is on a host where sshd
is installed but has never run (a container, a socket-activated host: /run/sshd is a tmpfs folder made when the
service starts). Then, and only then, the collector asks a second time: `sshd -T` runs inside a private mount
namespace where that folder exists on a throw-away tmpfs, so nothing is created on the host's real filesystem,
and the facts say so (`note`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from auditor.collectors.base import Requests
from auditor.errors import CollectorError, PermissionMissing
from auditor.models import SystemFacts
from auditor.transports.base import Command, CommandResult, Transport, cmd

CONNECTION = "user=auditor-probe,host=probe.invalid,addr=192.0.2.1"
SSHD_T = cmd("sshd", "-T", "-C", CONNECTION, sudo=True)
# Where OpenSSH builds keep the privilege separation directory (configure --with-privsep-path): Debian and
# Ubuntu /run/sshd (/var/run/sshd before 2017), upstream's default /var/empty (BSDs, Alpine, Arch, Gentoo),
# RHEL and CentOS /var/empty/sshd, Fedora 38+ /usr/share/empty.sshd, openSUSE /var/lib/empty. The path in sshd's
# message comes from the target, so only these are ever mounted over (their parents; never `/`).
PRIVSEP_DIRS = frozenset({"/run/sshd", "/var/run/sshd", "/var/empty", "/var/empty/sshd", "/usr/share/empty.sshd",
                          "/var/lib/empty"})
_MISSING_PRIVSEP = re.compile(r"Missing privilege separation directory: (\S+)")
# Run in a mount namespace of its own (`unshare --mount --propagation private`): a tmpfs on $1 holding a new,
# empty $2, then the rest of the arguments (sshd -T ...). The namespace and its tmpfs end when sshd exits. The
# script is a constant: the paths and sshd's arguments are positional parameters, never part of its text.
_NAMESPACE_SCRIPT = ('mount -t tmpfs -o size=64k,mode=0755 auditor "$1" && mkdir -m 0755 "$2" && shift 2 && '
                     'exec "$@"')
# What the namespace's own steps print when they fail (util-linux, BusyBox and the shell); sshd's messages differ.
_NAMESPACE_FAILURES = ("unshare:", "mount:", "mkdir:", "sh:")
_LISTS = ("ciphers", "macs", "kexalgorithms", "hostkeyalgorithms", "pubkeyacceptedalgorithms",
          "casignaturealgorithms")


@dataclass(frozen=True)
class SshdFacts:
    """Attributes:
    installed: False when there is no sshd binary (the SSH checks are then not applicable).
    options: lower-case keyword -> value as `sshd -T` prints it; a repeated keyword (hostkey, listenaddress)
        keeps its first value, as sshd itself does for single-valued keywords.
    lists: the comma-separated algorithm keywords (ciphers, macs, kexalgorithms, hostkeyalgorithms,
        pubkeyacceptedalgorithms, casignaturealgorithms) split into tuples, in sshd's order.
    connection: the `-C` connection the configuration was evaluated for.
    note: how the configuration was obtained when not by a plain `sshd -T` ("" when it was), e.g. that sshd
        has never run on the host and `sshd -T` ran in a private mount namespace; evidence and reports show it.
    """

    installed: bool
    options: Mapping[str, str] = field(default_factory=dict)
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    connection: str = CONNECTION
    note: str = ""


def requests(_: SystemFacts) -> Requests:
    # Only the first command: the namespace retry is asked for when, and only when, sshd says it needs it.
    return (SSHD_T,), ()


def collect(host: Transport, _: SystemFacts) -> SshdFacts:
    result = host.run(SSHD_T)
    if result.not_found or "sshd: command not found" in result.stderr:
        return SshdFacts(installed=False)
    note = ""
    missing = _MISSING_PRIVSEP.search(result.stderr) if not result.ok else None
    if missing:
        folder = missing.group(1)
        result = host.run(_retry_for(folder))
        _raise_if_namespace_failed(result, folder)
        note = (f"sshd has not run on this host (no {folder}); its configuration was read in a private mount "
                "namespace")
    if not result.ok:
        reason = explain_failure(result)
        raise PermissionMissing(reason) if "needs root" in reason else CollectorError(reason)
    facts = parse_sshd_t(result.stdout)
    if not facts.options:
        raise CollectorError("`sshd -T` printed no configuration")
    return replace(facts, note=note)


def in_private_namespace(folder: str) -> Command:
    """`sshd -T` run where `folder` (a privilege separation directory) exists on a tmpfs over its parent, in a
    mount namespace of its own: nothing is created on the host. `folder` must be one of PRIVSEP_DIRS."""
    parent = posixpath.dirname(folder)
    if folder not in PRIVSEP_DIRS or parent in ("", "/"):
        raise ValueError(f"not a known privilege separation directory: {folder!r}")
    return cmd("unshare", "--mount", "--propagation", "private", "sh", "-c", _NAMESPACE_SCRIPT, "sh",
               parent, folder, *SSHD_T.argv, sudo=True, timeout=SSHD_T.timeout)


def _never_ran(folder: str) -> str:
    return (f"sshd has never run on this host: its privilege separation directory {folder} does not exist, so "
            "`sshd -T` refuses to print its configuration")


def _retry_for(folder: str) -> Command:
    if folder not in PRIVSEP_DIRS:
        shown = folder[:200]
        raise CollectorError(
            f"{_never_ran(shown)}; {shown} is not a known privilege separation directory "
            f"({', '.join(sorted(PRIVSEP_DIRS))}), so it was not read in a private mount namespace either, and "
            "nothing was created on the host")
    return in_private_namespace(folder)


def _raise_if_namespace_failed(result: CommandResult, folder: str) -> None:
    """The retry could not set up its namespace (no unshare, no CAP_SYS_ADMIN, no sudo right for it): say so."""
    if result.ok:
        return
    text = result.stderr.strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # The failing step's own line (mount adds a hint about dmesg after it), else the last one.
    said = next((line for line in lines if line.startswith(_NAMESPACE_FAILURES)), lines[-1] if lines else "")
    cause = (f"{_never_ran(folder)}; reading it in a private mount namespace was not possible here "
             f"({said[:200] or f'exit status {result.exit_status}'})")
    if "sudo:" in text:
        raise PermissionMissing(f"{cause}: the scanning account may not run unshare with sudo -n; nothing was "
                                f"created on the host. Allow `unshare` in its sudo rule, scan as root, or start "
                                f"the ssh service once (that creates {folder})")
    if result.not_found or result.exit_status == 126 or _MISSING_PRIVSEP.search(text) or \
            any(line.startswith(_NAMESPACE_FAILURES) for line in lines):
        raise CollectorError(f"{cause}; nothing was created on the host. Start the ssh service once (that "
                             f"creates {folder}) or scan where `unshare --mount` is permitted (root with "
                             "CAP_SYS_ADMIN)")


def explain_failure(result: CommandResult) -> str:
    """Why `sshd -T` gave no configuration: no root or sudo refused (each with what to grant), else the one
    wording every collector uses for a failed command (a broken config names its file and line there)."""
    text = result.stderr.strip()
    last = text.splitlines()[-1] if text else ""
    if "sudo:" in text:
        return (f"`sshd -T` needs root and sudo -n was refused on this target ({last}); give the scanning "
                "account a NOPASSWD sudo rule for sshd -T, or scan as root")
    if "no hostkeys available" in text or "Permission denied" in text:
        return ("`sshd -T` needs root to load the host keys; scan as root or set sudo: true for this target "
                f"({last})")
    return result.failure()


def parse_sshd_t(text: str) -> SshdFacts:
    """`sshd -T` output (one `keyword value` per line) -> facts."""
    options: dict[str, str] = {}
    for line in text.splitlines():
        keyword, _, value = line.strip().partition(" ")
        if keyword and not keyword.startswith("#"):
            options.setdefault(keyword.lower(), value.strip())
    # OpenSSH before 8.5 calls PubkeyAcceptedAlgorithms PubkeyAcceptedKeyTypes.
    if "pubkeyacceptedalgorithms" not in options and "pubkeyacceptedkeytypes" in options:
        options["pubkeyacceptedalgorithms"] = options["pubkeyacceptedkeytypes"]
    lists = {key: tuple(v for v in options.get(key, "").split(",") if v) for key in _LISTS}
    return SshdFacts(installed=True, options=options, lists=lists)
