"""Evidence: every command output and file read is saved, hashed and indexed, by the transport wrapper.

Layout of a run folder (the replay transport and the test fixtures read exactly this):

    <run>/results.json
    <run>/evidence/manifest.json              index: path, sha256, target, kind, source, collected_at
    <run>/evidence/<target>/cmd-<name>.json   one command: argv, exit status, stdout, stderr, time
    <run>/evidence/<target>/file-<name>.json  one file read: path, exists, content, error

Collectors and checks never write evidence themselves; they only see a Transport.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.models import EvidenceRef
from auditor.transports.base import Command, CommandResult, FileContent, Transport, fetch

MANIFEST = "evidence/manifest.json"
SCHEMA_VERSION = 1


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fact_filename(kind: str, source: str) -> str:
    """A readable, collision-free file name for one fact: cmd-timedatectl_show-1a2b3c4d.json."""
    readable = re.sub(r"[^A-Za-z0-9]+", "_", source).strip("_")[:80] or "root"
    digest = hashlib.sha256(source.encode()).hexdigest()[:8]
    return f"{ {'command': 'cmd'}.get(kind, kind)}-{readable}-{digest}.json"


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name, fsync, rename: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def dump_json(document: Any) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n").encode()


def command_record(target: str, command: Command, result: CommandResult, at: datetime) -> dict[str, Any]:
    return {
        "kind": "command",
        "target": target,
        "source": result.command,
        "argv": list(command.argv),
        "sudo": command.sudo,
        "exit_status": result.exit_status,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "truncated": result.truncated,
        "collected_at": iso(at),
    }


def file_record(target: str, content: FileContent, at: datetime) -> dict[str, Any]:
    try:
        text, encoding = content.data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(content.data).decode("ascii"), "base64"
    return {
        "kind": "file",
        "target": target,
        "source": content.path,
        "exists": content.exists,
        "encoding": encoding,
        "content": text,
        "error": content.error,
        "truncated": content.truncated,
        "collected_at": iso(at),
    }


def result_from_record(record: dict[str, Any]) -> CommandResult:
    return CommandResult(
        record["source"], int(record["exit_status"]), record["stdout"], record["stderr"],
        bool(record.get("truncated", False)),
    )


def content_from_record(record: dict[str, Any]) -> FileContent:
    raw = record["content"]
    data = base64.b64decode(raw) if record.get("encoding") == "base64" else raw.encode("utf-8")
    return FileContent(
        record["source"], bool(record["exists"]), data, record.get("error", ""),
        bool(record.get("truncated", False)),
    )


@dataclass(frozen=True)
class _Entry:
    ref: EvidenceRef
    target: str
    kind: str
    exit_status: int | None
    collected_at: str


class EvidenceStore:
    """Writes fact files as they arrive (so an interrupted run keeps them) and the manifest at the end."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._entries: list[_Entry] = []
        self._lock = threading.Lock()

    def save(self, target: str, record: dict[str, Any]) -> EvidenceRef:
        folder = self.run_dir / "evidence" / target
        folder.mkdir(parents=True, exist_ok=True)
        name = fact_filename(record["kind"], record["source"])
        data = dump_json(record)
        write_atomic(folder / name, data)
        ref = EvidenceRef(f"evidence/{target}/{name}", sha256_bytes(data), record["source"])
        entry = _Entry(ref, target, record["kind"], record.get("exit_status"), record["collected_at"])
        with self._lock:
            self._entries.append(entry)
        return ref

    def write_manifest(self) -> Path:
        with self._lock:
            entries = sorted(self._entries, key=lambda e: e.ref.path)
        facts = [
            {
                "path": e.ref.path,
                "sha256": e.ref.sha256,
                "target": e.target,
                "kind": e.kind,
                "source": e.ref.source,
                "exit_status": e.exit_status,
                "collected_at": e.collected_at,
            }
            for e in entries
        ]
        path = self.run_dir / MANIFEST
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, dump_json({"schema_version": SCHEMA_VERSION, "facts": facts}))
        return path


class RecordingTransport:
    """Wraps a transport: fetches each fact once per target, records it, and serves it from cache.

    `view(collector)` hands a collector a Transport that also notes which facts it consumed, so that
    findings can point at exactly the evidence their check rests on.
    """

    def __init__(self, inner: Transport, store: EvidenceStore) -> None:
        self.inner = inner
        self.target = inner.target
        self._store = store
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

    def _record(self, kind: str, source: str, fresh: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        # Replayed facts keep their original record (and time), so their hashes survive a replay.
        original: Callable[[str, str], dict[str, Any]] | None = getattr(self.inner, "original_record", None)
        return original(kind, source) if original else fresh()

    def _remember_command(self, command: Command, result: CommandResult) -> tuple[CommandResult, EvidenceRef]:
        record = self._record("command", str(command),
                              lambda: command_record(self.target, command, result, utc_now()))
        ref = self._store.save(self.target, record)
        with self._lock:
            self._commands[command] = (result, ref)
        return result, ref

    def _remember_file(self, path: str, content: FileContent) -> tuple[FileContent, EvidenceRef]:
        record = self._record("file", path, lambda: file_record(self.target, content, utc_now()))
        ref = self._store.save(self.target, record)
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
