"""Run history and drift: each run's findings (not raw evidence) in an embedded SQLite database, or in
PostgreSQL for teams (`--history postgresql://…`, bundle/history_pg.py); both behind the same few statements.

`diff` compares two runs by (target, check, resource): new failures, fixed items, still failing,
new and removed targets, and waivers that expired between them; a change that the profile, a waiver or an
attestation explains (bundle/causes.py) is set apart with its cause, and so is a failure not checked again.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import field
from pathlib import Path
from typing import Any

from auditor import records
from auditor.bundle import causes
from auditor.bundle.causes import ProfileSide
from auditor.bundle.history_pg import PostgresHistory, is_postgres
from auditor.bundle.layout import PROFILE, RESULTS
from auditor.bundle.results import read_results
from auditor.clock import iso
from auditor.errors import InputError
from auditor.models import ScanResult, Status
from auditor.preflight import writable_file

_BAD = {Status.FAIL.value, Status.ERROR.value}
_ABSENT = "absent"  # the status of a failure the newer run has no finding for (its target or resource is gone)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT NOT NULL, run_dir TEXT NOT NULL,
    profile_sha256 TEXT NOT NULL, counts TEXT NOT NULL, targets TEXT NOT NULL, expired_waivers TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS findings (
    run_id TEXT NOT NULL REFERENCES runs(run_id), target TEXT NOT NULL, check_id TEXT NOT NULL,
    resource TEXT NOT NULL, status TEXT NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS findings_by_run ON findings(run_id);
"""


# Where the history is: a SQLite file, or a postgresql:// URL.
Location = Path | str


def location(value: str) -> Location:
    """A --history value: a postgresql:// URL kept as written (Path would fold its "//"), else a SQLite file."""
    return value if is_postgres(value) else Path(value)


class _SqliteHistory:
    """The embedded default: one SQLite file; SQL is written with ? marks, as for PostgreSQL."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30)
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise InputError(f"is not a usable history database ({exc})", str(path), _HISTORY_FIX) from None

    def __enter__(self) -> _SqliteHistory:
        self._db.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._db.__exit__(*exc)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(sql, tuple(params)).fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    def close(self) -> None:
        self._db.close()


Database = _SqliteHistory | PostgresHistory
# What the reading and recording functions take: where the history is, or one opened with opened() (a run's
# finish reads and records through one connection, not one per query).
Source = Location | Database


@contextmanager
def opened(location: Location) -> Iterator[Database]:
    """The history, connected once for several of this module's functions (given as their `path`)."""
    with closing(_connect(location)) as db:
        yield db


@contextmanager
def _use(source: Source) -> Iterator[Database]:
    """An opened history as it is (its opener closes it), or a location connected for this call."""
    if isinstance(source, Database):
        yield source
    else:
        with opened(source) as db:
            yield db


def _connect(location: Location) -> Database:
    if is_postgres(location):
        # A URL that went through Path() lost one slash of "//": put it back.
        return PostgresHistory(re.sub(r"^(postgres(?:ql)?):/+", r"\1://", str(location)))
    return _SqliteHistory(Path(location))


def _exists(location: Source) -> bool:
    """Whether there is a history to read (a SQLite file is created only when a run is recorded)."""
    if isinstance(location, Database):
        return True
    if not is_postgres(location) and Path(location).is_dir():
        raise InputError("is a folder, not a history database", str(location), _HISTORY_FIX)
    return is_postgres(location) or Path(location).is_file()


_HISTORY_FIX = "give the SQLite file auditor keeps (a new name starts one), a postgresql:// URL, or --no-history"


def check_writable(location: Location) -> None:
    """Refuse, before a scan, a SQLite history that could not record it (PostgreSQL is reached when recording)."""
    if is_postgres(location):
        return
    path = Path(location)
    writable_file(path, "--history")
    if path.is_file() and path.stat().st_size:
        try:
            with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
                db.execute("SELECT count(*) FROM sqlite_master").fetchall()
        except sqlite3.Error as exc:
            raise InputError(f"is not a usable history database ({exc})", f"--history {path}",
                             _HISTORY_FIX) from None


