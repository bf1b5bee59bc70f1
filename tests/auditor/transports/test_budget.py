"""A target's limits: its evidence budget (bytes as recorded) and the files one collector may read."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from auditor.bundle.evidence import EvidenceStore
from auditor.clock import FixedClock
from auditor.models import Target, TargetKind
from auditor.transports.base import CommandResult, FileContent, cmd
from auditor.transports.budget import MIB, Budget, Limits
from auditor.transports.recording import RecordingTransport
from tests.auditor.fake_host import FakeHost

CLOCK = FixedClock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))


def test_facts_fit_until_the_budget_is_spent_then_are_cut_with_the_reason():
    # Given a budget of 10 bytes
    budget = Budget(10)
    # When a 6-byte answer, then another 6-byte one, then a file arrive
    first = budget.command(CommandResult("a", 0, "123456"))
    second = budget.command(CommandResult("b", 0, "abcdef"))
    third = budget.file(FileContent("/f", True, b"xyz"))
    # Then the first is whole, the second keeps what fitted, the third nothing; the cut ones say why
    assert first == CommandResult("a", 0, "123456") and not budget.reason("a")
    assert second.stdout == "abcd" and second.truncated
    assert "2 of 6 bytes not kept" in budget.reason("b") and budget.spent_out
    assert third.data == b"" and third.truncated and "evidence_budget_mb" in budget.reason("/f")


def test_the_budget_counts_bytes_as_recorded_not_characters():
    # Given text that is not ASCII and control characters, which the JSON record makes longer
    budget = Budget(100)
    # When an answer of 20 characters that take 3 bytes each (60 recorded) and 10 controls (60 recorded) comes
    result = budget.command(CommandResult("a", 0, "\ufffd" * 20 + "\x01" * 10))
    # Then it does not fit in 100 bytes: what is kept is the share that fits
    assert result.truncated and len(json.dumps(result.stdout, ensure_ascii=False).encode()) - 2 <= 100


def test_limits_come_from_the_targets_inventory_options_or_the_defaults():
    assert Limits.of(Target("a", TargetKind.SSH, options={"evidence_budget_mb": 3, "max_listed_files": 7})) == \
        Limits(3 * MIB, 7)
    assert Limits.of(Target("a", TargetKind.LOCAL)) == Limits(64 * MIB, 200)


def test_a_collector_reads_at_most_max_listed_files_and_its_view_says_what_was_left(tmp_path):
    # Given a host with 30 files and a limit of 10 per collector
    files = {f"/etc/d/{i}.conf": b"x" for i in range(30)}
    host = FakeHost({}, files)
    recorder = RecordingTransport(host, EvidenceStore(tmp_path), CLOCK, Limits(64 * MIB, 10))
    view = recorder.view("syslog")
    # When the collector reads all 30
    contents = view.read_many(sorted(files))
    # Then 10 were read from the host, the others are unread with the reason, and the view notes the limit
    assert len(host.calls) == 10
    unread = [c for c in contents if c.error]
    assert len(unread) == 20 and all("max_listed_files" in c.error and c.truncated for c in unread)
    assert view.limited == ["'syslog' was asked to read more than 10 files on this target (max_listed_files): "
                            "20 left unread"]
    # And another collector has its own allowance
    assert not recorder.view("vpn").read_file("/etc/d/29.conf").error


def test_a_fact_cut_by_the_budget_is_recorded_truncated_with_the_reason_and_noted_by_its_view(tmp_path):
    # Given a host whose answer is larger than the target's whole budget
    host = FakeHost({"cat big": CommandResult("cat big", 0, "y" * 3 * MIB)}, {})
    store = EvidenceStore(tmp_path)
    recorder = RecordingTransport(host, store, CLOCK, Limits(1 * MIB, 200))
    view = recorder.view("x")
    # When it is read
    result = view.run(cmd("cat", "big"))
    # Then the record keeps the first MiB, is marked truncated, and says why; the view knows
    assert len(result.stdout) == MIB and result.truncated
    record = json.loads((tmp_path / view.used[0].path).read_text())
    assert record["truncated"] is True and "(1 MiB, evidence_budget_mb)" in record["truncated_reason"]
    assert view.limited and "evidence_budget_mb" in view.limited[0]
