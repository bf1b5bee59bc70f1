"""LOG-0020 and LOG-0040 on facts built in code: table-driven, Given/When/Then."""

from __future__ import annotations

import pytest

from auditor.collectors.journald import JournaldFacts
from auditor.collectors.timesync import TimeSyncFacts
from auditor.models import Status
from checks.audit_logging import clock_synchronised, journal_persistent


@pytest.mark.parametrize(
    ("facts", "status", "words"),
    [
        (JournaldFacts(True, True, {"Storage": "persistent"}), Status.PASS, "persistently"),
        (JournaldFacts(True, True, {}, persistent_dir=True), Status.PASS, "Storage=auto"),
        (JournaldFacts(True, True, {}, persistent_dir=False), Status.FAIL, "lost at every reboot"),
        (JournaldFacts(True, True, {"Storage": "volatile"}, persistent_dir=True), Status.FAIL, "only in memory"),
        (JournaldFacts(True, True, {"Storage": "none"}), Status.FAIL, "keeps logs nowhere"),
        (JournaldFacts(True, True, {"Storage": "persistent", "MaxRetentionSec": "1month"}), Status.FAIL,
         "after 30.4375 days"),
        (JournaldFacts(True, True, {"Storage": "persistent", "MaxRetentionSec": "1y"}), Status.PASS, "persistently"),
        (JournaldFacts(True, True, {"Storage": "persistent", "MaxRetentionSec": "soon"}), Status.FAIL,
         "cannot be read"),
        (JournaldFacts(True, False, problem="systemd-journald: inactive"), Status.FAIL, "not running"),
        (JournaldFacts(False, False, problem="systemd is not installed"), Status.FAIL, "systemd is not installed"),
    ],
)
def test_journal_persistent(facts, status, words):
    # Given journald facts, When LOG-0020 evaluates them with a 90-day retention
    verdict = journal_persistent(facts, 90)
    # Then the status and the sentence say what was observed
    assert verdict.status is status
    assert words in verdict.message
    if status is Status.FAIL:
        assert verdict.expected["retention_days"] == ">= 90"


@pytest.mark.parametrize(
    ("facts", "status", "words"),
    [
        (TimeSyncFacts(True, "timedatectl", True), Status.PASS, "synchronised (timedatectl)"),
        (TimeSyncFacts(True, "chronyc"), Status.PASS, "(chronyc)"),
        (TimeSyncFacts(False, "timedatectl", False), Status.FAIL, "NTP service disabled"),
        (TimeSyncFacts(None, "", unavailable={"timedatectl": "not installed", "chronyc": "not installed"}),
         Status.FAIL, "timedatectl: not installed; chronyc: not installed"),
    ],
)
def test_clock_synchronised(facts, status, words):
    verdict = clock_synchronised(facts)
    assert verdict.status is status and words in verdict.message
