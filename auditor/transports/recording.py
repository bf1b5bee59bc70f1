"""The recording transport: every fact a collector reads is fetched once per target, stored as evidence,
and served from cache afterwards. Collectors and checks never write evidence themselves.

It is also where secrets are cut (transports/redaction.py): each result is redacted as the inner transport
returns it, before it is recorded or served, so collectors, the evidence and a later replay see the same text.

`view(collector)` hands a collector a Transport that also notes which facts it consumed, so that
findings can point at exactly the evidence their check rests on.

It also keeps the target within its limits (transports/budget.py): every fact is charged to the target's
evidence budget as it arrives (by the SSH transport itself, which charges each answer of a batch as it is read,
so a batch never holds more than the budget), and a view reads at most `listed_files` files. A view notes in
`limited` why a fact it used was cut or a file left unread, so that the runner does not judge on it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from auditor.clock import Clock
from auditor.models import EvidenceRef
from auditor.transports.base import Command, CommandResult, FileContent, Transport, fetch
from auditor.transports.budget import Budget, Limits
from auditor.transports.records import command_record, file_record, with_redacted_text
from auditor.transports.redaction import redact_content, redact_result

log = logging.getLogger(__name__)
Fact = TypeVar("Fact")

class EvidenceSink(Protocol):
    """Where records go (the bundle's evidence store); returns the reference a finding will cite."""

    def save(self, target: str, record: dict[str, Any], same_as: tuple[str, str] | None = None) -> EvidenceRef:
        """same_as: an existing file that may hold these very bytes, and its SHA-256 (a replayed record)."""
        ...


class RecordingTransport:
    """Wraps a transport: fetches each fact once per target, records it, and serves it from cache."""

    def __init__(self, inner: Transport, sink: EvidenceSink, clock: Clock, limits: Limits | None = None) -> None:
        self.inner = inner
        self.target = inner.target
        self._sink = sink
        self._clock = clock
        self.limits = limits or Limits()
        self.budget = Budget(self.limits.evidence_bytes)
        # A transport that charges answers as they arrive (SSH) gets the budget; the others are charged here.
        self._inner_charges = hasattr(inner, "budget")
        if self._inner_charges:
            inner.budget = self.budget  # type: ignore[attr-defined]
        self._commands: dict[Command, tuple[CommandResult, EvidenceRef]] = {}
        self._files: dict[str, tuple[FileContent, EvidenceRef]] = {}
        # Facts being fetched, so that collectors asking at once (on a transport that runs them together) fetch
        # and record each fact once: a record saved twice would list one fact twice in the manifest.
        self._fetching: dict[Command | str, threading.Event] = {}
        self._pool: ThreadPoolExecutor | None = None  # background fetches (start), on a concurrent transport
        self._at_once = int(getattr(inner, "commands_at_once", 1))  # what the transport itself runs together
        self._lock = threading.Lock()

    @property
    def concurrent(self) -> bool:
        """The transport runs commands side by side (this machine): facts may be fetched in the background."""
        return self._at_once > 1

    def prefetch(self, commands: Sequence[Command], paths: Sequence[str]) -> None:
        """Gather everything collectors declared, in as few round trips as the transport allows."""
        if self.concurrent:
            self.start(commands, ())
            for command in dict.fromkeys(commands):
                self.run(command)  # its answer, once it has come
            commands = ()
        self._batch(commands, paths)

    def _batch(self, commands: Sequence[Command], paths: Sequence[str]) -> None:
        """What no one is fetching yet, in one call to the transport."""
        new_commands = self._claim(list(dict.fromkeys(commands)))
        new_paths = self._claim(list(dict.fromkeys(paths)))
        try:
            results, contents = fetch(self.inner, new_commands, new_paths)
            for command, result in zip(new_commands, results, strict=True):
                self._remember_command(command, result)
            for path, content in zip(new_paths, contents, strict=True):
                self._remember_file(path, content)
        finally:
            self._release([*new_commands, *new_paths])

    def start(self, commands: Sequence[Command], paths: Sequence[str]) -> None:
        """Where the transport runs commands side by side: start the commands in the background (each answer is
        recorded on its thread as it comes), read the files while they run, and return; a collector asking for
        a command later waits for it. Elsewhere nothing: prefetch() gathers them in one batch."""
        if not self.concurrent:
            return
        for command in self._claim(list(dict.fromkeys(commands))):
            self._background().submit(self._fetch_claimed, command)
        self._batch((), paths)

    def _background(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._at_once, thread_name_prefix="fetch")
            return self._pool

    def _fetch_claimed(self, command: Command) -> None:
        try:
            self._remember_command(command, self.inner.run(command))
        except Exception as exc:  # the collector that asks for it fetches it again and meets the error itself
            log.debug("%s: %s failed in the background: %s", self.target, command, exc)
        finally:
            self._release([command])

    def run(self, command: Command) -> tuple[CommandResult, EvidenceRef]:
        return self._once(command, self._commands, lambda: self._remember_command(command, self.inner.run(command)))

    def read_file(self, path: str) -> tuple[FileContent, EvidenceRef]:
        return self._once(path, self._files, lambda: self._remember_file(path, self.inner.read_file(path)))

    def _once(self, key: Any, cache: Mapping[Any, Fact], get: Callable[[], Fact]) -> Fact:
        """The fact cached under `key`; else fetched by this caller, or by whoever is already fetching it."""
        while (cached := cache.get(key)) is None and not self._claim([key]):
            self._wait(key)
        if cached is not None:
            return cached
        try:
            return get()
        finally:
            self._release([key])

    def _claim(self, keys: Sequence[Any]) -> list[Any]:
        """The keys no one is fetching and none is cached, now marked as being fetched by the caller."""
        with self._lock:
            free = [k for k in keys if k not in self._fetching and k not in self._commands and k not in self._files]
            for key in free:
                self._fetching[key] = threading.Event()
        return free

    def _wait(self, key: Command | str) -> None:
        with self._lock:
            fetching = self._fetching.get(key)
        if fetching is not None:
            fetching.wait()

    def _release(self, keys: Sequence[Command | str]) -> None:
        with self._lock:
            fetched = [self._fetching.pop(key) for key in keys]
        for event in fetched:
            event.set()

    def view(self, consumer: str) -> ConsumerView:
        return ConsumerView(self, consumer)

    def close(self) -> None:
        self.inner.close()  # first: a command still running stops, so the background fetches end at once
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)  # every record saved before the target's findings are

    def _record(self, kind: str, source: str, cut: bool, fresh: Callable[[], dict[str, Any]],
                ) -> tuple[dict[str, Any], tuple[str, str] | None]:
        """The record to save, and the earlier run's file that holds it when it is saved unchanged (a replay)."""
        original: Callable[[str, str], dict[str, Any]] | None = getattr(self.inner, "original_record", None)
        if original is None:
            return fresh(), None
        # Replayed facts keep their original record (and time), so their hashes survive a replay; unless an
        # older run stored a secret: then the secret goes and the time stays.
        record = original(kind, source)
        if cut:
            return with_redacted_text(record, fresh()), None
        return record, getattr(self.inner, "original_file", lambda kind, source: None)(kind, source)

    def _remember_command(self, command: Command, result: CommandResult) -> tuple[CommandResult, EvidenceRef]:
        result = result if self._inner_charges else self.budget.command(result)
        result, cut = redact_result(result)
        record, same_as = self._record("command", str(command), bool(cut),
                                       lambda: command_record(self.target, command, result, self._clock.now(), cut))
        ref = self._sink.save(self.target, self._noting_cut(record, result.command), same_as)
        with self._lock:
            self._commands[command] = (result, ref)
        return result, ref

    def _remember_file(self, path: str, content: FileContent) -> tuple[FileContent, EvidenceRef]:
        content = content if self._inner_charges else self.budget.file(content)
        content, cut = redact_content(content)
        record, same_as = self._record("file", path, bool(cut),
                                       lambda: file_record(self.target, content, self._clock.now(), cut))
        ref = self._sink.save(self.target, self._noting_cut(record, path), same_as)
        with self._lock:
            self._files[path] = (content, ref)
        return content, ref


    def _noting_cut(self, record: dict[str, Any], source: str) -> dict[str, Any]:
        """The record, with why it is truncated when the budget cut it (records of whole facts never change)."""
        reason = self.budget.reason(source)
        return {**record, "truncated": True, "truncated_reason": reason} if reason else record


