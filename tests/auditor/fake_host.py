"""A Transport answering from a dict, for collector unit tests (no monkeypatching, no host)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from auditor.errors import FactMissing
from auditor.transports.base import NOT_FOUND, Command, CommandResult, FileContent


class FakeHost:
    def __init__(self, commands: Mapping[str, CommandResult], files: Mapping[str, bytes] | None = None) -> None:
        self.target = "fake"
        self._commands = dict(commands)
        self._files = dict(files or {})
        self.calls: list[str] = []

    def run(self, command: Command) -> CommandResult:
        self.calls.append(str(command))
        return self._commands.get(str(command), CommandResult(str(command), NOT_FOUND, "", "not found"))

    def read_file(self, path: str) -> FileContent:
        self.calls.append(path)
        data = self._files.get(path)
        return FileContent(path, data is not None, data or b"")

    def run_many(self, commands: Sequence[Command]) -> list[CommandResult]:
        return [self.run(c) for c in commands]

    def read_many(self, paths: Sequence[str]) -> list[FileContent]:
        return [self.read_file(p) for p in paths]

    def close(self) -> None:
        """Nothing to close."""


class OlderRecording(FakeHost):
    """A replay of a run recorded before a collector asked what it asks now: a command the run did not record
    raises FactMissing, as the replay transport does, instead of answering "not found"."""

    def run(self, command: Command) -> CommandResult:
        if str(command) not in self._commands:
            raise FactMissing(self.target, f"command {command}", "evidence", [])
        return super().run(command)
