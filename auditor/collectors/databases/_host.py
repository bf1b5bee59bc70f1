"""What the PostgreSQL and MySQL collectors share on a host: the server processes, their command lines, files
read with the scanning account's rights (and with sudo where those do not reach), and cipher strings expanded by
the host's own OpenSSL.

Processes are found in two steps: `ps -e -o comm=` (which the VPN collector asks too, so a host without a database
costs no extra command), then, only when a server runs, `ps -C NAMES -o pid=,ppid=` and each process's
/proc/PID/cmdline, which keeps the arguments exactly as the server got them (NUL-separated).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from auditor.errors import CollectorError, PermissionMissing
from auditor.records import record
from auditor.transports.base import Command, FileContent, Transport, cmd

PROCESS_NAMES = cmd("ps", "-e", "-o", "comm=")
# An OpenSSL cipher string as servers accept it: never an option (a leading "-") and never a path or a space.
_CIPHER_STRING = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!+:@=_.,-]{0,1023}$")
_DENIED = ("permission denied", "operation not permitted")


@record
class Process:
    """A server process: its id, its parent's, and its arguments as it was started."""

    pid: int
    ppid: int
    argv: tuple[str, ...]


@record
class Suite:
    """One cipher suite a cipher string allows, as `openssl ciphers -v` names it.

    Attributes:
        protocol: the oldest protocol it belongs to (TLSv1.3, TLSv1.2, SSLv3, ...).
        encryption: OpenSSL's Enc= column, e.g. AESGCM(256), CHACHA20/POLY1305(256), 3DES(168).
        bulk: AES, CHACHA20, CAMELLIA, ARIA, 3DES, ...; bits: the key size in the Enc= column.
    """

    name: str
    protocol: str
    encryption: str
    bulk: str
    bits: int


def running(host: Transport, names: Iterable[str]) -> tuple[Process, ...]:
    """The processes with these command names whose parent is not one of them (a postmaster, not its backends)."""
    wanted = tuple(names)
    listed = host.run(PROCESS_NAMES)
    if not listed.ok:
        raise CollectorError(f"the running processes could not be listed: {listed.failure()}")
    if not set(listed.stdout.split()) & set(wanted):
        return ()
    found = host.run(cmd("ps", "-C", ",".join(wanted), "-o", "pid=,ppid="))
    pairs = [tuple(int(n) for n in line.split()) for line in found.stdout.splitlines()
             if re.fullmatch(r"\s*\d+\s+\d+\s*", line)]
    pids = {pid for pid, _ in pairs}
    leaders = [(pid, ppid) for pid, ppid in pairs if ppid not in pids]
    contents = host.read_many([f"/proc/{pid}/cmdline" for pid, _ in leaders])
    return tuple(Process(pid, ppid, tuple(a.decode("utf-8", "replace") for a in c.data.split(b"\0") if a))
                 for (pid, ppid), c in zip(leaders, contents, strict=True) if c.exists and c.data)


@record
class Read:
    """A file as read from the host: its text, or None and why not."""

    path: str
    text: str | None
    problem: str = ""


def read_files(host: Transport, paths: Sequence[str]) -> dict[str, Read]:
    """Read files as the scanning account; those it may not read are read again through sudo (`cat`)."""
    found: dict[str, Read] = {}
    retry: list[str] = []
    for content in host.read_many(list(paths)):
        if _denied(content):
            retry.append(content.path)
        elif content.exists and not content.error:
            found[content.path] = Read(content.path, content.text)
        else:
            found[content.path] = Read(content.path, None, content.error or "does not exist")
    if retry:
        results = host.run_many([cmd("cat", "--", path, sudo=True) for path in retry])
        for path, result in zip(retry, results, strict=True):
            if result.ok:
                found[path] = Read(path, result.stdout)
            elif "no such file" in result.stderr.lower():
                found[path] = Read(path, None, "does not exist")
            else:
                raise PermissionMissing(f"{path} could not be read: {result.failure()}; scan as root or set "
                                        "sudo: true for this target")
    return {path: found[path] for path in paths}


def _denied(content: FileContent) -> bool:
    return content.exists and any(word in content.error.lower() for word in _DENIED)


def list_folder(host: Transport, folder: str, suffix: str) -> tuple[str, ...] | None:
    """The regular files in `folder` whose names end in `suffix`, sorted by name; None when it does not exist."""
    result = host.run(cmd("find", folder, "-mindepth", "1", "-maxdepth", "1", "-type", "f", "-name", f"*{suffix}",
                          sudo=True))
    if not result.ok:
        if "no such file" in result.stderr.lower():
            return None
        failure = result.failure()
        if "` needs root: " in failure:  # sudo refused, or the account may not read it: the checks are skipped
            raise PermissionMissing(f"the folder {folder} could not be listed: {failure}; scan as root or set "
                                    "sudo: true for this target (with the right to run find as root)")
        raise CollectorError(f"the folder {folder} could not be listed: {failure}")
    names = [line for line in result.stdout.splitlines() if line.startswith(folder)]
    return tuple(sorted(names, key=lambda p: p.rsplit("/", 1)[-1]))


def cipher_command(cipher_string: str) -> Command:
    """`openssl ciphers -v STRING` on the host: what its own OpenSSL makes of a server's cipher string."""
    if not _CIPHER_STRING.match(cipher_string):
        raise CollectorError(f"the cipher string {cipher_string[:80]!r} is not one OpenSSL accepts, so it was not "
                             "expanded")
    return cmd("openssl", "ciphers", "-v", cipher_string)


def expand_ciphers(host: Transport, cipher_string: str) -> tuple[tuple[Suite, ...], str]:
    """(suites the string allows, why it could not be expanded): the TLS 1.2-and-older suites only, since a
    cipher string never governs TLS 1.3 (its suites have a setting of their own)."""
    try:
        command = cipher_command(cipher_string)
    except CollectorError as exc:
        return (), str(exc)
    result = host.run(command)
    if not result.ok:
        return (), result.failure()
    return tuple(s for s in parse_openssl_ciphers(result.stdout) if s.protocol != "TLSv1.3"), ""


def parse_openssl_ciphers(text: str) -> tuple[Suite, ...]:
    """`openssl ciphers -v` lines: NAME PROTOCOL Kx=.. Au=.. Enc=ALG(BITS) Mac=.."""
    suites = []
    for line in text.splitlines():
        words = line.split()
        encryption = next((w.removeprefix("Enc=") for w in words if w.startswith("Enc=")), "")
        match = re.match(r"([A-Za-z0-9-]+?)(?:GCM|CCM8|CCM)?(?:/[A-Z0-9]+)?\((\d+)\)$", encryption)
        if len(words) < 2 or not match:
            continue
        family = match.group(1).upper()
        bulk = "AES" if family.startswith("AES") else "CHACHA20" if family.startswith("CHACHA20") else family
        suites.append(Suite(words[0], words[1], encryption, bulk, int(match.group(2))))
    return tuple(suites)
