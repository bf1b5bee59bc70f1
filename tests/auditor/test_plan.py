"""The plan: what runs where, whether to log in, and a reason for every skip, decided before and after the
target's system is known."""

from __future__ import annotations

import pytest

from auditor.collectors import COLLECTORS
from auditor.models import Platform, Severity, SystemFacts, Target, TargetKind
from auditor.plan import Selection, plan_target
from auditor.plugin import check
from auditor.profile import load_profile
from auditor.registry import build_spec

PROFILE = load_profile()
SSH_HOST = Target("db-1", TargetKind.SSH, options={"host": "192.0.2.10"})


def _spec(func):
    return build_spec(func, "test", COLLECTORS, PROFILE.parameters, [r.id for r in PROFILE.requirements])


@check(id="TEST-0110", title="Offers strong key exchange", severity=Severity.LOW, target_kinds=(TargetKind.SSH,),
       remediation="Fix.")
def handshake(ssh_wire):
    raise AssertionError("not called")


@check(id="TEST-0120", title="Clock is synchronised", severity=Severity.LOW, platforms=(Platform.LINUX,),
       remediation="Fix.")
def clock(timesync):
    raise AssertionError("not called")


@check(id="TEST-0130", title="Host name is set", severity=Severity.LOW, remediation="Fix.")
def hostname(system):
    raise AssertionError("not called")


@check(id="TEST-0140", title="Needs root", severity=Severity.LOW, requires_root=True, remediation="Fix.")
def rooted(timesync):
    raise AssertionError("not called")


CHECKS = {s.id: s for s in map(_spec, (handshake, clock, hostname, rooted))}


@pytest.mark.parametrize(("only", "login"), [
    ({"TEST-0110"}, False),  # only what the network shows: the target is never logged in to
    ({"TEST-0110", "TEST-0120"}, True),  # one check needs a login
    ({"TEST-0130"}, True),  # the detected system needs a login too
])
def test_a_login_is_planned_only_when_a_check_needs_one(only, login):
    plan = plan_target(SSH_HOST, CHECKS, PROFILE, Selection(only=frozenset(only)))
    assert plan.login is login and plan.detects_system is login
    assert {s.id for s in plan.checks} == only


def test_auth_none_skips_what_needs_a_login_before_anything_is_touched():
    # Given a target that may not be logged in to, When planned, Then the login checks are skipped with the reason
    plan = plan_target(Target("db-1", TargetKind.SSH, options={"auth": "none"}), CHECKS, PROFILE, Selection())
    assert not plan.login and [s.id for s in plan.checks] == ["TEST-0110"]
    assert {s.check.id: s.reason for s in plan.skipped} == dict.fromkeys(
        ("TEST-0120", "TEST-0130", "TEST-0140"), "auth: none: only checks seen from the network run")


def test_the_users_skip_and_the_target_kind_are_applied_first():
    plan = plan_target(Target("laptop", TargetKind.LOCAL), CHECKS, PROFILE, Selection(skip=frozenset({"TEST-0120"})))
    assert "TEST-0110" not in {s.id for s in plan.checks} | {s.check.id for s in plan.skipped}  # SSH only
    assert [(s.check.id, s.reason) for s in plan.skipped] == [("TEST-0120", "excluded by --skip TEST-0120")]


@pytest.mark.parametrize(("system", "sudo", "runs", "reasons"), [
    (SystemFacts(Platform.LINUX, is_root=True), False, {"TEST-0120", "TEST-0130", "TEST-0140"}, {}),
    (SystemFacts(Platform.LINUX), False, {"TEST-0120", "TEST-0130"},
     {"TEST-0140": "needs root; run the scan as root or set sudo: true for this target"}),
    (SystemFacts(Platform.LINUX), True, {"TEST-0120", "TEST-0130", "TEST-0140"}, {}),
    (SystemFacts(Platform.WINDOWS, is_root=True), False, {"TEST-0130", "TEST-0140"},
     {"TEST-0120": "Runs only on Linux; this target runs Windows."}),
    (SystemFacts(None), False, set(), dict.fromkeys(("TEST-0120", "TEST-0130", "TEST-0140"),
                                                     "the target's platform could not be detected")),
])
def test_the_system_narrows_the_plan_with_a_reason_for_each_skip(system, sudo, runs, reasons):
    target = Target("laptop", TargetKind.LOCAL, options={"sudo": sudo})
    runnable, skipped = plan_target(target, CHECKS, PROFILE, Selection()).for_system(system)
    assert {s.id for s in runnable} == runs
    assert {s.check.id: s.reason for s in skipped} == reasons
