"""Waivers: expiry in Europe/Copenhagen, globs and scopes, and what becomes of covered findings."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from auditor.errors import InputError
from auditor.models import Finding, Location, Role, Scope, Status, Target, TargetKind, Waiver
from auditor.waivers import apply_waivers, end_of_day, moment, parse_waivers, waiver_uses
from auditor.yamlfile import parse_yaml

WEB = Target("web-01", TargetKind.SSH, Role.SERVER, Location.DATACENTER, ("dmz",))
LAPTOP = Target("laptop-017", TargetKind.LOCAL, Role.WORKSTATION, Location.HOME)


def _waiver(check="DISK-00*", scope=None, expires=datetime(2027, 1, 1, tzinfo=UTC)) -> Waiver:
    return Waiver("W1", check, scope or Scope(), "legacy disk", "DPO", date(2026, 11, 1), expires, "medium")


def _fail(check_id="DISK-0020", target="web-01", status=Status.FAIL) -> Finding:
    return Finding(check_id, target, status, "256-bit XTS = AES-128")


@pytest.mark.parametrize(
    ("day", "last_active_utc", "first_expired_utc"),
    [
        (date(2026, 12, 31), datetime(2026, 12, 31, 22, 59, 59, tzinfo=UTC), datetime(2026, 12, 31, 23, tzinfo=UTC)),
        (date(2026, 7, 1), datetime(2026, 7, 1, 21, 59, 59, tzinfo=UTC), datetime(2026, 7, 1, 22, tzinfo=UTC)),
        # DST ends on 2026-10-25: the end of that day is in CET (+01:00).
        (date(2026, 10, 25), datetime(2026, 10, 25, 22, 59, 59, tzinfo=UTC), datetime(2026, 10, 25, 23, tzinfo=UTC)),
        # DST starts on 2026-03-29: the end of that day is in CEST (+02:00).
        (date(2026, 3, 29), datetime(2026, 3, 29, 21, 59, 59, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC)),
        # The day before DST starts ends in CET.
        (date(2026, 3, 28), datetime(2026, 3, 28, 22, 59, 59, tzinfo=UTC), datetime(2026, 3, 28, 23, tzinfo=UTC)),
    ],
)
def test_a_date_alone_expires_at_the_end_of_that_day_in_copenhagen(day, last_active_utc, first_expired_utc):
    waiver = _waiver(expires=end_of_day(day))
    assert apply_waivers([_fail()], WEB, [waiver], last_active_utc)[0].status is Status.WAIVED
    assert apply_waivers([_fail()], WEB, [waiver], first_expired_utc)[0].status is Status.FAIL


def test_an_explicit_date_time_is_exact_on_both_sides_of_utc_midnight():
    doc = parse_yaml("expires: 2027-01-01T00:30:00+01:00\n", "p.yaml", "profile")
    expires = moment(doc, doc.data["expires"], "expires")
    assert expires == datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    waiver = _waiver(expires=expires)
    assert apply_waivers([_fail()], WEB, [waiver], datetime(2026, 12, 31, 23, 29, tzinfo=UTC))[0].waiver == "W1"
    assert not apply_waivers([_fail()], WEB, [waiver], datetime(2026, 12, 31, 23, 30, tzinfo=UTC))[0].waiver


def test_a_date_time_without_a_zone_is_refused():
    doc = parse_yaml("waivers:\n  - {check: X-0010, reason: r, approver: a, created: 2026-11-01, risk: low,\n"
                     "     expires: 2026-12-31 12:00:00}\n", "p.yaml", "profile")
    with pytest.raises(InputError, match=r"p.yaml:3:15: .*explicit time zone"):
        parse_waivers(doc)


def test_waived_keeps_the_raw_status_and_only_fails_are_waived():
    as_of = datetime(2026, 11, 26, tzinfo=UTC)
    out = apply_waivers([_fail(), _fail(status=Status.ERROR), _fail("LOG-0010")], WEB, [_waiver()], as_of)
    assert [(f.status, f.raw_status) for f in out] == [(Status.WAIVED, Status.FAIL), (Status.ERROR, None),
                                                       (Status.FAIL, None)]


@pytest.mark.parametrize(
    ("scope", "web", "laptop"),
    [
        (Scope(targets=("web-01",)), True, False),
        (Scope(roles=("workstation",)), False, True),
        (Scope(locations=("home",)), False, True),
        (Scope(tags=("dmz",)), True, False),
        (Scope(roles=("server",), tags=("pci",)), False, False),
        (Scope(), True, True),
    ],
)
def test_a_scoped_waiver_touches_only_its_targets(scope, web, laptop):
    as_of = datetime(2026, 11, 26, tzinfo=UTC)
    waiver = _waiver(scope=scope)
    assert (apply_waivers([_fail()], WEB, [waiver], as_of)[0].status is Status.WAIVED) is web
    assert (apply_waivers([_fail(target="laptop-017")], LAPTOP, [waiver], as_of)[0].status is Status.WAIVED) is laptop


def test_uses_report_active_expired_and_unused():
    as_of = datetime(2026, 11, 26, tzinfo=UTC)
    active = _waiver()
    expired = Waiver("W2", "LOG-0010", Scope(), "r", "a", date(2026, 1, 1), datetime(2026, 6, 1, tzinfo=UTC), "low")
    unused = Waiver("W3", "PATCH-*", Scope(), "r", "a", date(2026, 1, 1), datetime(2027, 6, 1, tzinfo=UTC), "low")
    findings = apply_waivers([_fail(), _fail("LOG-0010")], WEB, [active, expired, unused], as_of)
    uses = {u.waiver.id: u for u in waiver_uses([active, expired, unused], [(f, WEB) for f in findings], as_of)}
    assert (uses["W1"].state, uses["W1"].matched) == ("active", ("DISK-0020@web-01",))
    assert (uses["W2"].state, uses["W2"].matched) == ("expired", ("LOG-0010@web-01",))
    assert uses["W3"].state == "unused"


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("{check: X-0010, reason: r, approver: a, created: 2026-11-01, risk: low}", "needs 'expires'"),
        ("{check: X-0010, reason: r, approver: a, created: 2026-11-01, expires: 2027-01-01, risk: huge}",
         "risk must be one of low, medium, high, critical"),
        ("{check: X-0010, approver: a, created: 2026-11-01, expires: 2027-01-01, risk: low}", "needs 'reason'"),
        ("{check: X-0010, reason: r, approver: a, created: soon, expires: 2027-01-01, risk: low}", "must be a date"),
        ("{check: X-0010, reason: r, approver: a, created: 2026-11-01, expires: 2027-01-01, risk: low, why: x}",
         "unknown key 'why'"),
    ],
)
def test_bad_waivers_name_the_place(entry, words):
    doc = parse_yaml(f"waivers:\n  - {entry}\n", "p.yaml", "profile")
    with pytest.raises(InputError) as error:
        parse_waivers(doc)
    assert str(error.value).startswith("p.yaml:2:") and words in str(error.value)
