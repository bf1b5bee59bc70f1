"""Whether a collector's questions were answered: a command killed at its time budget said nothing.

A collector turns what its commands printed into facts, and a check judges the facts. A command that timed out
printed nothing, so facts made from it are partly made of nothing: `timedatectl show` hanging while chrony is not
installed would read as "no time synchronisation" and fail a check on a host that never said so; `ss` hanging
would read as "nothing listens" and pass one. The runner therefore hands each collector its transport through an
`AnswerWatch`: when any of the collector's commands timed out, its facts are not judged and its checks are errors
naming the command; a target where nothing any collector asked was answered is not assessed.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.models import EvidenceRef
from auditor.transports.base import Command, CommandResult, FileContent
from auditor.transports.recording import ConsumerView


class AnswerWatch:
    """A collector's Transport (the recorder's view) that notes which of its questions got an answer."""

    def __init__(self, view: ConsumerView) -> None:
        self.target = view.target
        self._view = view
        self._answered = 0
        self._timed_out: list[str] = []

    @property
    def used(self) -> list[EvidenceRef]:
        """The evidence the collector consumed (the view's)."""
        return self._view.used

    @property
    def heard(self) -> bool:
        """Some command or file read of the collector's got an answer."""
        return self._answered > 0

    def timeouts(self) -> str:
        """Which of the collector's commands timed out, in words ("" when none did)."""
        if not self._timed_out:
            return ""
        more = f" (and {len(self._timed_out) - 1} more of its commands timed out)" if len(self._timed_out) > 1 else ""
        return f"{self._timed_out[0]}{more}"

    def run(self, command: Command) -> CommandResult:
        return self._noted(self._view.run(command))

    def read_file(self, path: str) -> FileContent:
        content = self._view.read_file(path)
        self._answered += not content.error  # a missing file is an answer too; a failed read is not
        return content

    def run_many(self, commands: Sequence[Command]) -> list[CommandResult]:
        return [self._noted(result) for result in self._view.run_many(commands)]

    def read_many(self, paths: Sequence[str]) -> list[FileContent]:
        contents = self._view.read_many(paths)
        self._answered += sum(not content.error for content in contents)
        return contents

    def close(self) -> None:
        """The recorder owns the connection; a collector never closes it."""

    def _noted(self, result: CommandResult) -> CommandResult:
        if result.timed_out:
            self._timed_out.append(result.failure())
        else:
            self._answered += 1
        return result