def record(path: Source, result: ScanResult, run_dir: Path) -> None:
    """Store a finished run's findings (idempotent per run id)."""
    findings = result.findings()
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.status.value] = counts.get(finding.status.value, 0) + 1
    expired = [u.waiver.id for u in result.waivers if u.state == "expired"]
    with _use(path) as db, db:
        db.execute("DELETE FROM findings WHERE run_id = ?", (result.run_id,))
        db.execute("DELETE FROM runs WHERE run_id = ?", (result.run_id,))
        db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (result.run_id, iso(result.started_at), iso(result.finished_at), str(run_dir.resolve()),
                    result.profile_sha256, json.dumps(counts), json.dumps([t.target.name for t in result.targets]),
                    json.dumps(expired)))
        db.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?)",
                       [(result.run_id, f.target, f.check_id, f.resource, f.status.value, f.message)
                        for f in findings])


@records.record
class RunRow:
    run_id: str
    started_at: str
    run_dir: str
    counts: dict[str, int]
    targets: list[str]


def runs(path: Source, target: str | None = None, before: str | None = None) -> list[RunRow]:
    """The recorded runs, oldest first: all, those with findings on `target`, those started before `before`."""
    rows = _run_rows(path, "WHERE started_at < ? " if before is not None else "", () if before is None else (before,))
    if target is not None and rows:
        with _use(path) as db:
            wanted = {r[0] for r in db.execute("SELECT DISTINCT run_id FROM findings WHERE target = ?", (target,))}
        rows = [r for r in rows if r.run_id in wanted]
    return rows


def previous_run(path: Source, before: str) -> RunRow | None:
    """The newest run that started before `before` (an ISO time), or None."""
    newest = _run_rows(path, "WHERE started_at < ? ", (before,), newest_first=True, limit=1)
    return newest[0] if newest else None


def runs_over(path: Source, targets: Iterable[str], before: str, limit: int) -> list[tuple[str, str]]:
    """(run id, start) of the newest `limit` runs over exactly these targets that started before `before`, oldest
    first: read newest first, each run's target list parsed only until enough are found (a history of a year of
    daily runs is read on every run's finish)."""
    if not _exists(path):
        return []
    scope = set(targets)
    found: list[tuple[str, str]] = []
    with _use(path) as db:
        rows = db.execute("SELECT run_id, started_at, targets FROM runs WHERE started_at < ? "
                          "ORDER BY started_at DESC, run_id DESC", (before,))
    for run_id, started_at, listed in rows:
        if len(found) == limit:
            break
        if set(json.loads(listed)) == scope:
            found.append((run_id, started_at))
    return found[::-1]


def _run_rows(path: Source, where: str, params: Sequence[str], newest_first: bool = False,
              limit: int | None = None) -> list[RunRow]:
    if not _exists(path):
        return []
    order = "started_at DESC, run_id DESC" if newest_first else "started_at, run_id"
    with _use(path) as db:
        rows = db.execute(f"SELECT run_id, started_at, run_dir, counts, targets FROM runs {where}ORDER BY {order}"
                          + (f" LIMIT {int(limit)}" if limit is not None else ""), params)
    return [RunRow(r[0], r[1], r[2], json.loads(r[3]), json.loads(r[4])) for r in rows]


def findings_of(path: Source, run_id: str) -> tuple[list[tuple[str, str, str, str, str]], list[str], list[str]]:
    """(target, check, resource, status, message) rows, the targets and the expired waivers of one run."""
    with _use(path) as db:
        found = db.execute("SELECT targets, expired_waivers FROM runs WHERE run_id = ?", (run_id,))
        if not found:
            raise KeyError(run_id)
        run = found[0]
        rows = db.execute("SELECT target, check_id, resource, status, message FROM findings WHERE run_id = ? "
                          "ORDER BY target, check_id, resource", (run_id,))
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows], json.loads(run[0]), json.loads(run[1])


