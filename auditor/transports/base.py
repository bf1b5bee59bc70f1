"""The transport seam: run a command, read a file. Everything that touches a host goes through it."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from auditor.errors import CollectorError

# Exit statuses with a meaning shared by every transport (the POSIX shell's conventions).
NOT_FOUND = 127
NOT_EXECUTABLE = 126
TIMED_OUT = 124

# A fact larger than this is cut and marked truncated: a hostile host cannot fill our disk or memory.
MAX_FACT_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Command:
    """A command as an argument list: never a shell string, so target data is never interpolated.

    Attributes:
        argv: the program and its arguments.
        sudo: run through `sudo -n` (never prompts) when the scanning account is not root.
        timeout: seconds before the command is killed and reported as timed out.
    """

    argv: tuple[str, ...]
    sudo: bool = False
    timeout: float = 20.0

    def __str__(self) -> str:
        return shlex.join(self.argv)


def cmd(*argv: str, sudo: bool = False, timeout: float = 20.0) -> Command:
    """Shorthand used by collectors: cmd("timedatectl", "show")."""
    return Command(tuple(argv), sudo=sudo, timeout=timeout)


@dataclass(frozen=True)
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
        """Raise CollectorError naming the command, its exit status and the tail of stderr."""
        if not self.ok:
            tail = self.stderr.strip().splitlines()[-1:] or [""]
            raise CollectorError(f"`{self.command}` exited {self.exit_status}: {tail[0][:200]}".rstrip(": "))


@dataclass(frozen=True)
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
