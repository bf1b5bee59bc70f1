"""`sshd -T` where sshd has never run: its privilege separation directory is missing, so sshd refuses; run it in
a private mount namespace where that folder exists on a throw-away tmpfs, so nothing is created on the host."""

from __future__ import annotations

import posixpath
import re

from auditor.transports.base import Command, CommandResult, cmd

# Where OpenSSH builds keep the privilege separation directory (configure --with-privsep-path): Debian and
# Ubuntu /run/sshd (/var/run/sshd before 2017), upstream's default /var/empty (BSDs, Alpine, Arch, Gentoo),
# RHEL and CentOS /var/empty/sshd, Fedora 38+ /usr/share/empty.sshd, openSUSE /var/lib/empty. The path in sshd's
# message comes from the target, so only these are ever mounted over (their parents; never `/`).
PRIVSEP_DIRS = frozenset({"/run/sshd", "/var/run/sshd", "/var/empty", "/var/empty/sshd", "/usr/share/empty.sshd",
                          "/var/lib/empty"})
MISSING_PRIVSEP = re.compile(r"Missing privilege separation directory: (\S+)")
# Run in a mount namespace of its own (`unshare --mount --propagation private`): a tmpfs on $1 holding a new,
# empty $2, then the rest of the arguments (sshd -T ...). The namespace and its tmpfs end when sshd exits. The
# script is a constant: the paths and sshd's arguments are positional parameters, never part of its text.
_NAMESPACE_SCRIPT = ('mount -t tmpfs -o size=64k,mode=0755 auditor "$1" && mkdir -m 0755 "$2" && shift 2 && '
                     'exec "$@"')
# What the namespace's own steps print when they fail (util-linux, BusyBox and the shell); sshd's messages differ.
_NAMESPACE_FAILURES = ("unshare:", "mount:", "mkdir:", "sh:")


def in_private_namespace(folder: str, command: Command) -> Command:
    """`command` (an `sshd -T`) run where `folder` (a privilege separation directory) exists on a tmpfs over its
    parent, in a mount namespace of its own: nothing is created on the host. `folder` must be one of PRIVSEP_DIRS."""
    parent = posixpath.dirname(folder)
    if folder not in PRIVSEP_DIRS or parent in ("", "/"):
        raise ValueError(f"not a known privilege separation directory: {folder!r}")
    return cmd("unshare", "--mount", "--propagation", "private", "sh", "-c", _NAMESPACE_SCRIPT, "sh",
               parent, folder, *command.argv, sudo=True, timeout=command.timeout)


def never_ran(folder: str) -> str:
    return (f"sshd has never run on this host: its privilege separation directory {folder} does not exist, so "
            "`sshd -T` refuses to print its configuration")


def namespace_failed(result: CommandResult) -> bool:
    """The retry's own steps failed (no unshare, no CAP_SYS_ADMIN, sudo refused), not sshd in it."""
    text = result.stderr.strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return ("sudo:" in text or result.not_found or result.exit_status == 126 or bool(MISSING_PRIVSEP.search(text))
            or any(line.startswith(_NAMESPACE_FAILURES) for line in lines))


def namespace_failure(result: CommandResult, folder: str) -> str:
    """Why the namespace retry could not run (no unshare, no CAP_SYS_ADMIN, no sudo right for it)."""
    text = result.stderr.strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # The failing step's own line (mount adds a hint about dmesg after it), else the last one.
    said = next((line for line in lines if line.startswith(_NAMESPACE_FAILURES)), lines[-1] if lines else "")
    cause = (f"{never_ran(folder)}; reading it in a private mount namespace was not possible here "
             f"({said[:200] or f'exit status {result.exit_status}'})")
    if "sudo:" in text:
        return (f"{cause}: the scanning account may not run unshare with sudo -n; nothing was created on the host. "
                f"Allow `unshare` in its sudo rule, scan as root, or start the ssh service once (that creates "
                f"{folder})")
    return (f"{cause}; nothing was created on the host. Start the ssh service once (that creates {folder}) or scan "
            "where `unshare --mount` is permitted (root with CAP_SYS_ADMIN)")
