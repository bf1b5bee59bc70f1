"""The run history on both backends: the embedded SQLite file and a real PostgreSQL server (initdb/pg_ctl in a
temporary folder, tests/db_servers.py). Every behaviour test runs on each."""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from auditor.bundle import history
from auditor.bundle.history_pg import MIGRATIONS, PostgresHistory
from auditor.bundle.layout import CHANGES
from auditor.clock import iso
from auditor.errors import InputError, TransportError
from tests.conftest import run_cli
from tests.db_servers import _postgres_template, _server_user, _stop, start_postgres
from tests.report_factory import SCANNED_AT, linux_host, make_run

_TRUST = "local all all trust\nhost all all 127.0.0.1/32 trust\n"
_names = itertools.count()


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A PostgreSQL server of our own; yields the URL of its maintenance database."""
    root = Path(tempfile.mkdtemp(prefix="auditor-history-pg-"))
    root.chmod(0o755)  # the unprivileged server user must reach its folder
    owner = _server_user()
    server = start_postgres(root, "history", _postgres_template(root, owner), _TRUST, "", owner)
    try:
        yield f"postgresql://postgres@127.0.0.1:{server.port}/postgres"
    finally:
        _stop("pg_ctl", server)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """A fresh, empty history on each backend."""
    if request.param == "sqlite":
        return tmp_path / "history.sqlite"
    admin: str = request.getfixturevalue("postgres")
    name = f"history_{next(_names)}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")  # our own generated name
    return admin.rsplit("/", 1)[0] + f"/{name}"


def test_a_recorded_run_is_listed_and_recording_it_again_changes_nothing(db, tmp_path):
    # Given an empty history: no runs
    assert history.runs(db) == []
    # When two runs are recorded (the first twice)
    hosts = {"web-01": linux_host("web-01"), "db-1": linux_host("db-1", synced=False)}
    one = make_run(tmp_path / "one", hosts, at=SCANNED_AT - timedelta(days=7), history=db)
    make_run(tmp_path / "two", {"web-01": linux_host("web-01")}, history=db)
    results = json.loads((one / "results.json").read_text())
    from auditor.bundle.results import read_results
    history.record(db, read_results(one), one)
    # Then both are listed, oldest first, each once, with their counts and targets
    rows = history.runs(db)
    assert [r.run_id for r in rows] == ["20261119T120000Z-test", "20261126T120000Z-test"]
    assert sorted(rows[0].targets) == ["db-1", "web-01"]
    assert sum(rows[0].counts.values()) == len(results["findings"])
    # And a target's runs are those that scanned it
    assert [r.run_id for r in history.runs(db, "db-1")] == ["20261119T120000Z-test"]
    # And a run's findings come back as recorded
    found, targets, expired = history.findings_of(db, rows[0].run_id)
    assert len(found) == len(results["findings"]) and set(targets) == {"web-01", "db-1"} and expired == []
    with pytest.raises(KeyError):
        history.findings_of(db, "no-such-run")


def test_the_previous_run_is_the_newest_that_started_before_whatever_the_order_recorded(db, tmp_path):
    # Given three runs, recorded out of order: a week ago, then two weeks ago (an older run recorded late), then now
    host = {"web-01": linux_host("web-01")}
    for folder, days in (("week", 7), ("fortnight", 14), ("now", 0)):
        make_run(tmp_path / folder, host, at=SCANNED_AT - timedelta(days=days), history=db)
    week, fortnight, now = (iso(SCANNED_AT - timedelta(days=d)) for d in (7, 14, 0))
    # When they are read through one opened history, as a run's finish reads them
    with history.opened(db) as opened:
        # Then the run before now is last week's, before last week's the fortnight's, before that none
        assert history.previous_run(opened, now).started_at == week
        assert history.previous_run(opened, week).started_at == fortnight
        assert history.previous_run(opened, fortnight) is None
        # And the runs before a time are those that started earlier, oldest first
        assert [r.started_at for r in history.runs(opened, before=now)] == [fortnight, week]
        assert history.runs(opened, before=fortnight) == []
    # And the location itself reads the same
    assert history.previous_run(db, now).started_at == week


def test_drift_against_the_previous_run_is_written_into_the_new_run(db, tmp_path):
    # Given a recorded run where db-1's clock is not synchronised
    make_run(tmp_path / "one", {"db-1": linux_host("db-1", synced=False)}, at=SCANNED_AT - timedelta(days=7),
             history=db)
    # When the next run finds it synchronised
    two = make_run(tmp_path / "two", {"db-1": linux_host("db-1")}, history=db)
    # Then changes.json names the previous run and the fix, with the profile unchanged
    changes = json.loads((two / CHANGES).read_text())
    assert changes["old"] == "20261119T120000Z-test" and changes["new"] == "20261126T120000Z-test"
    assert changes["fixed"] and all(f["target"] == "db-1" for f in changes["fixed"])
    assert changes["new_failures"] == [] and changes["profile_changed"] is False
    # And the history alone gives the same drift, with the profile read from the run folder
    drift = history.compare(history.side_of_history(db, "20261119T120000Z-test"),
                            history.side_of_history(db, "20261126T120000Z-test"))
    assert drift.fixed == changes["fixed"]


def test_failures_of_a_target_unreachable_now_are_not_checked_with_why(db, tmp_path):
    # Given a recorded run where db-1's clock is not synchronised
    make_run(tmp_path / "one", {"db-1": linux_host("db-1", synced=False)}, at=SCANNED_AT - timedelta(days=7),
             history=db)
    # When the next run cannot reach db-1
    two = make_run(tmp_path / "two", {"db-1": TransportError("db-1", "connection refused")}, history=db)
    # Then changes.json lists its failures as not checked now, with the connection error; none is fixed
    changes = json.loads((two / CHANGES).read_text())
    assert changes["fixed"] == [] and changes["still_failing"] == [] and changes["not_checked"]
    assert {(i["target"], i["status"], i["cause"]) for i in changes["not_checked"]} == {
        ("db-1", "absent", "the target was not assessed: connection refused")}
    # And the history alone (the folder gone) says so without the reason, which the history does not keep
    shutil.rmtree(two)
    drift = history.compare(history.side_of_history(db, "20261119T120000Z-test"),
                            history.side_of_history(db, "20261126T120000Z-test"))
    assert {i["cause"] for i in drift.not_checked} == {"the target was not assessed in the newer run"}
    assert len(drift.not_checked) == len(changes["not_checked"])


def test_postgresql_migrations_run_once_and_a_bad_url_is_one_line(postgres):
    # Given a new database
    with psycopg.connect(postgres, autocommit=True) as connection:
        connection.execute("CREATE DATABASE history_migrations")
    url = postgres.rsplit("/", 1)[0] + "/history_migrations"
    # When two coordinators open it one after the other
    for _ in range(2):
        PostgresHistory(url).close()
    # Then every migration ran exactly once
    with psycopg.connect(url) as connection:
        versions = [r[0] for r in connection.execute("SELECT version FROM auditor_schema ORDER BY version")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    # And a server that is not there is one line naming the flag
    with pytest.raises(InputError) as caught:
        history.runs("postgresql://postgres@127.0.0.1:1/none")
    assert str(caught.value).startswith("--history: cannot open the PostgreSQL history") and "\n" not in str(
        caught.value)


def test_the_history_command_and_scan_read_and_write_a_postgresql_history(postgres, tmp_path):
    # Given a PostgreSQL history with one run recorded by `make_run`
    with psycopg.connect(postgres, autocommit=True) as connection:
        connection.execute("CREATE DATABASE history_cli")
    url = postgres.rsplit("/", 1)[0] + "/history_cli"
    make_run(tmp_path / "one", {"web-01": linux_host("web-01")}, history=url)
    # When a scan records a second run there through --history, and `auditor history` lists them
    scanned = run_cli("scan", "--quiet", "--no-sign", "--format", "none", "--check", "LOG-0040",
                      "--out", str(tmp_path / "two"), "--history", url)
    listed = run_cli("history", "--history", url)
    # Then both runs are listed from PostgreSQL
    assert scanned.returncode in (0, 1), scanned.stderr
    assert listed.returncode == 0, listed.stderr
    assert "20261126T120000Z-test" in listed.stdout and (tmp_path / "two").name in listed.stdout
    # And `auditor diff` compares the two from the same URL
    compared = run_cli("diff", "--since-last", "--history", url)
    assert compared.returncode == 0, compared.stderr
    assert compared.stdout.startswith("20261126T120000Z-test -> ")
