"""The replay transport: answers from an earlier run's evidence folder, touching no host.

A recorded host is also a test fixture: tests/fixtures/hosts/<case>/ has the same layout.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor.errors import FactMissing, InputError
from auditor.files import sha256_bytes
from auditor.transports.base import Command, CommandResult, FileContent
from auditor.transports.records import EVIDENCE_DIR, EVIDENCE_INDEX, content_from_record, result_from_record


def _load_manifest_hashes(run_dir: Path) -> dict[str, str]:
    path = run_dir / EVIDENCE_INDEX
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        return {f["path"]: f["sha256"] for f in manifest["facts"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"evidence manifest is not valid ({exc})", str(path),
                         "restore it from the sealed bundle or replay without it") from exc


class ReplayTransport:
    """Serves commands and files recorded for one target; a fact not recorded raises FactMissing."""

    def __init__(self, run_dir: Path, target: str) -> None:
        self.target = target
        self._folder = run_dir / EVIDENCE_DIR / target
        self._records: dict[tuple[str, str], dict[str, Any]] = {}
        hashes = _load_manifest_hashes(run_dir)
        for path in sorted(self._folder.glob("*.json")):
            data = path.read_bytes()
            relative = f"{EVIDENCE_DIR}/{target}/{path.name}"
            # Evidence that no longer matches its manifest hash must not be re-evaluated as if it were.
            if relative in hashes and hashes[relative] != sha256_bytes(data):
                raise InputError("evidence file changed since it was recorded (SHA-256 mismatch)",
                                 str(path), "replay an untouched copy of the run")
            try:
                record = json.loads(data)
                self._records[(record["kind"], record["source"])] = record
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"not an evidence record ({exc})", str(path),
                                 "remove the file or restore the run folder") from exc

    def run(self, command: Command) -> CommandResult:
        return result_from_record(self._lookup("command", str(command)))

    def read_file(self, path: str) -> FileContent:
        return content_from_record(self._lookup("file", path))

    def run_many(self, commands: Sequence[Command]) -> list[CommandResult]:
        return [self.run(c) for c in commands]

    def read_many(self, paths: Sequence[str]) -> list[FileContent]:
        return [self.read_file(p) for p in paths]

    def original_record(self, kind: str, source: str) -> dict[str, Any]:
        """The record exactly as the earlier run stored it (the recorder re-saves it unchanged)."""
        return self._lookup(kind, source)

    def close(self) -> None:
        """Nothing to release."""

    def _lookup(self, kind: str, source: str) -> dict[str, Any]:
        record = self._records.get((kind, source))
        if record is None:
            recorded = [s for k, s in self._records if k == kind]
            closest = difflib.get_close_matches(source, recorded, n=3, cutoff=0.4)
            raise FactMissing(self.target, f"{kind} {source}", str(self._folder), closest)
        return record
