"""Run history and drift: each run's findings (not raw evidence) in an embedded SQLite database.

`diff` compares two runs by (target, check, resource): new failures, fixed items, still failing,
new and removed targets, and waivers that expired between them.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.clock import iso
from auditor.models import ScanResult, Status

_BAD = {Status.FAIL.value, Status.ERROR.value}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT NOT NULL, run_dir TEXT NOT NULL,
    profile_sha256 TEXT NOT NULL, counts TEXT NOT NULL, targets TEXT NOT NULL, expired_waivers TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS findings (
    run_id TEXT NOT NULL REFERENCES runs(run_id), target TEXT NOT NULL, check_id TEXT NOT NULL,
    resource TEXT NOT NULL, status TEXT NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS findings_by_run ON findings(run_id);
"""


def default_history_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(os.environ.get("AUDITOR_HISTORY") or Path(base) / "auditor" / "history.sqlite")


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30)
    connection.executescript(_SCHEMA)
    return connection


def record(path: Path, result: ScanResult, run_dir: Path) -> None:
    """Store a finished run's findings (idempotent per run id)."""
    findings = result.findings()
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.status.value] = counts.get(finding.status.value, 0) + 1
    expired = [u.waiver.id for u in result.waivers if u.state == "expired"]
    with closing(_connect(path)) as db, db:
        db.execute("DELETE FROM findings WHERE run_id = ?", (result.run_id,))
        db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (result.run_id, iso(result.started_at), iso(result.finished_at), str(run_dir.resolve()),
                    result.profile_sha256, json.dumps(counts), json.dumps([t.target.name for t in result.targets]),
                    json.dumps(expired)))
        db.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?)",
                       [(result.run_id, f.target, f.check_id, f.resource, f.status.value, f.message)
                        for f in findings])


@dataclass(frozen=True)
class RunRow:
    run_id: str
    started_at: str
    run_dir: str
    counts: dict[str, int]
    targets: list[str]


def runs(path: Path, target: str | None = None) -> list[RunRow]:
    if not path.is_file():
        return []
    with closing(_connect(path)) as db:
        rows = db.execute("SELECT run_id, started_at, run_dir, counts, targets FROM runs "
                          "ORDER BY started_at").fetchall()
        if target is not None:
            wanted = {r[0] for r in db.execute("SELECT DISTINCT run_id FROM findings WHERE target = ?", (target,))}
            rows = [r for r in rows if r[0] in wanted]
    return [RunRow(r[0], r[1], r[2], json.loads(r[3]), json.loads(r[4])) for r in rows]


def previous_run(path: Path, before: str) -> RunRow | None:
    """The newest run that started before `before` (an ISO time), or None."""
    earlier = [r for r in runs(path) if r.started_at < before]
    return earlier[-1] if earlier else None


def findings_of(path: Path, run_id: str) -> tuple[list[tuple[str, str, str, str, str]], list[str], list[str]]:
    """(target, check, resource, status, message) rows, the targets and the expired waivers of one run."""
    with closing(_connect(path)) as db:
        run = db.execute("SELECT targets, expired_waivers FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if run is None:
            raise KeyError(run_id)
        rows = db.execute("SELECT target, check_id, resource, status, message FROM findings WHERE run_id = ?",
                          (run_id,)).fetchall()
    return [tuple(r) for r in rows], json.loads(run[0]), json.loads(run[1])


@dataclass(frozen=True)
class Drift:
    old: str
    new: str
    new_failures: list[dict[str, str]] = field(default_factory=list)
    fixed: list[dict[str, str]] = field(default_factory=list)
    still_failing: list[dict[str, str]] = field(default_factory=list)
    new_targets: list[str] = field(default_factory=list)
    removed_targets: list[str] = field(default_factory=list)
    expired_waivers: list[str] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return dict(self.__dict__)


def drift(old_id: str, old: Iterable[tuple[str, ...]], old_targets: list[str], new_id: str,
          new: Iterable[tuple[str, ...]], new_targets: list[str], old_expired: list[str],
          new_expired: list[str]) -> Drift:
    """Pure comparison of two runs' findings."""
    def keyed(rows: Iterable[tuple[str, ...]]) -> dict[tuple[str, str, str], tuple[str, str]]:
        return {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows}

    before, after = keyed(old), keyed(new)

    def item(key: tuple[str, str, str], status: str, message: str) -> dict[str, str]:
        return {"target": key[0], "check_id": key[1], "resource": key[2], "status": status, "message": message}

    bad_before = {k for k, (s, _) in before.items() if s in _BAD}
    bad_after = {k for k, (s, _) in after.items() if s in _BAD}
    return Drift(
        old_id, new_id,
        new_failures=[item(k, *after[k]) for k in sorted(bad_after - bad_before)],
        fixed=[item(k, *after[k]) for k in sorted(bad_before - bad_after) if k in after],
        still_failing=[item(k, *after[k]) for k in sorted(bad_after & bad_before)],
        new_targets=sorted(set(new_targets) - set(old_targets)),
        removed_targets=sorted(set(old_targets) - set(new_targets)),
        expired_waivers=sorted(set(new_expired) - set(old_expired)),
    )
