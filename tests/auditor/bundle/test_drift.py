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


def _fleet(before: list[tuple[str, ...]], after: list[tuple[str, ...]], new_targets: list[str], *,
           unassessed: dict[str, str] | None = None) -> Drift:
    return drift("A", before, ["db-1", "web-2"], "B", after, new_targets, [], [], unassessed=unassessed)


def _listed(change: Drift) -> list[tuple[str, str, str]]:
    """Every item of every list, as (target, check, resource): an older failure must be in exactly one."""
    lists = (change.new_failures, change.fixed, change.still_failing, change.by_profile, change.not_checked)
    return sorted((i["target"], i["check_id"], i["resource"]) for items in lists for i in items)


OLD_FLEET = [_row("LOG-0020", "fail"), _row("LOG-0020", "fail", target="web-2"),
             _row("SSH-0050", "fail", target="web-2", resource="port 22")]


@pytest.mark.parametrize(("unassessed", "reason"), [
    ({"web-2": "web-2: connection refused"}, "the target was not assessed: connection refused"),
    (None, "the target was not assessed in the newer run")])  # from the history alone: no reason kept
def test_failures_of_a_target_not_assessed_now_are_not_checked_with_the_reason(unassessed, reason):
    # Given web-2 failing twice, then unreachable: still a target of the newer run, with no findings
    change = _fleet(OLD_FLEET, [_row("LOG-0020", "fail")], ["db-1", "web-2"], unassessed=unassessed)
    # Then its failures are "not checked now", with why; none is fixed, and every older failure is listed once
    assert change.fixed == [] and change.still_failing[0]["target"] == "db-1"
    assert [(i["check_id"], i["before"], i["status"], i["cause"]) for i in change.not_checked] == [
        ("LOG-0020", "fail", "absent", reason), ("SSH-0050", "fail", "absent", reason)]
    assert _listed(change) == sorted(k[:3] for k in OLD_FLEET)


def test_failures_of_a_removed_target_are_listed_with_it():
    # Given web-2 failing, then no longer a target of the run
    change = _fleet(OLD_FLEET, [_row("LOG-0020", "fail")], ["db-1"])
    # Then it is a removed target, and its failures are "not checked now" as such, not fixed
    assert change.removed_targets == ["web-2"] and change.fixed == []
    assert {i["cause"] for i in change.not_checked} == {"the target is no longer in the run"}
    assert _listed(change) == sorted(k[:3] for k in OLD_FLEET)


def test_a_failing_resource_no_longer_found_is_not_fixed():
    # Given sshd failing on two ports of web-2, then the daemon on port 2222 gone (web-2 assessed)
    port = {"check": "SSH-0050", "target": "web-2"}
    before = [_row(**port, status="fail", resource="port 22"), _row(**port, status="fail", resource="port 2222")]
    change = _fleet(before, [_row(**port, status="fail", resource="port 22")], ["db-1", "web-2"])
    # Then port 2222 is "no longer found", not fixed
    assert change.fixed == [] and [i["resource"] for i in change.still_failing] == ["port 22"]
    assert [(i["resource"], i["cause"]) for i in change.not_checked] == [
        ("port 2222", "no longer found in the newer run")]


@pytest.mark.parametrize("known", [True, False])  # with the run folders, and from the history alone
def test_a_check_disabled_by_the_profile_explains_its_per_resource_failures(known):
    # Given SSH-0050 failing on two ports, then disabled: one skipped finding with no resource
    ports = [_row("SSH-0050", "fail", resource="port 22"), _row("SSH-0050", "fail", resource="port 2222")]
    skipped = _row("SSH-0050", "skipped", "removed by the profile (relaxed.yaml:3:5)")
    on, off = _side("p1"), _side("p2", checks={"SSH-0050": {"enabled": False}})
    disabled = _compare(ports, [skipped], on if known else None, off if known else None)
    enabled = _compare([skipped], ports, off if known else None, on if known else None)
    # Then both ports are changed by the profile, not fixed, and not new failures once enabled again
    assert disabled.fixed == [] and disabled.not_checked == []
    assert [(i["resource"], i["before"], i["status"]) for i in disabled.by_profile] == [
        ("port 22", "fail", "skipped"), ("port 2222", "fail", "skipped")]
    assert all(i["cause"].startswith("the profile no longer runs it here") for i in disabled.by_profile)
    assert enabled.new_failures == [] and len(enabled.by_profile) == 2
    assert all(i["before"] == "skipped" and i["cause"] == "the profile runs it here again" for i in enabled.by_profile)


def test_per_resource_failures_skipped_by_the_run_are_not_checked():
    # Given SSH-0050 failing on port 22, then excluded with --skip (one finding, no resource)
    change = _compare([_row("SSH-0050", "fail", resource="port 22")],
                      [_row("SSH-0050", "skipped", "excluded by --skip SSH-0050")], _side("p1"), _side("p1"))
    # Then it is "not checked now", with the run's reason
    assert change.fixed == [] and change.not_checked[0]["cause"] == "excluded by --skip SSH-0050"