@records.record
class Drift:
    """What changed between two runs. A status change that the profile, a waiver or an attestation explains is
    listed under `by_profile` with its cause, never as a new failure or as fixed; a failure the newer run did not
    check again (--skip, missing rights, its target removed or not assessed, its resource no longer found) is
    listed under `not_checked`, with status "absent" when the newer run has no finding for it."""

    old: str
    new: str
    new_failures: list[dict[str, str]] = field(default_factory=list)
    fixed: list[dict[str, str]] = field(default_factory=list)
    still_failing: list[dict[str, str]] = field(default_factory=list)
    new_targets: list[str] = field(default_factory=list)
    removed_targets: list[str] = field(default_factory=list)
    expired_waivers: list[str] = field(default_factory=list)
    by_profile: list[dict[str, str]] = field(default_factory=list)
    not_checked: list[dict[str, str]] = field(default_factory=list)
    old_profile_sha256: str = ""
    new_profile_sha256: str = ""
    profile_differences: list[str] = field(default_factory=list)

    @property
    def profile_changed(self) -> bool | None:
        """Whether the two runs were judged under different profiles (None: a hash is unknown)."""
        if not (self.old_profile_sha256 and self.new_profile_sha256):
            return None
        return self.old_profile_sha256 != self.new_profile_sha256

    def document(self) -> dict[str, Any]:
        return {**self.__dict__, "profile_changed": self.profile_changed}


def drift(old_id: str, old: Iterable[tuple[str, ...]], old_targets: list[str], new_id: str,
          new: Iterable[tuple[str, ...]], new_targets: list[str], old_expired: list[str],
          new_expired: list[str], *, profiles: tuple[ProfileSide, ProfileSide] | None = None,
          unassessed: Mapping[str, str] | None = None) -> Drift:
    """Pure comparison of two runs' findings; with their profiles, changes they explain are set apart.
    `unassessed`: the newer run's targets not (fully) assessed, with their connection error."""
    def keyed(rows: Iterable[tuple[str, ...]]) -> dict[tuple[str, str, str], tuple[str, str]]:
        return {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows}

    before, after = keyed(old), keyed(new)
    old_side, new_side = profiles or (ProfileSide(expired_waivers=old_expired),
                                      ProfileSide(expired_waivers=new_expired))

    def verdict(rows: dict[tuple[str, str, str], tuple[str, str]],
                key: tuple[str, str, str]) -> tuple[str, str] | None:
        # A check not run on a target (disabled by the profile, --skip, missing rights, not assessed) leaves one
        # finding with no resource in place of its per-resource ones ("port 22"): it stands for each of them.
        whole = rows.get((key[0], key[1], ""))
        return rows.get(key) or (whole if whole and whole[0] in ("skipped", "error") else None)

    def item(key: tuple[str, str, str], status: str, message: str) -> dict[str, str]:
        return {"target": key[0], "check_id": key[1], "resource": key[2], "status": status, "message": message}

    def now(key: tuple[str, str, str]) -> dict[str, str]:
        return item(key, *(verdict(after, key) or (_ABSENT, "")))

    bad_before = {k for k, (s, _) in before.items() if s in _BAD}
    bad_after = {k for k, (s, _) in after.items() if s in _BAD}
    reasons, in_run, with_findings = unassessed or {}, set(new_targets), {k[0] for k in after}
    explained: dict[tuple[str, str, str], str] = {}
    unchecked: dict[tuple[str, str, str], str] = {}
    host = []
    # Every failure of the older run lands in exactly one list: one the newer run has no finding for included.
    for k in sorted(bad_after ^ bad_before):
        was, then = verdict(before, k), verdict(after, k)
        gone = k not in after and k[0] != ""  # organisation-wide findings belong to no target
        if gone and (why := causes.not_assessed(k[0], k[0] in in_run, k[0] in with_findings,
                                                reasons.get(k[0], ""))):
            unchecked[k] = why
        elif why := causes.cause(k[0], k[1], was, then, old_side, new_side):
            explained[k] = why
        elif why := causes.not_checked(was, then):
            unchecked[k] = why
        else:
            host.append(k)
    return Drift(
        old_id, new_id,
        new_failures=[now(k) for k in host if k in bad_after],
        fixed=[now(k) for k in host if k not in bad_after],
        still_failing=[now(k) for k in sorted(bad_after & bad_before)],
        new_targets=sorted(set(new_targets) - set(old_targets)),
        removed_targets=sorted(set(old_targets) - set(new_targets)),
        expired_waivers=sorted(set(new_expired) - set(old_expired)),
        by_profile=[{**now(k), "before": (verdict(before, k) or ("", ""))[0], "cause": why}
                    for k, why in explained.items()],
        not_checked=[{**now(k), "before": (verdict(before, k) or ("", ""))[0], "cause": why}
                     for k, why in unchecked.items()],
        old_profile_sha256=old_side.sha256, new_profile_sha256=new_side.sha256,
        profile_differences=causes.differences(old_side, new_side),
    )


