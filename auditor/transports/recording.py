"""The recording transport: every fact a collector reads is fetched once per target, stored as evidence,
and served from cache afterwards. Collectors and checks never write evidence themselves.

It is also where secrets are cut (transports/redaction.py): each result is redacted as the inner transport
returns it, before it is recorded or served, so collectors, the evidence and a later replay see the same text.

`view(collector)` hands a collector a Transport that also notes which facts it consumed, so that
findings can point at exactly the evidence their check rests on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from auditor.clock import Clock
from auditor.models import EvidenceRef
from auditor.transports.base import Command, CommandResult, FileContent, Transport, fetch
from auditor.transports.records import command_record, file_record, with_redacted_text
from auditor.transports.redaction import redact_content, redact_result


class EvidenceSink(Protocol):
    """Where records go (the bundle's evidence store); returns the reference a finding will cite."""

    def save(self, target: str, record: dict[str, Any]) -> EvidenceRef: ...


class RecordingTransport:
    """Wraps a transport: fetches each fact once per target, records it, and serves it from cache."""

    def __init__(self, inner: Transport, sink: EvidenceSink, clock: Clock) -> None:
        self.inner = inner
        self.target = inner.target
        self._sink = sink
        self._clock = clock
        self._commands: dict[Command, tuple[CommandResult, EvidenceRef]] = {}
        self._files: dict[str, tuple[FileContent, EvidenceRef]] = {}
        self._lock = threading.Lock()

    def prefetch(self, commands: Sequence[Command], paths: Sequence[str]) -> None:
        """Gather everything collectors declared, in as few round trips as the transport allows."""
        new_commands = list(dict.fromkeys(c for c in commands if c not in self._commands))
        new_paths = list(dict.fromkeys(p for p in paths if p not in self._files))
        results, contents = fetch(self.inner, new_commands, new_paths)
        for command, result in zip(new_commands, results, strict=True):
            self._remember_command(command, result)
        for path, content in zip(new_paths, contents, strict=True):
            self._remember_file(path, content)

    def run(self, command: Command) -> tuple[CommandResult, EvidenceRef]:
        with self._lock:
            cached = self._commands.get(command)
        return cached or self._remember_command(command, self.inner.run(command))

    def read_file(self, path: str) -> tuple[FileContent, EvidenceRef]:
        with self._lock:
            cached = self._files.get(path)
        return cached or self._remember_file(path, self.inner.read_file(path))

    def view(self, consumer: str) -> ConsumerView:
        return ConsumerView(self, consumer)

    def close(self) -> None:
        self.inner.close()

    def _record(self, kind: str, source: str, cut: bool, fresh: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        original: Callable[[str, str], dict[str, Any]] | None = getattr(self.inner, "original_record", None)
        if original is None:
            return fresh()
        # Replayed facts keep their original record (and time), so their hashes survive a replay; unless an
        # older run stored a secret: then the secret goes and the time stays.
        record = original(kind, source)
        return with_redacted_text(record, fresh()) if cut else record

    def _remember_command(self, command: Command, result: CommandResult) -> tuple[CommandResult, EvidenceRef]:
        result, cut = redact_result(result)
        record = self._record("command", str(command), bool(cut),
                              lambda: command_record(self.target, command, result, self._clock.now(), cut))
        ref = self._sink.save(self.target, record)
        with self._lock:
            self._commands[command] = (result, ref)
        return result, ref

    def _remember_file(self, path: str, content: FileContent) -> tuple[FileContent, EvidenceRef]:
        content, cut = redact_content(content)
        record = self._record("file", path, bool(cut),
                              lambda: file_record(self.target, content, self._clock.now(), cut))
        ref = self._sink.save(self.target, record)
        with self._lock:
            self._files[path] = (content, ref)
        return content, ref


class ConsumerView:
    """The Transport a collector sees: reads through the recorder and remembers what it used."""

    def __init__(self, recorder: RecordingTransport, consumer: str) -> None:
        self.target = recorder.target
        self.consumer = consumer
        self._recorder = recorder
        self.used: list[EvidenceRef] = []

    def run(self, command: Command) -> CommandResult:
        result, ref = self._recorder.run(command)
        self._note(ref)
        return result

    def read_file(self, path: str) -> FileContent:
        content, ref = self._recorder.read_file(path)
        self._note(ref)
        return content

    def run_many(self, commands: Sequence[Command]) -> list[CommandResult]:
        self._recorder.prefetch(commands, ())
        return [self.run(c) for c in commands]

    def read_many(self, paths: Sequence[str]) -> list[FileContent]:
        self._recorder.prefetch((), paths)
        return [self.read_file(p) for p in paths]

    def close(self) -> None:
        """The recorder owns the connection; a collector never closes it."""

    def _note(self, ref: EvidenceRef) -> None:
        if ref not in self.used:
            self.used.append(ref)
