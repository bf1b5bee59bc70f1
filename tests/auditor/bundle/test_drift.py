"""Drift between two runs: what the host changed, and what the profile, a waiver or an attestation changed."""

from __future__ import annotations

import pytest

from auditor.bundle.causes import ProfileSide
from auditor.bundle.history import Drift, drift

PROFILE = {"parameters": {"log_retention_days": 90, "min_aes_bits": 256}, "checks": {}, "tailoring": {},
           "waivers": [{"id": "W1", "check": "DISK-00*"}], "attestations": []}
PARAMS = {"LOG-0020": ("log_retention_days",), "SSH-0030": (), "DISK-0020": ("min_aes_bits",)}


def _side(sha: str, expired: tuple[str, ...] = (), **changes) -> ProfileSide:
    return ProfileSide(sha, {**PROFILE, **changes}, PARAMS, expired)


def _compare(before: list[tuple[str, ...]], after: list[tuple[str, ...]], old: ProfileSide | None,
             new: ProfileSide | None) -> Drift:
    profiles = (old, new) if old and new else None
    return drift("A", before, ["db-1"], "B", after, ["db-1"], list(old.expired_waivers) if old else [],
                 list(new.expired_waivers) if new else [], profiles=profiles)


def _row(check: str, status: str, message: str = "m", target: str = "db-1", resource: str = "") -> tuple[str, ...]:
    return (target, check, resource, status, message)


def test_under_the_same_profile_a_failure_that_passes_is_fixed_by_the_host():
    # Given two runs under one profile, LOG-0020 failing then passing
    change = _compare([_row("LOG-0020", "fail")], [_row("LOG-0020", "pass")], _side("p1"), _side("p1"))
    # Then it is fixed, and the diff says the profile is the same
    assert [i["check_id"] for i in change.fixed] == ["LOG-0020"] and change.by_profile == []
    assert change.profile_changed is False and change.profile_differences == []


@pytest.mark.parametrize(("check", "explained"), [("LOG-0020", True), ("SSH-0030", False)])
def test_a_changed_parameter_explains_only_the_checks_that_read_it(check, explained):
    # Given a newer profile with a shorter retention, and a check that went from fail to pass
    change = _compare([_row(check, "fail")], [_row(check, "pass")], _side("p1"),
                      _side("p2", parameters={**PROFILE["parameters"], "log_retention_days": 30}))
    # Then a check reading that parameter is marked as changed by the profile, with the values; another is fixed
    assert change.profile_changed is True
    assert change.profile_differences == ["~ parameters.log_retention_days: 90 -> 30"]
    if explained:
        assert change.fixed == [] and change.by_profile[0]["cause"] == "parameter log_retention_days changed: 90 -> 30"
        assert change.by_profile[0]["before"] == "fail" and change.by_profile[0]["status"] == "pass"
    else:
        assert [i["check_id"] for i in change.fixed] == [check] and change.by_profile == []


def test_a_check_disabled_or_enabled_by_the_profile_is_neither_fixed_nor_a_new_failure():
    # Given SSH-0030 failing, then removed by the profile, then enabled again
    removed = "removed by the profile (region.yaml:4:3)"
    off = _side("p2", checks={"SSH-0030": {"enabled": False}})
    disabled = _compare([_row("SSH-0030", "fail")], [_row("SSH-0030", "skipped", removed)], _side("p1"), off)
    enabled = _compare([_row("SSH-0030", "skipped", removed)], [_row("SSH-0030", "fail")], off, _side("p1"))
    # Then both changes are set apart with their cause
    assert disabled.fixed == [] and disabled.by_profile[0]["cause"].startswith("the profile no longer runs it here")
    assert enabled.new_failures == [] and enabled.by_profile[0]["cause"] == "the profile runs it here again"


def test_a_waiver_added_or_expired_explains_the_change():
    # Given DISK-0020 failing, then covered by a newly added waiver, then failing again once W1 expired
    before = [{"id": "W1", "check": "DISK-0010"}]
    added = _side("p2", waivers=[*before, {"id": "W2", "check": "DISK-0020"}])
    disk = ("DISK-0020", "fail")
    newly_waived = _compare([_row(*disk)], [_row("DISK-0020", "waived")], _side("p1", waivers=before), added)
    expired = _compare([_row("DISK-0020", "waived")], [_row(*disk)], _side("p1"), _side("p1", expired=("W1",)))
    # Then neither is listed as fixed or as a new failure, and each names its waiver
    assert newly_waived.fixed == [] and newly_waived.by_profile[0]["cause"] == "waiver W2 added to the profile"
    assert expired.new_failures == [] and expired.by_profile[0]["cause"] == "waiver W1 expired"
    assert expired.expired_waivers == ["W1"]


def test_an_attestation_past_its_review_date_is_not_a_host_failure():
    # Given the organisation's R10 attestation in force, then past its review date, under the same profile
    change = _compare([_row("ATTEST-R10", "manual", target="", resource="A1")],
                      [_row("ATTEST-R10", "fail", target="", resource="A1")], _side("p1"), _side("p1"))
    # Then it is set apart with that cause
    assert change.new_failures == []
    assert change.by_profile[0]["cause"] == "the attestation for R10 is past its review date"


def test_a_failure_not_checked_again_is_not_fixed():
    # Given a failure that the newer run skipped with --skip
    change = _compare([_row("LOG-0020", "fail")], [_row("LOG-0020", "skipped", "excluded by --skip LOG-0020")],
                      _side("p1"), _side("p1"))
    # Then it is "not checked", not fixed
    assert change.fixed == [] and change.not_checked[0]["cause"] == "excluded by --skip LOG-0020"


def test_without_the_profiles_waivers_still_explain_and_the_profile_is_unknown():
    # Given two runs known only from the history (their folders are gone)
    change = _compare([_row("DISK-0020", "fail")], [_row("DISK-0020", "waived")], None, None)
    # Then the waiver is still the cause, and whether the profile changed is unknown
    assert change.fixed == [] and change.by_profile[0]["cause"] == "a waiver now covers it"
    assert change.profile_changed is None and change.document()["profile_changed"] is None
