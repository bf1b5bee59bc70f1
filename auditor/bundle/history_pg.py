"""The run history in PostgreSQL (psycopg 3), for teams: several coordinators and the reports share one history.

`--history postgresql://…` selects it (bundle/history.py keeps the logic; this module only stores). The schema is
created and upgraded by numbered migrations, each applied once, under an advisory lock so two coordinators that
start together never migrate twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

from auditor.errors import InputError

# Each entry upgrades the schema by one version; never edit one that has shipped, add the next.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT NOT NULL, run_dir TEXT NOT NULL,
        profile_sha256 TEXT NOT NULL, counts TEXT NOT NULL, targets TEXT NOT NULL, expired_waivers TEXT NOT NULL);
    CREATE TABLE findings (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, target TEXT NOT NULL,
        check_id TEXT NOT NULL, resource TEXT NOT NULL, status TEXT NOT NULL, message TEXT NOT NULL);
    CREATE INDEX findings_by_run ON findings(run_id);
    CREATE INDEX findings_by_target ON findings(target);
    CREATE INDEX runs_by_start ON runs(started_at);
    """,
)
_LOCK = 0x4155444954  # the advisory lock id migrations run under ("AUDIT")


def is_postgres(location: object) -> bool:
    """Whether a --history value names a PostgreSQL database rather than a SQLite file."""
    return str(location).startswith(("postgresql:", "postgres:"))


class PostgresHistory:
    """A connection to the history database, migrated to the newest schema; SQL is written with ? marks."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise InputError("a PostgreSQL history needs the 'history-pg' extra", "--history",
                             "pip install 'auditor[history-pg]', or use a SQLite file") from None

        try:
            self._db = psycopg.connect(url, connect_timeout=10)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"cannot open the PostgreSQL history ({first})", "--history",
                             "check the URL, the server and the account's rights") from None
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            self._db.execute("CREATE TABLE IF NOT EXISTS auditor_schema (version INTEGER NOT NULL)")
            row = self._db.execute("SELECT max(version) FROM auditor_schema").fetchone()
            version = int(row[0]) if row and row[0] is not None else 0
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                self._db.execute(migration)  # our own constant SQL
                self._db.execute("INSERT INTO auditor_schema VALUES (%s)", (number,))

    def __enter__(self) -> PostgresHistory:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None:
            self._db.commit()
        else:
            self._db.rollback()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self._db.execute(sql.replace("?", "%s"), tuple(params))
        return list(cursor.fetchall()) if cursor.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._db.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), [tuple(r) for r in rows])

    def close(self) -> None:
        self._db.close()
