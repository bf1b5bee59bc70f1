"""A run is made durable with as few flushes as its order needs: its files in one flush before the run manifest,
then the manifest, then the audit trail's entry and head record (each flush costs a journal commit, several
milliseconds on a busy disk)."""

from __future__ import annotations

import os

from auditor.bundle import evidence, manifest
from auditor.cli import main


def test_a_scan_flushes_its_files_once_then_the_manifest_and_the_audit_trail(tmp_path, monkeypatch):
    flushes: list[str] = []
    fsyncs: list[str] = []
    real_fsync = os.fsync
    for module in (evidence, manifest):  # where a run's files are flushed
        monkeypatch.setattr(module, "flush_to_disk", lambda folder, names: flushes.append(str(folder)), raising=False)
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(os.readlink(f"/proc/self/fd/{fd}")), real_fsync(fd)))
    run = tmp_path / "run"
    log = tmp_path / "audit.log"
    # The check list is one cheap check of this machine: what is counted is the writing, not the scan
    code = main(["--audit-log", str(log), "scan", "--check", "LOG-0040", "--format", "none", "--quiet",
                 "--no-history", "--out", str(run)])
    assert code in (0, 1, 3)
    assert (run / "manifest.json").is_file() and (run / "results.json").is_file() and (run / "profile.json").is_file()
    assert flushes == [str(run)]
    assert [os.path.basename(p) for p in fsyncs] == [".manifest.json.tmp", "audit.log", ".audit.log.head.tmp"]
