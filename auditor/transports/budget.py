"""What one target may cost the scanner: evidence bytes in all, and files read per collector.

A hostile or broken host can answer every command with the most a fact may hold (8 MiB), or list thousands of
files for a collector to read. Without a bound per target, memory and the evidence folder grow with what the
target sends. With it, they grow with the number of targets scanned at once:

    evidence_budget_mb   (default 64)   facts of one target, stdout + stderr + file content, all together, as
                                        recorded (UTF-8 JSON text; a binary file in base64)
    max_listed_files     (default 200)  files one collector may read on one target

Both are inventory fields of a target (docs/targets.md, "Limits"). A fact that does not fit is kept as far as
it fits, marked truncated, and the reason is recorded with it; the collector that asked for it is then not
assessed (its checks say why), never judged on half a fact.
"""

from __future__ import annotations

import dataclasses
import json
import threading

from auditor.models import Target
from auditor.records import record
from auditor.transports.base import CommandResult, FileContent

MIB = 1024 * 1024
DEFAULT_EVIDENCE_MB = 64
DEFAULT_LISTED_FILES = 200


@record
class Limits:
    """One target's limits (see the module docstring)."""

    evidence_bytes: int = DEFAULT_EVIDENCE_MB * MIB
    listed_files: int = DEFAULT_LISTED_FILES

    @classmethod
    def of(cls, target: Target) -> Limits:
        """The target's own limits from its inventory options, the defaults otherwise."""
        options = target.options
        return cls(int(options.get("evidence_budget_mb", DEFAULT_EVIDENCE_MB)) * MIB,
                   int(options.get("max_listed_files", DEFAULT_LISTED_FILES)))


class Budget:
    """The evidence bytes one target has left; facts are charged as they arrive, from any thread.

    `cut` maps each fact that did not fit (its command or path) to why: what the recorder writes beside it.
    """

    def __init__(self, limit_bytes: int) -> None:
        self.limit = limit_bytes
        self.spent = 0
        self.cut: dict[str, str] = {}
        self._lock = threading.Lock()

    def _take(self, source: str, size: int) -> int:
        """Charge `size` bytes; how many of them fit (all, or what was left)."""
        with self._lock:
            allowed = min(size, self.limit - self.spent)
            self.spent += allowed
            if allowed < size:
                self.cut[source] = (f"the target's evidence budget ({self.limit // MIB} MiB, evidence_budget_mb) "
                                    f"was spent: {size - allowed} of {size} bytes not kept")
            return allowed

    def command(self, result: CommandResult) -> CommandResult:
        """The result as far as it fits (stdout first), marked truncated when it did not."""
        out, err = _recorded_size(result.stdout), _recorded_size(result.stderr)
        allowed = self._take(result.command, out + err)
        if allowed == out + err:
            return result
        # Cut in characters, in the proportion of the recorded bytes that fit.
        stdout = result.stdout[:len(result.stdout) * min(allowed, out) // max(out, 1)]
        stderr = result.stderr[:len(result.stderr) * max(allowed - out, 0) // max(err, 1)]
        return dataclasses.replace(result, stdout=stdout, stderr=stderr, truncated=True)

    def file(self, content: FileContent) -> FileContent:
        """The file's content as far as it fits, marked truncated when it did not."""
        try:
            size = _recorded_size(content.data.decode("utf-8"))
        except UnicodeDecodeError:
            size = (len(content.data) + 2) // 3 * 4  # recorded in base64
        allowed = self._take(content.path, size)
        if allowed == size:
            return content
        return dataclasses.replace(content, data=content.data[:len(content.data) * allowed // size], truncated=True)

    @property
    def spent_out(self) -> bool:
        """Nothing more fits: what a target still sends is not worth reading."""
        with self._lock:
            return self.spent >= self.limit

    def not_read(self, source: str) -> str:
        """Note that the fact `source` was not even read, the budget being spent; why, in words."""
        with self._lock:
            self.cut[source] = (f"not collected: the target's evidence budget ({self.limit // MIB} MiB, "
                                "evidence_budget_mb) was spent before it")
            return self.cut[source]

    def reason(self, source: str) -> str:
        """Why the fact `source` was cut ("" when it was not)."""
        with self._lock:
            return self.cut.get(source, "")


def _recorded_size(text: str) -> int:
    """The bytes `text` takes in an evidence record: UTF-8, with JSON's escapes (a control character takes 6)."""
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2
