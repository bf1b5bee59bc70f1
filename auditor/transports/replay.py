"""The replay transport: answers from an earlier run's evidence folder, touching no host.

A recorded host is also a test fixture: tests/fixtures/hosts/<case>/ has the same layout. `RecordedRun`
reads the run's evidence index once per run and hands each target its slice, so a replay costs time linear in
its targets. Only files the index lists are used, each checked against its listed SHA-256 when it is read (and
against the run manifest's, when the caller verified the run first and passes what that manifest lists); two
records of one (kind, source) for a target are refused, never one silently replacing the other.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from auditor.errors import FactMissing, InputError
from auditor.files import load_json, sha256_bytes
from auditor.models import Target
from auditor.records import record
from auditor.transports.base import DIGEST, Command, CommandResult, FileContent
from auditor.transports.records import EVIDENCE_DIR, EVIDENCE_INDEX, content_from_record, result_from_record

Records = dict[tuple[str, str], dict[str, Any]]  # (kind, source) -> the record as stored
RecordFiles = dict[tuple[str, str], tuple[str, str]]  # (kind, source) -> (its file, its SHA-256)
_FIX = "replay an untouched copy of the run"


@record
class _Listed:
    """One evidence index entry: where the record is, its hash, and what it claims to be."""

    path: str
    sha256: str
    kind: str
    source: str


class RecordedRun:
    """A run folder's evidence, indexed once; `open` is the runner's way to reach a target during a replay.

    listed: the run manifest's path -> SHA-256, when the caller verified it (bundle/manifest.py); then every file
    used must be listed there too, with the same hash, and the index itself must be.
    """

    def __init__(self, run_dir: Path, listed: Mapping[str, str] | None = None) -> None:
        self.run_dir = run_dir
        self._slices = _index(run_dir, listed)

    def open(self, target: Target, login: bool) -> ReplayTransport:
        """The transport for one target; `login` does not matter, since nothing is reached."""
        return ReplayTransport(self.run_dir, target.name, self.records(target.name), self.files(target.name))

    def files(self, target: str) -> RecordFiles:
        """Where each of the target's records is, with the SHA-256 it was checked against when read."""
        return {(e.kind, e.source): (str(self.run_dir / e.path), e.sha256) for e in self._slices.get(target, ())}

    def records(self, target: str) -> Records:
        """The target's records, each file read once and checked against its listed hash."""
        records: Records = {}
        for entry in self._slices.get(target, ()):
            path = self.run_dir / entry.path
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise InputError(f"refused: a listed evidence file cannot be read ({exc.strerror})", str(path),
                                 _FIX) from None
            # Evidence that no longer matches its listed hash must not be re-evaluated as if it were.
            if sha256_bytes(data) != entry.sha256:
                raise InputError("refused: evidence file changed since it was recorded (SHA-256 mismatch)",
                                 str(path), _FIX)
            try:
                record = load_json(data)
                claims = (record["kind"], record["source"])
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"refused: not an evidence record ({exc})", str(path), _FIX) from None
            if claims != (entry.kind, entry.source):
                raise InputError(f"refused: the record is not the {entry.kind} {entry.source!r} its index entry names",
                                 str(path), _FIX)
            records[claims] = record
        return records


def _index(run_dir: Path, listed: Mapping[str, str] | None) -> dict[str, list[_Listed]]:
    """evidence/manifest.json, read and checked once: target -> its entries."""
    path = run_dir / EVIDENCE_INDEX
    try:
        data = path.read_bytes()
    except OSError:
        raise InputError("refused: no evidence index (evidence/manifest.json)", str(path),
                         _FIX) from None
    if listed is not None and listed.get(EVIDENCE_INDEX) != sha256_bytes(data):
        raise InputError("refused: the evidence index is not the one the run manifest lists", str(path), _FIX)
    try:
        facts = load_json(data)["facts"]
        entries = [(str(f["target"]), _Listed(str(f["path"]), str(f["sha256"]), str(f["kind"]), str(f["source"])))
                   for f in facts]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"refused: the evidence index is not valid ({exc})", str(path), _FIX) from None
    slices: dict[str, list[_Listed]] = {}
    first: dict[tuple[str, str, str], str] = {}
    for target, entry in entries:
        _check_entry(path, target, entry, listed)
        key = (target, entry.kind, entry.source)
        if key in first:
            raise InputError(f"refused: two records of one {entry.kind} for target {target!r} ({entry.source!r}): "
                             f"{first[key]} and {entry.path}", str(path), _FIX)
        first[key] = entry.path
        slices.setdefault(target, []).append(entry)
    return slices