class ConsumerView:
    """The Transport a collector sees: reads through the recorder and remembers what it used."""

    def __init__(self, recorder: RecordingTransport, consumer: str) -> None:
        self.target = recorder.target
        self.consumer = consumer
        self._recorder = recorder
        self.used: list[EvidenceRef] = []
        self.limited: list[str] = []  # why facts this consumer used were cut, or files it wanted were not read
        self._read: set[str] = set()
        self._unread = 0

    def run(self, command: Command) -> CommandResult:
        result, ref = self._recorder.run(command)
        self._note(ref, self._recorder.budget.reason(result.command))
        return result

    def read_file(self, path: str) -> FileContent:
        if not self._may_read([path]):
            return self._unread_file(path)
        content, ref = self._recorder.read_file(path)
        self._note(ref, self._recorder.budget.reason(path))
        return content

    def run_many(self, commands: Sequence[Command]) -> list[CommandResult]:
        self._recorder.prefetch(commands, ())
        return [self.run(c) for c in commands]

    def read_many(self, paths: Sequence[str]) -> list[FileContent]:
        allowed = self._may_read(paths)
        self._recorder.prefetch((), allowed)
        return [self.read_file(p) if p in self._read else self._unread_file(p) for p in paths]

    def _may_read(self, paths: Sequence[str]) -> list[str]:
        """The paths this consumer may still read (max_listed_files per consumer); the rest are counted."""
        allowed = []
        for path in dict.fromkeys(paths):
            if path in self._read or len(self._read) < self._recorder.limits.listed_files:
                self._read.add(path)
                allowed.append(path)
            else:
                self._unread += 1
        return allowed

    def _unread_file(self, path: str) -> FileContent:
        """A file left unread: the consumer's listing named more files than it may read."""
        why = (f"'{self.consumer}' was asked to read more than {self._recorder.limits.listed_files} files on this "
               f"target (max_listed_files): {self._unread} left unread")
        self.limited[:] = [reason for reason in self.limited if "max_listed_files" not in reason] + [why]
        return FileContent(path, exists=True, error="not read: " + why, truncated=True)

    def close(self) -> None:
        """The recorder owns the connection; a collector never closes it."""

    def _note(self, ref: EvidenceRef, cut: str = "") -> None:
        if ref not in self.used:
            self.used.append(ref)
        if cut and f"{ref.source}: {cut}" not in self.limited:
            self.limited.append(f"{ref.source}: {cut}")
