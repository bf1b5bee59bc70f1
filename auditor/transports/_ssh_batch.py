"""Batching over one long-lived `/bin/sh -s` per SSH channel: many commands and file reads per round trip.

This is the fallback for targets without python3 (the batch runner, _ssh_runner, is used otherwise); the
framing of results and the reader below are shared by both.

Each batch is a POSIX shell script written to the shell's stdin. Every argument is shlex-quoted, so no
target data and no argument is ever interpreted by a shell. Each command's stdout and stderr go to
private temporary files (stdout through `head -c`, which also stops a flooding command with SIGPIPE;
stderr is cut when sent),
and each result comes back as one header line followed by exactly the announced number of bytes:

    <token> <index> <status> <stdout bytes> <stderr bytes>\\n<stdout><stderr>

Lengths, not markers, delimit the output, so output that contains the token cannot forge a result;
the token (random per batch) only detects a desynchronised stream.
"""

from __future__ import annotations

import math
import secrets
import shlex
import time
from collections.abc import Sequence
from typing import Protocol

from auditor.records import record
from auditor.transports.base import (
    IS_A_DIRECTORY,
    MAX_FACT_BYTES,
    TIMED_OUT,
    Command,
    CommandResult,
    FileContent,
)

LIMIT = MAX_FACT_BYTES + 1  # one byte more than a fact may hold tells us it was cut
# Beyond a command's own timeout (which `timeout` enforces on the target): a busy host is slow, not dead.
GRACE_SECONDS = 30.0
_MAX_HEADER = 200
_MAX_NOISE = 64 * 1024
HELLO = b"auditor-shell-ready"  # the prelude's last line: the shell runs our functions from here on

# Status codes of a file read (the shell's own convention in this protocol).
FILE_OK, FILE_MISSING, FILE_DIRECTORY, FILE_ERROR, FILE_SPECIAL = 0, 1, 2, 3, 4

PRELUDE = r"""
umask 077
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}; export PATH
LC_ALL=C; LANG=C; export LC_ALL LANG
__D=$(mktemp -d 2>/dev/null) || { echo "auditor: mktemp -d failed on the target" >&2; exit 1; }
trap 'rm -rf "$__D"' EXIT HUP TERM
__S=
if [ "$__USE_SUDO" = 1 ] && [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then __S=sudo; else __S=missing; fi
fi
if command -v timeout >/dev/null 2>&1; then
  __to() { __x=$1; shift; timeout -k 2 "$__x" "$@"; }
else
  __to() { shift; "$@"; }
fi
__em() {
  set -- "$1" "$2" $(wc -c "$__D/o" "$__D/e" 2>/dev/null)
  if [ "${5:-0}" -gt __LIMIT ]; then
    head -c __LIMIT "$__D/e" >"$__D/x"; mv -f "$__D/x" "$__D/e"; set -- "$1" "$2" "$3" x __LIMIT
  fi
  printf '%s %s %s %s %s\n' "$__T" "$1" "$2" "${3:-0}" "${5:-0}"
  cat "$__D/o" "$__D/e" 2>/dev/null
}
__ar() {
  __i=$1 __s=$2 __t=$3; shift 3
  : >"$__D/o"; : >"$__D/e"; : >"$__D/s"
  if [ "$__s" = 1 ] && [ "$__S" = missing ]; then
    printf 'sudo: not installed on the target; cannot run as root\n' >"$__D/e"; __r=1
  else
    if [ "$__s" = 1 ] && [ "$__S" = sudo ]; then set -- sudo -n -- "$@"; fi
    { __to "$__t" "$@" </dev/null 2>"$__D/e"; echo $? >"$__D/s"; } | head -c __LIMIT >"$__D/o"
    read -r __r <"$__D/s" || __r=255; : "${__r:=255}"
  fi
  __em "$__i" "$__r"
}
__af() {
  : >"$__D/o"; : >"$__D/e"
  if [ -d "$2" ]; then __r=2
  elif [ -f "$2" ]; then
    if __to 20 head -c __LIMIT -- "$2" >"$__D/o" 2>"$__D/e" </dev/null; then __r=0; else __r=3; fi
  elif [ -e "$2" ]; then __r=4
  else __r=1; fi
  __em "$1" "$__r"
}
printf '%s\n' __HELLO
""".replace("__LIMIT", str(LIMIT)).replace("__HELLO", HELLO.decode())


@record
class Item:
    """One thing to fetch in a batch: a command, or (command None) the file at `path`."""

    index: int
    command: Command | None = None
    path: str = ""

    @property
    def timeout(self) -> float:
        return self.command.timeout if self.command else 20.0


@record
class Raw:
    """What the shell sent back for one item."""

    status: int
    stdout: bytes
    stderr: bytes


def prelude(use_sudo: bool) -> str:
    """Defines the helper functions; sent once, before a shell's first batch."""
    return f"__USE_SUDO={1 if use_sudo else 0}\n{PRELUDE}"


def script(items: Sequence[Item], token: str, budget: float = 1e9) -> str:
    """The shell text of one batch; ends with `<token> end`.

    No command's timeout outlasts `budget` (what is left of the target's total_timeout): `timeout -k 2` kills
    it then, even when the shell is gone because the channel closed. A target without `timeout` has no such
    bound: a command that ignores SIGTERM there can outlive the scan (the python3 runner has no such gap).
    """
    lines = [f"__T={token}"]
    for item in items:
        if item.command is not None:
            seconds = max(1, math.ceil(min(item.command.timeout, budget)))
            sudo = 1 if item.command.sudo else 0
            lines.append(f"__ar {item.index} {sudo} {seconds} {shlex.join(item.command.argv)}")
        else:
            lines.append(f"__af {item.index} {shlex.quote(item.path)}")
    lines.append('printf \'%s end\\n\' "$__T"')
    return "\n".join(lines) + "\n"


