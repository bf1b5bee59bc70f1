"""The transport seam: run a command, read a file. Everything that touches a host goes through it."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import field
from typing import Protocol

from auditor.errors import CollectorError
from auditor.records import record

# Exit statuses with a meaning shared by every transport (the POSIX shell's conventions).
NOT_FOUND = 127
NOT_EXECUTABLE = 126
TIMED_OUT = 124

# A fact larger than this is cut and marked truncated: a hostile host cannot fill our disk or memory.
MAX_FACT_BYTES = 8 * 1024 * 1024

# What tools, the kernel and sudo print when the scanning account lacks the rights to ask.
_NEEDS_ROOT = ("must be root", "be root", "operation not permitted", "permission denied", "password is required",
               "a terminal is required", "not in the sudoers", "administrator access")
# ERROR_ACCESS_DENIED as Windows tools print it, whatever the language of the sentence around it.
_ACCESS_DENIED = ("0x00000005", "0x80070005")
_TIMED_OUT_AFTER = re.compile(r"timed out after (\S+ s)\b")
_NAME_CHARS = 60  # a command named in a sentence is cut after the words that fit
_SAID_CHARS = 200


@record
class Command:
    """A command as an argument list: never a shell string, so target data is never interpolated.

    Attributes:
        argv: the program and its arguments.
        sudo: run through `sudo -n` (never prompts) when the scanning account is not root.
        timeout: seconds before the command is killed and reported as timed out.
        slow: known to take long (an interpreter that reads a package database, a server's --help): started
            before the others of its batch, so it is not what the batch waits for last. Not part of its identity.
        replaces: the command lines earlier auditor versions ran for the same fact, newest first: a replay of
            a run they recorded answers from those (transports/replay.py). A line that held a whole script is
            given as DIGEST and its SHA-256 in hex. Not part of its identity.
    """

    argv: tuple[str, ...]
    sudo: bool = False
    timeout: float = 20.0
    slow: bool = field(default=False, compare=False)
    replaces: tuple[str, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        return shlex.join(self.argv)


def cmd(*argv: str, sudo: bool = False, timeout: float = 20.0, slow: bool = False,
        replaces: tuple[str, ...] = ()) -> Command:
    """Shorthand used by collectors: cmd("timedatectl", "show")."""
    return Command(tuple(argv), sudo=sudo, timeout=timeout, slow=slow, replaces=replaces)


def slow_first(commands: Iterable[Command]) -> list[Command]:
    """The slow commands first: a batch then ends with the many quick ones, not waiting on one started late."""
    return sorted(commands, key=lambda c: not c.slow)


DIGEST = "sha256:"  # Command.replaces: an earlier command line by its SHA-256


@record
class CommandResult:
    command: str  # shlex-joined argv, the key under which it is recorded
    exit_status: int
    stdout: str
    stderr: str = ""
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    @property
    def not_found(self) -> bool:
        return self.exit_status == NOT_FOUND

    @property
    def timed_out(self) -> bool:
        return self.exit_status == TIMED_OUT

    def raise_for_status(self) -> None:
        """Raise CollectorError saying why the command failed (see `failure`)."""
        if not self.ok:
            raise CollectorError(self.failure())

    def failure(self) -> str:
        """Why this command gave no answer, in the one wording every collector uses:

            `auditctl` is not installed                           exit 127, or sudo's "command not found"
            `apt list --upgradable` timed out after 20 s          exit 124
            `auditctl -s` needs root: You must be root to ...     a permission problem, or sudo refused
            `auditpol ...` needs administrator rights: Error ...  a Windows ERROR_ACCESS_DENIED code
            `lsblk -J -b -o …` exited 1: <what the tool said>     anything else (126: "could not be started")

        What the tool said is its first meaningful line of stderr (of stdout when stderr is empty; the last line
        of a Python traceback), without warnings, cut to 200 characters. A long command is named by its first
        words. Call it on a failed result only.
        """
        name = _short(self.command)
        text = self.stderr if _said(self.stderr) else self.stdout
        said = _said(text)
        if self.not_found or re.fullmatch(r"sudo: .*: command not found", self.stderr.strip()):
            return f"`{_program(self.command)}` is not installed"
        if self.timed_out:
            after = _TIMED_OUT_AFTER.search(self.stderr)
            return f"`{name}` timed out after {after.group(1)}" if after else \
                f"`{name}` timed out" + (f": {said}" if said else "")
        if self.exit_status == NOT_EXECUTABLE:
            return f"`{name}` could not be started" + (f": {said}" if said else "")
        if any(code in self.stdout + self.stderr for code in _ACCESS_DENIED):
            return f"`{name}` needs administrator rights" + (f": {said}" if said else "")
        # Any other complaint of sudo's (it never prompts: -n) means it would not run the command as root.
        denied = _said(text, _NEEDS_ROOT) or _said(text, ("sudo:",))
        if denied:
            return f"`{name}` needs root: {denied}"
        return f"`{name}` exited {self.exit_status}" + (f": {said}" if said else "")


def _program(command: str) -> str:
    """The program a command runs: `env NAME=value dconf dump` runs dconf."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split(" ")
    if words[:1] == ["env"]:
        words = [word for word in words[1:] if "=" not in word] or words
    return words[0] if words else command


def _short(command: str) -> str:
    """The command as recorded, or its first words and "…" when it is longer than _NAME_CHARS."""
    if len(command) <= _NAME_CHARS:
        return command
    try:
        words = [shlex.quote(word) for word in shlex.split(command)]
    except ValueError:
        words = command.split(" ")
    kept = words[:1]
    for word in words[1:]:
        if len(" ".join([*kept, word])) > _NAME_CHARS:
            break
        kept.append(word)
    return " ".join([*kept, "…"])


def _said(text: str, markers: tuple[str, ...] = ()) -> str:
    """The line of a tool's output that says what went wrong ("" when there is none, or none with `markers`)."""
    # A Windows tool may answer in UTF-16 that reached us as UTF-8 with NULs, and with a BOM.
    lines = [line.strip() for line in text.replace("\x00", "").lstrip("\ufeff").splitlines()]
    lines = [line for line in lines if line and not line.lower().startswith(("warning:", "w: "))]
    picked = [i for i, line in enumerate(lines) if not markers or any(marker in line.lower() for marker in markers)]
    if not picked:
        return ""
    # Python says what went wrong on the last line of a traceback.
    i = picked[-1] if lines[0].startswith("Traceback (most recent call last)") else picked[0]
    # "Error 0x00000005 occurred:" is followed by what occurred.
    said = f"{lines[i]} {lines[i + 1]}" if lines[i].endswith(":") and i + 1 < len(lines) else lines[i]
    return said[:_SAID_CHARS]


IS_A_DIRECTORY = "is a directory"  # FileContent.error of a path that names a folder


@record
class FileContent:
    """A file read from a target. `exists` is False for a missing file; `error` holds why a read failed."""

    path: str
    exists: bool
    data: bytes = b""
    error: str = ""
    truncated: bool = False

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


class Transport(Protocol):
    """How the runner reaches one target. Implementations: local, replay, ssh, ssh_network (no login), tls."""

    target: str

    def run(self, command: Command) -> CommandResult:
        """Run one command with LC_ALL=C; a missing program gives exit status 127, never an exception."""
        ...

    def read_file(self, path: str) -> FileContent:
        """Read one file; a missing file gives exists=False, never an exception."""
        ...

    def run_many(self, commands: Sequence[Command]) -> list[CommandResult]:
        """Run several commands in as few round trips as the transport can; results in order."""
        ...

    def read_many(self, paths: Sequence[str]) -> list[FileContent]:
        """Read several files in as few round trips as the transport can; results in order."""
        ...

    def close(self) -> None: ...


def fetch(transport: Transport, commands: Sequence[Command],
          paths: Sequence[str]) -> tuple[list[CommandResult], list[FileContent]]:
    """Commands and files together: in one round trip where the transport can (SSH has `fetch`), else two calls."""
    together = getattr(transport, "fetch", None)
    if together is not None:
        return together(commands, paths)  # type: ignore[no-any-return]
    return (transport.run_many(commands) if commands else [], transport.read_many(paths) if paths else [])
