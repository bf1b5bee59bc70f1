"""ReportView: everything a report shows, computed from a run folder alone (pure; no jinja, no clock).

A requirement's status aggregates its findings across targets and attestations:
fail (only failures), partial (failures beside passes), pass_with_exception (waived failures, no open
ones), pass, attested (only attestations), not_applicable, not_tested (nothing evidenced it; errors
and skips do not count as evidence).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from auditor.bundle.layout import CHANGES, EVIDENCE_INDEX, PROFILE
from auditor.bundle.results import read_results
from auditor.catalogue import control_title
from auditor.files import sha256_bytes
from auditor.models import CheckSpec, Finding, ScanResult, Severity, Status

_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}  # critical first


class ReqStatus(StrEnum):
    FAIL = "fail"
    PARTIAL = "partial"
    EXCEPTION = "pass_with_exception"
    PASS = "pass"
    ATTESTED = "attested"
    NOT_APPLICABLE = "not_applicable"
    NOT_TESTED = "not_tested"


@dataclass(frozen=True)
class Row:
    """One finding as a report line."""

    target: str
    check_id: str
    title: str
    severity: str
    status: str
    message: str
    resource: str
    observed: str
    expected: str
    evidence: tuple[str, ...]  # short SHA-256 prefixes
    remediation: str
    waiver: str
    requirements: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    annex: tuple[str, ...]
    dmaerket: tuple[tuple[str, str], ...]
    iso27001: tuple[tuple[str, str], ...]
    cis: tuple[tuple[str, str], ...]
    evidence_class: str
    not_scannable: str
    status: ReqStatus
    checks: tuple[tuple[str, str], ...]
    parameters: tuple[tuple[str, str, str], ...]
    rows: tuple[Row, ...]
    counts: Mapping[str, int]
    evidence_count: int

    @property
    def problems(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.status in ("fail", "error", "warn", "waived"))


@dataclass(frozen=True)
class TargetRow:
    name: str
    kind: str
    system: str
    role: str
    location: str
    assessed: bool
    reason: str
    privileges: str
    counts: Mapping[str, int]


@dataclass(frozen=True)
class ReportView:
    run: Mapping[str, Any]
    parties: Mapping[str, Mapping[str, str]]
    profile_name: str
    profile_sha256: str
    manifest_sha256: str
    sections: tuple[Section, ...]
    deviations: tuple[Row, ...]
    targets: tuple[TargetRow, ...]
    matrix: tuple[tuple[str, tuple[str, ...]], ...]  # target -> status per requirement (same order as sections)
    skipped: tuple[Row, ...]
    errors: tuple[Row, ...]
    waivers: tuple[Mapping[str, Any], ...]
    evidence_index: tuple[Mapping[str, Any], ...]
    checks: tuple[CheckSpec, ...]
    result: ScanResult
    changes: Mapping[str, Any] | None = None  # drift against the previous run (changes.json), if any

    @property
    def top_deviations(self) -> tuple[Row, ...]:
        return self.deviations[:5]


def build_view(run_dir: Path) -> ReportView:
    """Read results.json, profile.json and the manifest of a run folder and lay out the report."""
    result = read_results(run_dir)
    profile = _read_json(run_dir / PROFILE)
    manifest_path = run_dir / EVIDENCE_INDEX
    manifest_bytes = manifest_path.read_bytes() if manifest_path.is_file() else b""
    manifest = json.loads(manifest_bytes) if manifest_bytes else {"facts": []}
    findings = result.findings()
    rows = [_row(f, result.checks) for f in findings]
    sections = tuple(_section(req, profile, result, rows, findings) for req in profile.get("requirements", ()))
    deviations = sorted((r for r in rows if r.status in ("fail", "warn")),
                        key=lambda r: (r.status != "fail", _SEVERITY_RANK.get(Severity(r.severity), 9)
                                       if r.severity else 9, r.requirements, r.target, r.check_id))
    return ReportView(
        run={"id": result.run_id, "started_at": result.started_at, "finished_at": result.finished_at,
             "scanner_version": result.scanner_version, "interrupted": result.interrupted,
             "replayed_from": result.replayed_from},
        parties={k: profile.get(k, {}) for k in ("processor", "controller", "agreement")},
        profile_name=result.profile_name,
        profile_sha256=result.profile_sha256,
        manifest_sha256=sha256_bytes(manifest_bytes) if manifest_bytes else "",
        sections=sections,
        deviations=tuple(deviations),
        targets=tuple(_target_row(t) for t in result.targets),
        matrix=tuple((t.target.name, tuple(_status_of([f for f in t.findings if s.id in f.requirements]).value
                                           for s in sections)) for t in result.targets),
        skipped=tuple(r for r in rows if r.status in ("skipped", "not_applicable")),
        errors=tuple(r for r in rows if r.status == "error"),
        waivers=tuple(_waiver_row(u) for u in result.waivers),
        evidence_index=tuple(manifest.get("facts", ())),
        checks=tuple(result.checks.values()),
        result=result,
        changes=_read_json(run_dir / CHANGES) or None,
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    except FileNotFoundError:
        return {}


def _status_of(findings: Sequence[Finding]) -> ReqStatus:
    statuses = Counter(f.status for f in findings)
    passed = statuses[Status.PASS] + statuses[Status.WARN]
    if statuses[Status.FAIL]:
        return ReqStatus.PARTIAL if passed else ReqStatus.FAIL
    if statuses[Status.WAIVED]:
        return ReqStatus.EXCEPTION
    if passed:
        return ReqStatus.PASS
    if statuses[Status.MANUAL]:
        return ReqStatus.ATTESTED
    if statuses[Status.NOT_APPLICABLE] and len(statuses) == 1:
        return ReqStatus.NOT_APPLICABLE
    return ReqStatus.NOT_TESTED


def _section(req: Mapping[str, Any], profile: Mapping[str, Any], result: ScanResult, rows: Sequence[Row],
             findings: Sequence[Finding]) -> Section:
    rid = req["id"]
    mine = [f for f in findings if rid in f.requirements]
    my_rows = tuple(r for r in rows if rid in r.requirements)
    params = tuple((name, json.dumps(value), "") for name, value in profile.get("parameters", {}).items()
                   if name in _params_of(rid, result))
    evidence = {e.sha256 for f in mine for e in f.evidence}
    return Section(
        id=rid, title=req["title"], annex=tuple(req["annex"]),
        dmaerket=tuple((c, control_title("d-maerket", c)) for c in req.get("dmaerket", ())),
        iso27001=tuple((c, control_title("iso27001-2022", c)) for c in req.get("iso27001", ())),
        cis=tuple((c, control_title("cis-v8", c)) for c in req.get("cis", ())),
        evidence_class=req.get("evidence", ""), not_scannable=req.get("not_scannable", ""),
        status=_status_of(mine),
        checks=tuple((s.id, s.title) for s in result.checks.values() if rid in s.requirements),
        parameters=params, rows=my_rows, counts=dict(Counter(f.status.value for f in mine)),
        evidence_count=len(evidence),
    )


def _params_of(requirement: str, result: ScanResult) -> set[str]:
    """Profile parameters read by the checks that evidence this requirement (their pass rule)."""
    return {p for s in result.checks.values() if requirement in s.requirements for p in s.params if p != "target"}


def _row(f: Finding, checks: Mapping[str, CheckSpec]) -> Row:
    spec = checks.get(f.check_id)
    return Row(
        target=f.target, check_id=f.check_id, title=spec.title if spec else _attestation_title(f),
        severity=spec.severity.value if spec else "", status=f.status.value, message=f.message,
        resource=f.resource, observed=_compact(f.observed), expected=_compact(f.expected),
        evidence=tuple(e.sha256[:12] for e in f.evidence), remediation=spec.remediation if spec else "",
        waiver=f.waiver, requirements=f.requirements,
    )


def _attestation_title(f: Finding) -> str:
    return f"Attestation {f.resource}" if f.check_id.startswith("ATTEST-") else f.check_id


def _compact(values: Mapping[str, Any]) -> str:
    parts = []
    for key, value in values.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        parts.append(f"{key}: {text}")
    return "; ".join(parts)


def _target_row(t: Any) -> TargetRow:
    system = t.system
    return TargetRow(
        name=t.target.name, kind=t.target.kind.value,
        system=f"{system.os_name} {system.architecture}".strip() if system and system.os_name else "",
        role=t.target.role.value, location=t.target.location.value, assessed=not t.connection_error,
        reason=t.connection_error, privileges=("root" if system.is_root else "unprivileged") if system else "",
        counts=dict(Counter(f.status.value for f in t.findings)),
    )


def _waiver_row(use: Any) -> Mapping[str, Any]:
    w = use.waiver
    return {"id": w.id, "check": w.check, "scope": w.scope.describe(), "reason": w.reason, "approver": w.approver,
            "created": w.created, "expires": w.expires, "risk": w.risk, "instruction": w.instruction,
            "state": use.state, "matched": use.matched}


def all_rows(view: ReportView) -> list[Row]:
    """Every finding once (a finding mapped to two requirements appears in two sections)."""
    seen: dict[tuple[str, str, str, str], Row] = {}
    for section in view.sections:
        for row in section.rows:
            seen.setdefault((row.target, row.check_id, row.resource, row.message), row)
    for row in (*view.skipped, *view.errors, *view.deviations):
        seen.setdefault((row.target, row.check_id, row.resource, row.message), row)
    return list(seen.values())