def new_token() -> str:
    return "auditor-" + secrets.token_hex(12)


class ByteSource(Protocol):
    """The reading side of a channel: blocks up to `timeout` seconds; b"" at end of stream."""

    def receive(self, timeout: float) -> bytes: ...


class StreamClosed(Exception):
    """The channel ended before the batch did (the target closed it or died)."""


class StreamTimeout(Exception):
    """No complete result before the deadline."""


class StreamCorrupt(Exception):
    """A header did not parse: the stream lost its framing."""


class FrameReader:
    """Reads framed results from a ByteSource with per-result deadlines."""

    def __init__(self, source: ByteSource) -> None:
        self._source = source
        self._buffer = bytearray()
        self.noise = b""  # what came before the hello line (see sync)

    def _fill(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise StreamTimeout
        chunk = self._source.receive(left)
        if not chunk:
            raise StreamClosed
        self._buffer += chunk

    def _line(self, deadline: float) -> bytes:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) > _MAX_HEADER:
                raise StreamCorrupt(f"header too long: {bytes(self._buffer[:60])!r}")
            self._fill(deadline)

    def _exact(self, size: int, deadline: float) -> bytes:
        while len(self._buffer) < size:
            self._fill(deadline)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def result(self, token: str, deadline: float) -> tuple[int, Raw]:
        """The next (index, raw result)."""
        fields = self._line(deadline).split()
        if len(fields) != 5 or fields[0].decode(errors="replace") != token:
            raise StreamCorrupt(f"unexpected header {b' '.join(fields)[:80]!r}")
        try:
            index, status, out_size, err_size = (int(f) for f in fields[1:])
        except ValueError:
            raise StreamCorrupt(f"unexpected header {b' '.join(fields)[:80]!r}") from None
        if not (0 <= out_size <= LIMIT and 0 <= err_size <= LIMIT):
            raise StreamCorrupt(f"implausible sizes {out_size}/{err_size}")
        out = self._exact(out_size, deadline)
        err = self._exact(err_size, deadline)
        return index, Raw(status, out, err)

    def sync(self, marker: bytes, deadline: float) -> None:
        """Skip what comes before the line `marker`: a login script may print a banner before the shell or
        runner starts. What was skipped is kept in `noise` for error messages; more than _MAX_NOISE is an error."""
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                if line.rstrip(b"\r") == marker:
                    return
                self.noise += line + b"\n"
            if len(self.noise) + len(self._buffer) > _MAX_NOISE:
                raise StreamCorrupt(f"more than {_MAX_NOISE} bytes came before the batch started: "
                                    f"{self.noise[:80]!r}")
            if end < 0:
                try:
                    self._fill(deadline)
                except StreamClosed:
                    self.noise += bytes(self._buffer)
                    raise

    def end(self, token: str, deadline: float) -> None:
        line = self._line(deadline)
        if line != f"{token} end".encode():
            raise StreamCorrupt(f"expected the end of the batch, got {line[:80]!r}")


def _text(data: bytes) -> tuple[str, bool]:
    return data[:MAX_FACT_BYTES].decode("utf-8", errors="replace"), len(data) > MAX_FACT_BYTES


def command_result(command: Command, raw: Raw) -> CommandResult:
    stdout, cut_out = _text(raw.stdout)
    stderr, cut_err = _text(raw.stderr)
    program = command.argv[0] if command.argv else ""
    # `timeout` (127) and `sudo` (1) word a missing program their own way; say it as a shell would.
    missing = (raw.status == 127 and any(w in stderr for w in ("failed to run", "not found", "No such file"))) or (
        raw.status == 1 and stderr.strip() == f"sudo: {program}: command not found")
    if missing or (raw.status == 127 and not stderr):
        return CommandResult(str(command), 127, "", f"{program}: command not found")
    if raw.status == TIMED_OUT and not stderr:
        stderr = f"timed out after {command.timeout:g} s"
    return CommandResult(str(command), raw.status, stdout, stderr, cut_out or cut_err)


def file_content(path: str, raw: Raw) -> FileContent:
    if raw.status == FILE_MISSING:
        return FileContent(path, exists=False)
    if raw.status == FILE_DIRECTORY:
        return FileContent(path, exists=True, error=IS_A_DIRECTORY)
    if raw.status == FILE_SPECIAL:
        return FileContent(path, exists=True, error="not a regular file")
    if raw.status != FILE_OK:
        # head's message ends with the system's reason, e.g. "...for reading: Permission denied".
        reason = raw.stderr.decode("utf-8", errors="replace").strip().rsplit(": ", 1)[-1]
        return FileContent(path, exists=True, error=reason or f"read failed (status {raw.status})")
    return FileContent(path, True, raw.stdout[:MAX_FACT_BYTES], truncated=len(raw.stdout) > MAX_FACT_BYTES)


def timed_out(item: Item, why: str) -> CommandResult | FileContent:
    """The stand-in result of an item whose answer did not arrive in time."""
    if item.command is not None:
        return CommandResult(str(item.command), TIMED_OUT, "", why, False)
    return FileContent(item.path, exists=True, error=why)
