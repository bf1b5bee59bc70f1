"""How findings add up to a verdict: per target and requirement, per requirement across targets, and why a
requirement was not tested. Pure functions of findings; the words are the renderer's.

A target meets a requirement when none of its checks for it failed and at least one passed (a warning
counts as passing, a waiver as passing with an approved exception). Across targets a requirement is
met (every judged target meets it), partly met (some do, some do not; the report gives the count), not
met (no judged target meets it), attested (only attestations evidence it), not applicable (every check
decided it does not apply) or not tested (nothing evidenced it; the report says why).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum

from auditor.models import CheckSpec, Finding, Status, TargetKind
from auditor.records import record


class ReqStatus(StrEnum):
    """A requirement's verdict (values are stable: report.json carries them)."""

    FAIL = "fail"  # not met
    PARTIAL = "partial"  # partly met: some targets meet it, some do not
    EXCEPTION = "pass_with_exception"  # met, with a waiver the controller approved
    PASS = "pass"  # met
    ATTESTED = "attested"
    NOT_APPLICABLE = "not_applicable"
    NOT_TESTED = "not_tested"


@record
class Reason:
    """Why a requirement was not tested, as a kind (its sentence is in the catalogue) and what it names.

    Attributes:
        kind: no_checks, no_attestation, no_targets (its checks run on kinds of target the inventory lacks),
            not_run (its checks were left out of this run), not_evidenced (checks ran but decided nothing);
            not_applicable: why a not-applicable requirement is (every check decided it does not apply).
        items: for not_evidenced and not_applicable, (English reason, number of targets), the two most common.
        kinds / checks: the target kinds the inventory lacks and the checks that would run on them (for
            no_targets, and for not_evidenced when some checks ran nowhere); for not_run, the checks.
        scope: for out_of_scope (the requirement speaks of some targets, and the run has none of them), what it
            speaks of: ("role", "workstation"), ("location", "home").
    """

    kind: str
    items: tuple[tuple[str, int], ...] = ()
    kinds: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    scope: tuple[tuple[str, str], ...] = ()


def target_verdict(findings: Sequence[Finding]) -> ReqStatus:
    """One target's verdict on one requirement, from its findings for it."""
    statuses = Counter(f.status for f in findings)
    if statuses[Status.FAIL]:
        return ReqStatus.FAIL
    if statuses[Status.PASS] or statuses[Status.WARN] or statuses[Status.WAIVED]:
        return ReqStatus.EXCEPTION if statuses[Status.WAIVED] else ReqStatus.PASS
    if statuses[Status.NOT_APPLICABLE] and not (statuses[Status.SKIPPED] or statuses[Status.ERROR]):
        return ReqStatus.NOT_APPLICABLE
    return ReqStatus.NOT_TESTED


@record
class Verdict:
    """A requirement's verdict across targets: status, how many judged targets meet it, why not tested."""

    status: ReqStatus
    met: int = 0
    judged: int = 0
    reason: Reason | None = None


def requirement_verdict(by_target: Mapping[str, Sequence[Finding]], organisation: Sequence[Finding],
                        checks: Iterable[CheckSpec], target_kinds: Iterable[TargetKind],
                        evidence_class: str) -> Verdict:
    """The verdict of one requirement from its findings per target and its organisation-wide attestations."""
    verdicts = Counter(target_verdict(f) for f in by_target.values() if f)
    met = verdicts[ReqStatus.PASS] + verdicts[ReqStatus.EXCEPTION]
    failed = verdicts[ReqStatus.FAIL] + sum(1 for f in organisation if f.status is Status.FAIL)
    judged = met + verdicts[ReqStatus.FAIL]
    if failed:
        return Verdict(ReqStatus.PARTIAL if met else ReqStatus.FAIL, met, judged)
    if met:
        return Verdict(ReqStatus.EXCEPTION if verdicts[ReqStatus.EXCEPTION] else ReqStatus.PASS, met, judged)
    if any(f.status is Status.MANUAL for f in organisation):
        return Verdict(ReqStatus.ATTESTED)
    if verdicts and set(verdicts) == {ReqStatus.NOT_APPLICABLE}:
        return Verdict(ReqStatus.NOT_APPLICABLE, reason=Reason("not_applicable", _most_given(by_target)))
    return Verdict(ReqStatus.NOT_TESTED, reason=_why_not_tested(by_target, list(checks), set(target_kinds),
                                                                  evidence_class))


def _most_given(by_target: Mapping[str, Sequence[Finding]]) -> tuple[tuple[str, int], ...]:
    """The two reasons the findings give most often, each with the number of targets that gave it."""
    targets_per_reason: dict[str, set[str]] = {}
    for found in by_target.values():
        for f in found:
            targets_per_reason.setdefault(f.skip_reason or f.message, set()).add(f.target)
    ranked = sorted(targets_per_reason.items(), key=lambda item: (-len(item[1]), item[0]))
    return tuple((text, len(targets)) for text, targets in ranked[:2])


def _why_not_tested(by_target: Mapping[str, Sequence[Finding]], checks: Sequence[CheckSpec],
                    kinds: set[TargetKind], evidence_class: str) -> Reason:
    findings = [f for found in by_target.values() for f in found]
    ran = {f.check_id for f in findings}
    idle = [spec for spec in checks if spec.id not in ran]  # planned on no target at all
    lacking = tuple(sorted({k.value for spec in idle for k in spec.target_kinds} - {k.value for k in kinds}))
    if findings:
        return Reason("not_evidenced", _most_given(by_target), lacking,
                      tuple(spec.id for spec in idle) if lacking else ())
    if not checks:
        return Reason("no_attestation" if evidence_class == "attested" else "no_checks")
    ids = tuple(spec.id for spec in checks)
    return Reason("no_targets", kinds=lacking, checks=ids) if lacking else Reason("not_run", checks=ids)
