"""--keep N: the oldest run folders go, with everything auditor wrote beside them for that run, and nothing else."""

from __future__ import annotations

from pathlib import Path

from auditor.bundle.finish import prune
from auditor.bundle.layout import BUNDLE_SUFFIX, REPORTS_SUFFIX, RESULTS


def _run(reports: Path, run_id: str) -> Path:
    run = reports / run_id
    run.mkdir(parents=True)
    (run / RESULTS).write_text("{}")
    (reports / f"{run_id}{BUNDLE_SUFFIX}").write_bytes(b"sealed")
    (reports / f"{run_id}{REPORTS_SUFFIX}").mkdir()
    (reports / f"{run_id}{REPORTS_SUFFIX}" / "report.pdf").write_bytes(b"%PDF")
    return run


def test_keep_removes_old_runs_with_their_bundles_and_report_folders_only(tmp_path):
    # Given three runs, each with a sealed bundle and a report folder written by `auditor report`,
    # and a folder of the user's own that is not a run
    reports = tmp_path / "reports"
    runs = [_run(reports, f"20261201T0{i}0000Z-abcd") for i in range(3)]
    (reports / "notes").mkdir()
    # When only the newest one is kept
    removed = prune(reports, 1)
    # Then the two older runs are gone with their bundle and report folder; the newest and the notes stay
    assert removed == runs[:2]
    assert sorted(p.name for p in reports.iterdir()) == sorted(
        [runs[2].name, f"{runs[2].name}{BUNDLE_SUFFIX}", f"{runs[2].name}{REPORTS_SUFFIX}", "notes"])