@records.record
class RunSide:
    """One run as `diff` compares it: its findings as history rows, its targets, and what it was judged under."""

    run_id: str
    rows: list[tuple[str, ...]]
    targets: list[str]
    profile: ProfileSide
    unassessed: Mapping[str, str] = field(default_factory=dict)  # target -> connection error (not in the history)


def side_of_run(result: ScanResult, run_dir: Path | None) -> RunSide:
    """A run from its results, with its profile.json when the folder is at hand."""
    rows: list[tuple[str, ...]] = [(f.target, f.check_id, f.resource, f.status.value, f.message)
                                   for f in result.findings()]
    document = _profile_document(run_dir) if run_dir is not None else None
    return RunSide(result.run_id, rows, [t.target.name for t in result.targets], ProfileSide(
        result.profile_sha256, document, {c: tuple(s.params) for c, s in result.checks.items()},
        tuple(u.waiver.id for u in result.waivers if u.state == "expired")),
        {t.target.name: t.connection_error for t in result.targets if t.connection_error})


def side_of_history(path: Source, run_id: str) -> RunSide:
    """A recorded run; its profile and check parameters come from its folder while that folder exists."""
    rows, targets, expired = findings_of(path, run_id)
    with _use(path) as db:
        run_dir, sha256 = db.execute("SELECT run_dir, profile_sha256 FROM runs WHERE run_id = ?", (run_id,))[0]
    folder = Path(run_dir)
    if (folder / RESULTS).is_file():
        try:
            side = side_of_run(read_results(folder), folder)
            if side.run_id == run_id:
                return RunSide(run_id, [tuple(str(v) for v in r) for r in rows], targets, side.profile,
                               side.unassessed)
        except InputError:
            pass  # the folder was replaced or damaged: compare by the history alone
    return RunSide(run_id, [tuple(str(v) for v in r) for r in rows], targets,
                   ProfileSide(sha256, None, {}, tuple(expired)))


def compare(old: RunSide, new: RunSide) -> Drift:
    """Drift between two runs, each change the profile, a waiver or an attestation explains set apart."""
    return drift(old.run_id, old.rows, old.targets, new.run_id, new.rows, new.targets,
                 list(old.profile.expired_waivers), list(new.profile.expired_waivers),
                 profiles=(old.profile, new.profile), unassessed=new.unassessed)


def _profile_document(run_dir: Path) -> dict[str, Any] | None:
    try:
        document: dict[str, Any] = json.loads((run_dir / PROFILE).read_text(encoding="utf-8"))
        return document
    except (OSError, ValueError):
        return None
