"""Finishing a run folder, in an order that never leaves a folder that verifies but lacks findings:
results.json, then the changes since the previous run, the reports, and last the signed run manifest;
then the sealed bundle and pruning of old runs."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from auditor.bundle.layout import BUNDLE_SUFFIX, CHANGES, REPORTS_SUFFIX, RESULTS
from auditor.bundle.manifest import write_run_manifest
from auditor.bundle.results import write_results
from auditor.clock import iso
from auditor.files import dump_json, write_atomic
from auditor.models import ScanResult

log = logging.getLogger(__name__)


def record_history(db: Path | None, result: ScanResult, run_dir: Path) -> None:
    """Write changes.json (drift against the previous recorded run) and record this run."""
    if db is None:
        return
    from auditor.bundle import history, trend  # SQLite only for a run that keeps a history

    with history.opened(db) as opened:
        previous = history.previous_run(opened, iso(result.started_at))
        if previous is not None:
            # With both runs' profiles, so that a change the profile explains is never listed as fixed.
            drift = history.compare(history.side_of_history(opened, previous.run_id),
                                    history.side_of_run(result, run_dir))
            write_atomic(run_dir / CHANGES, dump_json(drift.document()), durable=False)  # flushed by the manifest
        trend.write_excerpt(opened, run_dir, result.run_id, iso(result.started_at),
                            [t.target.name for t in result.targets])
        history.record(opened, result, run_dir)


def finish(run_dir: Path, result: ScanResult, *, db: Path | None, render: Any, signer: Any,
           audit_head: str, seal_to: Sequence[bytes], written: Mapping[str, tuple[str, int]] | None = None,
           ) -> Path | None:
    """Write everything after the scan; returns the sealed bundle's path when recipients were given.

    written: the evidence store's records, (SHA-256, size) by path, hashed as they were written."""
    write_results(result, run_dir)
    record_history(db, result, run_dir)
    render()
    write_run_manifest(run_dir, result.run_id, signer, audit_head, written)
    if not seal_to:
        return None
    from auditor.bundle.sealing import seal  # its cryptography only when a run is sealed

    return seal(run_dir, run_dir.with_name(run_dir.name + BUNDLE_SUFFIX), seal_to, None)


def prune(reports_dir: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` run folders (and their bundles and report folders) under reports_dir."""
    import shutil  # only here: with bz2 and lzma, 2 ms of every start

    runs = sorted((p for p in reports_dir.iterdir() if p.is_dir() and (p / RESULTS).is_file()),
                  key=lambda p: p.name)
    removed = []
    for old in runs[:-keep] if keep > 0 else []:
        shutil.rmtree(old)
        bundle = old.with_name(old.name + BUNDLE_SUFFIX)
        if bundle.is_file():
            bundle.unlink()
        reports = old.with_name(old.name + REPORTS_SUFFIX)  # `auditor report RUN` wrote here, outside the run
        if reports.is_dir() and not reports.is_symlink():
            shutil.rmtree(reports)
        removed.append(old)
    return removed
