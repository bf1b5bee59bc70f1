"""The evidence store: writes each fact record as it arrives (so an interrupted run keeps it), and the
evidence index at the end. The record format is the transports' (auditor/transports/records.py).

Durability costs one flush per run, not one per fact: records are not fsynced one by one (14,800 fsyncs made
a 200-target replay 15 s slower), nor is the index; the run manifest that makes a run folder complete flushes
every file of the run to disk before it is written (bundle/manifest.py). A crash before then leaves a folder
that never verifies as complete. For the same reason a record is written straight to its new name, not through a
temporary name and a rename (the rename was 5% of a replay): the index, written last, holds the hash of
every whole record, and a half-written one can only be part of a run that never verifies.

A replay saves most records unchanged: each is then a hard link to the source run's file, whose bytes were
checked against the source's index when read and are checked again here against the record's own hash. Records
are never changed in place (a record saved twice is replaced through a new file), so the two runs cannot change
each other's evidence; a link saves creating 19,000 files for a 200-target replay (2.3 s of file creation on
this project's build machine's ext4 disk against 0.2 s of links), and their space.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from auditor.files import dump_json, sha256_bytes, write_atomic
from auditor.models import EvidenceRef
from auditor.records import record
from auditor.transports.records import EVIDENCE_DIR, EVIDENCE_INDEX, SCHEMA_VERSION, fact_filename


def _write_new(path: str, data: bytes) -> None:
    """Create the file, refusing to follow or reuse anything already at that name (O_EXCL); a record saved twice
    under one name (an artefact two attestations cite) replaces the first, as before."""
    try:
        with open(path, "xb") as handle:
            handle.write(data)
    except FileExistsError:
        write_atomic(path, data, durable=False)


def _linked(existing: str, path: str) -> bool:
    """Make `path` a second name of `existing` (a hard link), or say it could not be: another filesystem, a
    system that refuses links to another user's files (fs.protected_hardlinks), a name already taken."""
    try:
        os.link(existing, path)
    except OSError:
        return False
    return True


@record
class _Entry:
    ref: EvidenceRef
    size: int
    target: str
    kind: str
    exit_status: int | None
    collected_at: str


class EvidenceStore:
    """Stores records under <run>/evidence/<target>/ and indexes them in evidence/manifest.json."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._entries: list[_Entry] = []
        self._folders: dict[str, str] = {}  # target -> its folder, made once (a 200-target run saves 19,000 facts)
        self._lock = threading.Lock()

    def save(self, target: str, record: dict[str, Any], same_as: tuple[str, str] | None = None) -> EvidenceRef:
        """Write the record; `same_as` names a file (an earlier run's record, and its SHA-256) that this one is
        linked to instead when it holds the very same bytes."""
        folder = self._folders.get(target)
        if folder is None:
            path = self.run_dir / EVIDENCE_DIR / target
            path.mkdir(parents=True, exist_ok=True)
            folder = self._folders.setdefault(target, str(path))
        name = fact_filename(record["kind"], record["source"])
        data = dump_json(record)
        sha256 = sha256_bytes(data)
        if same_as is None or same_as[1] != sha256 or not _linked(same_as[0], os.path.join(folder, name)):
            _write_new(os.path.join(folder, name), data)
        ref = EvidenceRef(f"{EVIDENCE_DIR}/{target}/{name}", sha256, record["source"])
        entry = _Entry(ref, len(data), target, record["kind"], record.get("exit_status"), record["collected_at"])
        with self._lock:
            self._entries.append(entry)
        return ref

    def mark(self) -> int:
        """Where the entries stand now; entries_since(mark) are the records saved after it."""
        with self._lock:
            return len(self._entries)

    def entries_since(self, mark: int) -> list[_Entry]:
        with self._lock:
            return self._entries[mark:]

    def adopt(self, entries: list[_Entry]) -> None:
        """Index records another process saved into this run folder (a forked replay worker: auditor/forked.py)."""
        with self._lock:
            self._entries.extend(entries)

    def written(self) -> dict[str, tuple[str, int]]:
        """Relative path -> (SHA-256, size) of every record this store wrote, so the run manifest need not read
        them back: it lists what was written, and a file changed since then shows as changed when verified."""
        with self._lock:
            return {e.ref.path: (e.ref.sha256, e.size) for e in self._entries}

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
        path = self.run_dir / EVIDENCE_INDEX
        path.parent.mkdir(parents=True, exist_ok=True)
        # Flushed with the records by the run manifest (write_run_manifest), which alone makes a run complete.
        write_atomic(path, dump_json({"schema_version": SCHEMA_VERSION, "facts": facts}), durable=False)
        return path
