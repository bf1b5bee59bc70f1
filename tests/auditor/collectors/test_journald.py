"""journald collector: effective config from `systemd-analyze cat-config`, service state, journal folder."""

from __future__ import annotations

import pytest

from auditor.collectors.journald import (
    CAT_CONFIG,
    HAS_PERSISTENT_DIR,
    IS_ACTIVE,
    collect,
    parse_journald_config,
    parse_timespan,
)
from auditor.models import Platform, SystemFacts
from auditor.transports.base import CommandResult
from tests.auditor.fake_host import FakeHost
from tests.conftest import FIXTURES

LINUX = SystemFacts(Platform.LINUX)
DEBIAN12_DEFAULT = (FIXTURES / "outputs" / "debian12-systemd-analyze-cat-config-journald.txt").read_text()
DROP_IN = DEBIAN12_DEFAULT + """
# /etc/systemd/journald.conf.d/90-retention.conf
[Journal]
Storage=persistent
MaxRetentionSec=1month
"""


def test_default_debian_config_has_only_comments():
    assert parse_journald_config(DEBIAN12_DEFAULT) == {}


def test_drop_in_overrides_and_other_sections_are_ignored():
    text = DROP_IN + "\n[Other]\nStorage=none\n"
    assert parse_journald_config(text) == {"Storage": "persistent", "MaxRetentionSec": "1month"}


@pytest.mark.parametrize(
    ("span", "seconds"),
    [("0", 0), ("", 0), ("90d", 90 * 86400), ("1month", 2629800), ("2w 3d", 17 * 86400), ("1h30min", 5400),
     ("1.5d", 129600), ("12", 12), ("soon", None), ("3 fortnights", None)],
)
def test_timespans_follow_systemd_time(span, seconds):
    assert parse_timespan(span) == seconds


def _host(config: str, active: str = "active\n", journal_dir: bool = True) -> FakeHost:
    return FakeHost({
        str(CAT_CONFIG): CommandResult(str(CAT_CONFIG), 0, config),
        str(IS_ACTIVE): CommandResult(str(IS_ACTIVE), 0 if active.strip() == "active" else 3, active),
        str(HAS_PERSISTENT_DIR): CommandResult(str(HAS_PERSISTENT_DIR), 0 if journal_dir else 1, ""),
    })


def test_auto_storage_is_persistent_only_with_the_journal_folder():
    assert collect(_host(DEBIAN12_DEFAULT), LINUX).persistent
    assert not collect(_host(DEBIAN12_DEFAULT, journal_dir=False), LINUX).persistent


def test_inactive_service_is_reported_with_its_state():
    facts = collect(_host(DEBIAN12_DEFAULT, active="inactive\n"), LINUX)
    assert not facts.active and facts.problem == "systemd-journald: inactive"


def test_no_systemd_at_all():
    facts = collect(FakeHost({}), LINUX)
    assert not facts.present and facts.problem == "systemd is not installed"


def test_other_sections_can_be_read_with_the_same_parser():
    # journal-upload.conf has the same layout with an [Upload] section
    text = "# /etc/systemd/journal-upload.conf\n[Upload]\n# URL=\nURL=https://logs.example.net\n[Journal]\nStorage=none\n"
    assert parse_journald_config(text, section="Upload") == {"URL": "https://logs.example.net"}
    assert parse_journald_config(text) == {"Storage": "none"}