def _check_entry(index: Path, target: str, entry: _Listed, listed: Mapping[str, str] | None) -> None:
    parts = entry.path.split("/")
    # Only a file of the target's own folder: an index entry never points outside the run.
    if len(parts) != 3 or parts[:2] != [EVIDENCE_DIR, target] or any(p in ("", ".", "..") for p in parts):
        raise InputError(f"refused: index entry {entry.path!r} is not a file of evidence/{target}/", str(index), _FIX)
    if listed is not None and listed.get(entry.path) != entry.sha256:
        raise InputError(f"refused: {entry.path} is not listed in the run manifest with the hash the index gives",
                         str(index), _FIX)


class ReplayTransport:
    """Serves commands and files recorded for one target; a fact not recorded raises FactMissing."""

    def __init__(self, run_dir: Path, target: str, records: Records | None = None,
                 files: RecordFiles | None = None) -> None:
        self.target = target
        self._folder = run_dir / EVIDENCE_DIR / target
        self._records = records if records is not None else RecordedRun(run_dir).records(target)
        self._files = files or {}
        self._answered_by: dict[str, str] = {}  # a command line -> the older one whose record answered it

    def run(self, command: Command) -> CommandResult:
        source = str(command)
        if ("command", source) not in self._records:
            # Recorded by an earlier auditor that asked the same fact another way: its record answers, and stays
            # the evidence under its own command line.
            older = next((s for s in map(self._recorded_line, command.replaces) if ("command", s) in self._records),
                         None)
            self._answered_by[source] = older or source
        return result_from_record(self._lookup("command", self._answered_by.get(source, source)))

    def _recorded_line(self, earlier: str) -> str:
        """An earlier command line as recorded; given as "sha256:HEX" (a line that held a whole script), the
        recorded command line with that SHA-256."""
        if not earlier.startswith(DIGEST):
            return earlier
        return next((source for kind, source in self._records
                     if kind == "command" and sha256_bytes(source.encode()) == earlier[len(DIGEST):]), "")

    def read_file(self, path: str) -> FileContent:
        return content_from_record(self._lookup("file", path))

    def run_many(self, commands: Sequence[Command]) -> list[CommandResult]:
        return [self.run(c) for c in commands]

    def read_many(self, paths: Sequence[str]) -> list[FileContent]:
        return [self.read_file(p) for p in paths]

    def original_record(self, kind: str, source: str) -> dict[str, Any]:
        """The record exactly as the earlier run stored it (the recorder re-saves it unchanged)."""
        return self._lookup(kind, self._original(kind, source))

    def original_file(self, kind: str, source: str) -> tuple[str, str] | None:
        """The earlier run's file of that record and the SHA-256 it was read with, when known: the evidence store
        links a record that is saved unchanged to it rather than writing it again (bundle/evidence.py)."""
        return self._files.get((kind, self._original(kind, source)))

    def _original(self, kind: str, source: str) -> str:
        return self._answered_by.get(source, source) if kind == "command" else source

    def close(self) -> None:
        """Nothing to release."""

    def _lookup(self, kind: str, source: str) -> dict[str, Any]:
        record = self._records.get((kind, source))
        if record is None:
            recorded = [s for k, s in self._records if k == kind]
            closest = difflib.get_close_matches(source, recorded, n=3, cutoff=0.4)
            raise FactMissing(self.target, f"{kind} {source}", str(self._folder), closest)
        return record
