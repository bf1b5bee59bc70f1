"""The compliance score and its trend: the one rule, and the excerpt of history a run folder carries.

The score counts checks per target: a check on a target passes when none of its results failed (a warning
or a waiver counts as passing) and applies when it passed or failed; not applicable, skipped, errors and
attestations are not counted. Score = passing / applicable.

The report reads only the run folder, so `finish` writes the previous runs of the same scope (the same set
of targets) from the history database into trend.json before the manifest is signed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from auditor.bundle import history
from auditor.bundle.layout import TREND
from auditor.files import dump_json, write_atomic
from auditor.records import record

_PASSING = {"pass", "warn", "waived"}
_COUNTED = {*_PASSING, "fail"}
RUNS_KEPT = 12  # points of the trend chart, this run included


@record
class Score:
    """Checks (per target) that passed, of those that applied."""

    passed: int
    applicable: int

    @property
    def percent(self) -> int | None:
        """Rounded down, so 99.6 % never reads as 100 %; None when nothing applied."""
        return self.passed * 100 // self.applicable if self.applicable else None


def score(findings: Iterable[tuple[str, str, str]]) -> Score:
    """The score of (target, check id, status) triples; several resources of one check on one target are one
    check, which fails when any of them failed."""
    verdicts: dict[tuple[str, str], bool] = {}
    for target, check_id, status in findings:
        if status not in _COUNTED:
            continue
        key = (target, check_id)
        verdicts[key] = verdicts.get(key, True) and status in _PASSING
    return Score(sum(verdicts.values()), len(verdicts))


@record
class TrendPoint:
    """One earlier run of the same scope and its score."""

    run_id: str
    started_at: str  # ISO 8601, as history stores it
    score: Score


def write_excerpt(db: history.Source, run_dir: Path, run_id: str, started_at: str, targets: Iterable[str]) -> None:
    """Write trend.json: the scores of the runs of the same targets that started before this one (newest
    RUNS_KEPT - 1); nothing when there is none."""
    points = previous_scores(db, started_at, targets)
    if points:
        write_atomic(run_dir / TREND, dump_json({"run": run_id, "scope": sorted(set(targets)), "previous": [
            {"run_id": p.run_id, "started_at": p.started_at, "passed": p.score.passed,
             "applicable": p.score.applicable} for p in points]}))


def previous_scores(db: history.Source, before: str, targets: Iterable[str]) -> list[TrendPoint]:
    """Earlier runs over exactly these targets, oldest first, with their scores."""
    points = []
    for run_id, started_at in history.runs_over(db, targets, before, RUNS_KEPT - 1):
        rows, _targets, _expired = history.findings_of(db, run_id)
        points.append(TrendPoint(run_id, started_at, score((r[0], r[1], r[3]) for r in rows)))
    return points


def read_excerpt(run_dir: Path) -> list[TrendPoint]:
    """The earlier runs recorded in a run folder's trend.json (none when it has no such file)."""
    path = run_dir / TREND
    if not path.is_file():
        return []
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return [TrendPoint(p["run_id"], p["started_at"], Score(int(p["passed"]), int(p["applicable"])))
            for p in data.get("previous", ())]
