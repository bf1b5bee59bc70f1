"""The tool's own audit trail: appended with a hash chain; edits, removals and reordering are detected."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from auditor.bundle import audit_log
from auditor.clock import FixedClock

CLOCK = FixedClock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))


def _log(tmp_path, entries=4):
    path = tmp_path / "audit.log"
    for index in range(entries):
        audit_log.append(path, "scan", ["scan", "--out", f"r{index}"], 1, run_id=f"run-{index}", targets=["web-01"],
                         clock=CLOCK)
    return path


def test_an_untouched_chain_verifies(tmp_path):
    check = audit_log.verify(_log(tmp_path))
    assert (check.entries, check.broken_at) == (4, 0)


def test_edited_removed_and_swapped_entries_are_found(tmp_path):
    path = _log(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    edited = lines.copy()
    edited[1] = edited[1].replace(b'"exit": 1', b'"exit": 0')
    path.write_bytes(b"".join(edited))
    assert audit_log.verify(path).broken_at == 3  # the entry after the edit no longer follows it
    path.write_bytes(b"".join(lines[:1] + lines[2:]))
    assert audit_log.verify(path).broken_at == 2
    path.write_bytes(b"".join([lines[0], lines[2], lines[1], lines[3]]))
    assert audit_log.verify(path).broken_at == 2


def test_head_pins_the_chain_and_no_secret_is_logged(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITOR_KEY_PASSPHRASE", "hunter2")
    path = _log(tmp_path, 2)
    head = audit_log.head(path)
    assert len(head) == 64 and b"hunter2" not in path.read_bytes()
    audit_log.append(path, "verify", ["verify", "r0"], 0, clock=CLOCK)
    assert json.loads(path.read_text().splitlines()[-1])["prev"] == head
