"""How findings add up to a requirement's verdict, and why a requirement was not tested."""

from __future__ import annotations

import pytest

from auditor.models import CheckSpec, Finding, Severity, Status, TargetKind
from auditor.report.verdicts import Reason, ReqStatus, requirement_verdict, target_verdict

P, F, W, N, S, E, M, X = (Status.PASS, Status.FAIL, Status.WARN, Status.NOT_APPLICABLE, Status.SKIPPED,
                          Status.ERROR, Status.MANUAL, Status.WAIVED)


def finding(status: Status, target: str = "web-01", check: str = "LOG-0040", why: str = "") -> Finding:
    return Finding(check, target, status, why or f"{check} {status.value}", requirements=("R12",),
                   skip_reason=why if status is S else "")


def spec(check_id: str, kinds: tuple[TargetKind, ...] = (TargetKind.SSH,)) -> CheckSpec:
    return CheckSpec(check_id, "title", Severity.HIGH, ("R2",), (), frozenset(), frozenset(kinds), False, "fix")


@pytest.mark.parametrize(("statuses", "expected"), [
    ([P, P], ReqStatus.PASS),
    ([P, W], ReqStatus.PASS),  # a warning is met today
    ([P, F], ReqStatus.FAIL),  # one failing check: this target does not meet it
    ([X, P], ReqStatus.EXCEPTION),
    ([N, N], ReqStatus.NOT_APPLICABLE),
    ([N, S], ReqStatus.NOT_TESTED),  # a skip is not a decision that it does not apply
    ([E], ReqStatus.NOT_TESTED),
    ([], ReqStatus.NOT_TESTED),
])
def test_one_target(statuses, expected):
    # Given one target's findings for a requirement
    # When they are judged
    verdict = target_verdict([finding(s) for s in statuses])
    # Then the target meets it only when nothing failed and something passed
    assert verdict is expected


def test_a_fleet_with_some_targets_failing_is_partly_met_with_the_count():
    # Given three targets, one failing a check the others pass
    by_target = {"a": [finding(P, "a")], "b": [finding(F, "b"), finding(P, "b", "LOG-0020")], "c": [finding(P, "c")]}
    # When the requirement is judged
    verdict = requirement_verdict(by_target, [], [], [TargetKind.SSH], "automated")
    # Then it is partly met, and the count says 2 of 3 targets meet it
    assert (verdict.status, verdict.met, verdict.judged) == (ReqStatus.PARTIAL, 2, 3)


def test_failing_everywhere_is_not_met_and_not_applicable_targets_are_not_judged():
    by_target = {"a": [finding(F, "a")], "b": [finding(F, "b")], "c": [finding(N, "c")]}
    verdict = requirement_verdict(by_target, [], [], [TargetKind.SSH], "automated")
    assert (verdict.status, verdict.met, verdict.judged) == (ReqStatus.FAIL, 0, 2)


def test_an_attestation_alone_is_attested_and_a_stale_one_fails():
    fresh = Finding("ATTEST-R10", "", M, "Attested by ...", resource="A1", requirements=("R10",))
    stale = Finding("ATTEST-R10", "", F, "Attestation is stale ...", resource="A1", requirements=("R10",))
    assert requirement_verdict({}, [fresh], [], [], "attested").status is ReqStatus.ATTESTED
    assert requirement_verdict({}, [stale], [], [], "attested").status is ReqStatus.FAIL


@pytest.mark.parametrize(("by_target", "checks", "evidence", "expected"), [
    # Its checks run on TLS endpoints and the inventory has none: say which checks and which kind is missing
    ({"web-01": []}, [spec("TLS-0010", (TargetKind.TLS,))], "automated",
     Reason("no_targets", kinds=("tls",), checks=("TLS-0010",))),
    # Only an attestation could evidence it, and there is none
    ({"web-01": []}, [], "attested", Reason("no_attestation")),
    ({"web-01": []}, [], "automated", Reason("no_checks")),
    # The checks ran but decided nothing: the most common reasons, with how many targets each
    ({"a": [finding(S, "a", why="runs on linux; target is windows")],
      "b": [finding(S, "b", why="runs on linux; target is windows")],
      "c": [finding(E, "c", why="Could not collect evidence: `ss` is not installed")]},
     [spec("NET-0010")], "automated",
     Reason("not_evidenced", (("runs on linux; target is windows", 2),
                              ("Could not collect evidence: `ss` is not installed", 1)))),
])
def test_not_tested_says_why(by_target, checks, evidence, expected):
    # Given a requirement nothing evidenced
    verdict = requirement_verdict(by_target, [], checks, [TargetKind.SSH], evidence)
    # Then it is not tested, with a reason a reader can act on
    assert verdict.status is ReqStatus.NOT_TESTED
    assert verdict.reason == expected
