"""The compliance score's rule, and the trend excerpt a run folder carries from the history."""

from __future__ import annotations

from datetime import timedelta

from auditor.bundle import history
from auditor.bundle.layout import TREND
from auditor.bundle.trend import Score, read_excerpt, score
from auditor.clock import iso
from tests.report_factory import SCANNED_AT, linux_host, make_run


def test_a_check_counts_once_per_target_and_fails_when_any_resource_fails():
    # Given two resources of one check on one target (one failing), a warning, a waiver and what is not counted
    findings = [("web-01", "DISK-0010", "pass"), ("web-01", "DISK-0010", "fail"), ("web-01", "LOG-0040", "warn"),
                ("db-1", "PATCH-0010", "waived"), ("db-1", "PII-0010", "not_applicable"),
                ("db-1", "LOG-0010", "error"), ("db-1", "NET-0010", "skipped")]
    # When the score is computed
    result = score(findings)
    # Then DISK-0010 on web-01 fails once; the warning and the waiver pass; the rest does not count
    assert result == Score(passed=2, applicable=3)
    assert result.percent == 66  # rounded down: never reads better than it is
    assert Score(0, 0).percent is None


def test_the_run_folder_holds_the_scores_of_earlier_runs_of_the_same_targets(tmp_path):
    # Given a history with two runs of web-01 and db-1 (one failing LOG-0040) and one run of web-01 alone
    db = tmp_path / "history.sqlite"
    hosts = {"web-01": linux_host("web-01"), "db-1": linux_host("db-1", synced=False)}
    make_run(tmp_path / "one", hosts, at=SCANNED_AT - timedelta(days=14), history=db)
    make_run(tmp_path / "other", {"web-01": linux_host("web-01")}, at=SCANNED_AT - timedelta(days=10), history=db)
    make_run(tmp_path / "two", {"web-01": linux_host("web-01"), "db-1": linux_host("db-1")},
             at=SCANNED_AT - timedelta(days=7), history=db)
    # When a third run of the same two targets finishes
    now = make_run(tmp_path / "three", hosts, history=db)
    # Then its trend.json holds the two earlier runs of the same scope, oldest first, with their scores
    points = read_excerpt(now)
    assert [p.run_id for p in points] == ["20261112T120000Z-test", "20261119T120000Z-test"]
    assert [p.score for p in points] == [Score(3, 4), Score(4, 4)]
    # And the first run of a scope has no trend file
    assert not (tmp_path / "one" / TREND).exists()


def test_the_trend_keeps_the_newest_runs_of_the_scope_oldest_first(tmp_path):
    # Given four runs of web-01 and db-1 a week apart, and between them one of web-01 alone
    db = tmp_path / "history.sqlite"
    hosts = {"web-01": linux_host("web-01"), "db-1": linux_host("db-1")}
    for weeks in (4, 3, 2, 1):
        make_run(tmp_path / f"w{weeks}", hosts, at=SCANNED_AT - timedelta(weeks=weeks), history=db)
    make_run(tmp_path / "alone", {"web-01": linux_host("web-01")}, at=SCANNED_AT - timedelta(days=3), history=db)
    # When the newest two before now are asked for, the scope's targets in another order
    kept = history.runs_over(db, ["db-1", "web-01"], iso(SCANNED_AT), 2)
    # Then they are the last two of that scope, oldest first; the run of another scope is not one of them
    assert kept == [("20261112T120000Z-test", iso(SCANNED_AT - timedelta(weeks=2))),
                    ("20261119T120000Z-test", iso(SCANNED_AT - timedelta(weeks=1)))]
    assert history.runs_over(db, ["web-01"], iso(SCANNED_AT), 5) == [
        ("20261123T120000Z-test", iso(SCANNED_AT - timedelta(days=3)))]
    assert history.runs_over(tmp_path / "none.sqlite", ["web-01"], iso(SCANNED_AT), 5) == []
