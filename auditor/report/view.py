"""ReportView: everything a report shows, computed from a run folder alone (pure; no jinja, no clock, no words).

Texts stay in English here, as the run recorded them; the renderers translate them (report/messages.py).
Verdicts follow report/verdicts.py; the score and the trend follow bundle/trend.py.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import field, replace
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

from auditor.bundle.layout import CHANGES, EVIDENCE_INDEX, PROFILE, SIGNATURE
from auditor.bundle.results import read_results
from auditor.bundle.trend import Score, TrendPoint, read_excerpt, score
from auditor.caps import MESSAGE_CHARS, cap_finding, counted, cut
from auditor.catalogue import control_title
from auditor.clock import iso
from auditor.files import sha256_bytes
from auditor.models import CheckSpec, Finding, ScanResult, Scope, Severity, Status, TargetResult, resource_beside
from auditor.records import record
from auditor.report.messages import LABELS, remediation_for
from auditor.report.verdicts import Reason, ReqStatus, Verdict, requirement_verdict, target_verdict

__all__ = ["AttestationRow", "CheckResult", "Detail", "DeviationGroup", "EvidenceLink", "ProblemGroup", "ReportView",
           "ReqStatus", "Row", "Section", "TargetRow", "all_rows", "build_view", "group_problems", "same_problem"]

_SEVERITY_RANK = {s.value: i for i, s in enumerate(Severity)}  # critical first
NO_SCORE = Score(0, 0)
PROBLEMS = ("fail", "warn", "error", "waived")
TARGET_ORDER = (*PROBLEMS, "pass", "not_applicable", "skipped")  # a target's result for a check: the first it had
ITEMS_SHOWN = 10  # of a long observed list; the rest is counted and points to its evidence
_TEXT_CHARS = 160


@record
class Detail:
    """One observed value, summarised: at most ITEMS_SHOWN items, and how many more there are."""

    key: str
    items: tuple[str, ...]
    more: int = 0

    @property
    def long(self) -> bool:
        """A list long enough that the finding's sentence cannot hold it (shown summarised in the PDF)."""
        return self.more > 0 or len(self.items) > 3


@record
class EvidenceLink:
    """A finding's pointer to one evidence file: what produced it, and its SHA-256."""

    path: str
    source: str
    sha256: str


@record
class Row:
    """One finding as a report line (texts in English; `evidence` holds short SHA-256 prefixes)."""

    target: str
    check_id: str
    title: str
    severity: str
    status: str
    message: str
    resource: str
    observed: str
    expected: str
    evidence: tuple[str, ...]
    remediation: str
    waiver: str
    requirements: tuple[str, ...]
    platform: str = ""
    details: tuple[Detail, ...] = ()
    expected_details: tuple[Detail, ...] = ()
    links: tuple[EvidenceLink, ...] = ()
    observed_values: Mapping[str, Any] = field(default_factory=dict, compare=False)
    expected_values: Mapping[str, Any] = field(default_factory=dict, compare=False)
    attestation: str = ""  # the attestation's id, when the finding is an attestation's and no check's

    @property
    def shown_resource(self) -> str:
        """The resource beside the message, unless the message already starts with it ("port 22: ..."), so that
        a report line says it once."""
        return resource_beside(self.message, self.resource)

    @property
    def raw_observed(self) -> str:
        """The observed values as pretty JSON, for the HTML's collapsed raw evidence."""
        return _pretty(self.observed_values)

    @property
    def raw_expected(self) -> str:
        return _pretty(self.expected_values)


@record
class ProblemGroup:
    """Findings of one check with the same status and the same message but for the target's own name: on a
    fleet, one sentence and the targets it concerns instead of the sentence once per target."""

    status: str
    rows: tuple[Row, ...]

    @property
    def first(self) -> Row:
        return self.rows[0]

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.target for r in self.rows))


def _target_rank(status: str) -> int:
    return TARGET_ORDER.index(status) if status in TARGET_ORDER else len(TARGET_ORDER)


def same_problem(row: Row) -> tuple[str, str, str]:
    """What makes two findings the same problem: status, resource and message, the target's name left out."""
    def unnamed(text: str) -> str:
        return text.replace(row.target, "\0") if row.target else text

    return row.status, unnamed(row.resource), unnamed(row.message)


def group_problems(rows: Sequence[Row]) -> tuple[ProblemGroup, ...]:
    groups: dict[tuple[str, str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault(same_problem(row), []).append(row)
    return tuple(ProblemGroup(key[0], tuple(found)) for key, found in groups.items())


@record
class CheckResult:
    """One check across the targets of a requirement: counts, the targets that passed, the problems.

    Attributes:
        home: the requirement whose section shows the problems in detail (the check's first one in this
            report); other sections point there.
    """

    check_id: str
    title: str
    severity: str
    counts: Mapping[str, int]
    problems: tuple[Row, ...]
    passed: tuple[str, ...]
    rows: tuple[Row, ...]
    home: str

    @property
    def problem_groups(self) -> tuple[ProblemGroup, ...]:
        return group_problems(self.problems)

    @property
    def target_counts(self) -> Mapping[str, int]:
        """How many targets it failed, warned, ... on: each target once, under its first status in TARGET_ORDER
        (a problem before a pass, a pass before not applicable or skipped), as the score counts a check once per
        target; `counts` counts results (one per resource: a laptop's C: and D:)."""
        by_target: dict[str, set[str]] = {}
        for row in self.rows:
            by_target.setdefault(row.target, set()).add(row.status)
        return dict(Counter(min(found, key=_target_rank) for found in by_target.values()))

    @property
    def passed_shown(self) -> tuple[str, ...]:
        """The targets that passed, each with what passed ("vm (port 58787)") when a problem of the same target is
        listed above it: "passed on vm" under "failed vm: port 40811" would contradict it."""
        troubled = {r.target for r in self.problems}
        shown = []
        for target in self.passed:
            what = tuple(dict.fromkeys(r.resource if len(r.resource) <= 60 else r.resource[:59] + "…" for r in self.rows
                                       if r.target == target and r.status == "pass" and r.resource))
            if target in troubled and what:
                target = f"{target} ({', '.join(what[:3])}{', …' if len(what) > 3 else ''})"
            shown.append(target)
        return tuple(shown)

    @property
    def decided(self) -> bool:
        """Some result decided something: passed, failed, warned or was waived."""
        return any(r.status in ("pass", "fail", "warn", "waived") for r in self.rows)

    @property
    def errored(self) -> bool:
        """Nothing decided, and on some target the evidence could not be collected."""
        return not self.decided and any(r.status == "error" for r in self.rows)


@record
class AttestationRow:
    """An attestation as the profile states it, and whether it is still in force (manual) or stale (fail)."""

    id: str
    statement: str
    attestor: str
    date: str
    next_review: str
    maturity: str
    artefacts: tuple[str, ...]
    status: str


@record
class Section:
    """One requirement: the agreement's text, how it is tested, and its results across targets."""

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
    parameters: tuple[tuple[str, str, str], ...]  # name, value, description
    rows: tuple[Row, ...]
    counts: Mapping[str, int]
    evidence_count: int
    score: Score = NO_SCORE
    met: int = 0
    judged: int = 0
    reason: Reason | None = None
    results: tuple[CheckResult, ...] = ()
    attestations: tuple[AttestationRow, ...] = ()
    waivers: tuple[Mapping[str, Any], ...] = ()
    applies_to: Scope = Scope()  # the targets it speaks of; all when empty

    @property
    def problems(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.status in PROBLEMS)

    @property
    def organisation_failures(self) -> tuple[Row, ...]:
        """What failed for the organisation rather than on a target (an attestation past its review date)."""
        return tuple(r for r in self.rows if not r.target and r.status == "fail")


@record
class DeviationGroup:
    """One check that failed or warned, with its affected targets grouped by platform (each platform gets
    its own remediation)."""

    check_id: str
    title: str
    severity: str
    status: str  # fail when any target failed, else warn
    requirements: tuple[str, ...]
    remediation: str
    by_platform: tuple[tuple[tuple[str, ...], tuple[Row, ...]], ...]  # platforms sharing one remediation

    @property
    def rows(self) -> tuple[Row, ...]:
        return tuple(r for _, rows in self.by_platform for r in rows)

    @property
    def attestation(self) -> str:
        """The attestation's id when the deviation is an attestation's (its title is "Attestation <id>")."""
        return self.rows[0].attestation if self.rows else ""

    @property
    def targets(self) -> tuple[str, ...]:
        """The targets it concerns (none for the organisation's own deviation, a stale attestation)."""
        return tuple(dict.fromkeys(r.target for r in self.rows if r.target))

    @property
    def by_status(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The targets that failed, then those that only warned: a warning is never counted as a failure."""
        failed = tuple(dict.fromkeys(r.target for r in self.rows if r.status == "fail" and r.target))
        warned = tuple(t for t in dict.fromkeys(r.target for r in self.rows if r.status == "warn" and r.target)
                       if t not in failed)
        return tuple((status, names) for status, names in (("fail", failed), ("warn", warned)) if names)


@record
class TargetRow:
    """One target of the inventory: what it is, whether it was assessed (and why not), its results."""

    name: str
    kind: str
    system: str
    role: str
    location: str
    assessed: bool
    reason: str
    privileges: str
    counts: Mapping[str, int]
    platform: str = ""
    evidence_files: int = 0
    verdicts: tuple[str, ...] = ()  # per requirement, in section order


@record
class ReportView:
    run: Mapping[str, Any]
    parties: Mapping[str, Mapping[str, str]]
    profile_name: str
    profile_sha256: str
    manifest_sha256: str
    sections: tuple[Section, ...]
    deviations: tuple[Row, ...]
    targets: tuple[TargetRow, ...]
    skipped: tuple[Row, ...]
    errors: tuple[Row, ...]
    waivers: tuple[Mapping[str, Any], ...]
    evidence_index: tuple[Mapping[str, Any], ...]
    checks: tuple[CheckSpec, ...]
    result: ScanResult
    changes: Mapping[str, Any] | None = None  # drift against the previous run (changes.json), if any
    score: Score = NO_SCORE
    trend: tuple[TrendPoint, ...] = ()  # earlier runs of the same targets, then this run
    deviation_groups: tuple[DeviationGroup, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    signed: bool = False  # the run folder's manifest is (or, as a scan renders, is about to be) signed

    @property
    def top_deviations(self) -> tuple[DeviationGroup, ...]:
        """The five most serious deviations: by severity, failures before warnings, most targets first."""
        return self.deviation_groups[:5]

    @property
    def rows(self) -> list[Row]:
        return all_rows(self)


def build_view(run_dir: Path, signed: bool | None = None) -> ReportView:
    """Read results.json, profile.json, changes.json, trend.json and the evidence index of a run folder.

    signed: whether the run folder is signed; None: whether it holds its signature (a scan renders before it
    signs, and says so)."""
    result = read_results(run_dir)
    # The runner keeps at most caps.FINDINGS findings of a check on a target and counts the rest; a run folder
    # written before that (or by hand) is counted here too, so that its report stays a readable size.
    result = replace(result, targets=tuple(replace(t, findings=tuple(counted(t.findings))) for t in result.targets))
    profile = _read_json(run_dir / PROFILE)
    manifest_path = run_dir / EVIDENCE_INDEX
    manifest_bytes = manifest_path.read_bytes() if manifest_path.is_file() else b""
    manifest = json.loads(manifest_bytes) if manifest_bytes else {"facts": []}
    platforms = {t.target.name: t.system.platform.value if t.system and t.system.platform else ""
                 for t in result.targets}
    findings = [_attesting(f, result.checks) for f in result.findings()]
    rows = {id(f): _row(f, result.checks, platforms.get(f.target, "")) for f in findings}
    sections = _sections(profile, result, findings, rows)
    deviations = sorted((rows[id(f)] for f in findings if f.status in (Status.FAIL, Status.WARN)),
                        key=lambda r: (r.status != "fail", _SEVERITY_RANK.get(r.severity, 9), r.requirements,
                                       r.target, r.check_id))
    evidence_per_target = Counter(e.get("target", "") for e in manifest.get("facts", ()))
    run_score = score((f.target, f.check_id, f.status.value) for f in findings if f.target)
    return ReportView(
        run={"id": result.run_id, "started_at": result.started_at, "finished_at": result.finished_at,
             "scanner_version": result.scanner_version, "interrupted": result.interrupted,
             "replayed_from": result.replayed_from, "replayed_signature": result.replayed_signature,
             "provenance": result.provenance},  # when the facts were collected (a replay: by an earlier run)
        parties={k: profile.get(k) or {} for k in ("processor", "controller", "agreement")},
        profile_name=result.profile_name,
        profile_sha256=result.profile_sha256,
        manifest_sha256=sha256_bytes(manifest_bytes) if manifest_bytes else "",
        sections=sections,
        deviations=tuple(deviations),
        targets=tuple(_target_row(t, sections, evidence_per_target[t.target.name]) for t in result.targets),
        skipped=tuple(rows[id(f)] for f in findings if f.status in (Status.SKIPPED, Status.NOT_APPLICABLE)),
        errors=tuple(rows[id(f)] for f in findings if f.status is Status.ERROR),
        waivers=tuple(_waiver_row(u) for u in result.waivers),
        evidence_index=tuple(manifest.get("facts", ())),
        checks=tuple(result.checks.values()),
        result=result,
        changes=_read_json(run_dir / CHANGES) or None,
        score=run_score,
        trend=(*read_excerpt(run_dir), TrendPoint(result.run_id, iso(result.started_at), run_score)),
        deviation_groups=_deviation_groups(deviations, result.checks),
        parameters=profile.get("parameters", {}),
        signed=(run_dir / SIGNATURE).is_file() if signed is None else signed,
    )


def _attesting(f: Finding, checks: Mapping[str, CheckSpec]) -> Finding:
    """An attestation of one check (`check: LOG-0010` in the profile) speaks for the check's requirements: it is
    shown, and counts, where the check is."""
    spec = checks.get(f.check_id)
    return replace(f, requirements=spec.requirements) if not f.target and not f.requirements and spec else f


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    except FileNotFoundError:
        return {}


def _sections(profile: Mapping[str, Any], result: ScanResult, findings: Sequence[Finding],
              rows: Mapping[int, Row]) -> tuple[Section, ...]:
    requirements = profile.get("requirements", ())
    order = [req["id"] for req in requirements]
    # A check's problems are shown in full in the first of its requirements; the others point there.
    home = {spec.id: next((r for r in order if r in spec.requirements), "") for spec in result.checks.values()}
    return tuple(_section(req, profile, result, findings, rows, home) for req in requirements)


def _section(req: Mapping[str, Any], profile: Mapping[str, Any], result: ScanResult, findings: Sequence[Finding],
             rows: Mapping[int, Row], home: Mapping[str, str]) -> Section:
    rid = req["id"]
    # A requirement about some targets only (R11: home workstations) is judged on theirs alone.
    scope = applies_to(req)
    concerned = {t.target.name for t in result.targets if scope.matches(t.target)}
    mine = [f for f in findings if rid in f.requirements and (not f.target or f.target in concerned)]
    by_target: dict[str, list[Finding]] = {t.target.name: [] for t in result.targets
                                           if not t.connection_error and t.target.name in concerned}
    for f in mine:
        if f.target:
            by_target.setdefault(f.target, []).append(f)
    specs = [s for s in result.checks.values() if rid in s.requirements]
    organisation = [f for f in mine if not f.target]
    verdict = requirement_verdict(by_target, organisation, specs, {t.target.kind for t in result.targets},
                                  req.get("evidence", ""))
    if not concerned and verdict.status is ReqStatus.NOT_TESTED:
        verdict = Verdict(ReqStatus.NOT_TESTED, reason=Reason("out_of_scope", scope=(
            *(("role", r) for r in scope.roles), *(("location", loc) for loc in scope.locations))))
    descriptions = _parameter_descriptions()
    params = tuple((name, _value(value), descriptions.get(name, ""))
                   for name, value in profile.get("parameters", {}).items() if name in _params_of(specs))
    my_rows = tuple(rows[id(f)] for f in mine)
    return Section(
        id=rid, title=req["title"], annex=tuple(req["annex"]),
        dmaerket=tuple((c, control_title("d-maerket", c)) for c in req.get("dmaerket", ())),
        iso27001=tuple((c, control_title("iso27001-2022", c)) for c in req.get("iso27001", ())),
        cis=tuple((c, control_title("cis-v8", c)) for c in req.get("cis", ())),
        evidence_class=req.get("evidence", ""), not_scannable=req.get("not_scannable", ""),
        status=verdict.status,
        checks=tuple((s.id, s.title) for s in specs),
        parameters=params, rows=my_rows, counts=dict(Counter(f.status.value for f in mine)),
        evidence_count=len({e.sha256 for f in mine for e in f.evidence}),
        score=score((f.target, f.check_id, f.status.value) for f in mine if f.target),
        met=verdict.met, judged=verdict.judged, reason=verdict.reason,
        results=tuple(_check_result(spec, [r for r in my_rows if r.check_id == spec.id and r.target], home[spec.id])
                      for spec in specs if any(r.check_id == spec.id and r.target for r in my_rows)),
        attestations=tuple(_attestation(f) for f in organisation
                           if f.check_id.startswith("ATTEST-") or f.status in (Status.MANUAL, Status.FAIL)),
        waivers=tuple(_waiver_row(u) for u in result.waivers  # the ones that covered (or would have) a finding
                      if u.matched and any(_matches(u.waiver.check, s.id) for s in specs)),
        applies_to=scope,
    )


def applies_to(req: Mapping[str, Any]) -> Scope:
    """The targets a requirement of profile.json speaks of (all when it says none)."""
    scope = req.get("applies_to") or {}
    return Scope(roles=tuple(scope.get("roles", ())), locations=tuple(scope.get("locations", ())))


def _matches(pattern: str, check_id: str) -> bool:
    return fnmatchcase(check_id, pattern)


@cache
def _parameter_descriptions() -> Mapping[str, str]:
    """What each parameter means, from the built-in profile that defines them (static text, not run state)."""
    from auditor.profile import load_profile

    return {name: d.description for name, d in load_profile().definitions.items()}


def _params_of(specs: Sequence[CheckSpec]) -> set[str]:
    """Profile parameters read by the checks that evidence a requirement (their pass rule)."""
    return {p for s in specs for p in s.params if p != "target"}


def _value(value: Any) -> str:
    """A parameter or observed value as a reader writes it: lists joined, mappings as "key: values"."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value) if value else "—"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_value(v)}" for k, v in value.items()) if value else "—"
    return json.dumps(value, ensure_ascii=False, default=str)


def _check_result(spec: CheckSpec, rows: Sequence[Row], home: str) -> CheckResult:
    by_status = Counter(r.status for r in rows)
    return CheckResult(
        check_id=spec.id, title=spec.title, severity=spec.severity.value, counts=dict(by_status),
        problems=tuple(sorted((r for r in rows if r.status in PROBLEMS),
                              key=lambda r: (PROBLEMS.index(r.status), r.target, r.resource))),
        passed=tuple(dict.fromkeys(r.target for r in rows if r.status == "pass")), rows=tuple(rows), home=home,
    )


def _attestation(f: Finding) -> AttestationRow:
    seen = f.observed
    artefacts = tuple(str(a.get("path", a)) if isinstance(a, Mapping) else str(a) for a in seen.get("artefacts", ()))
    about = "" if f.check_id.startswith("ATTEST-") else f" · {f.check_id}"  # an attestation of one check names it
    return AttestationRow(id=f.resource + about, statement=str(seen.get("statement", f.message)),
                          attestor=str(seen.get("attestor", "")), date=str(seen.get("date", "")),
                          next_review=str(seen.get("next_review", "")), maturity=str(seen.get("maturity") or ""),
                          artefacts=artefacts, status=f.status.value)


def _row(f: Finding, checks: Mapping[str, CheckSpec], platform: str) -> Row:
    # The runner caps what a finding carries; a run folder written before that (or by hand) is capped here too.
    f = cap_finding(f)
    spec = checks.get(f.check_id)
    return Row(
        target=f.target, check_id=f.check_id, title=spec.title if spec else _attestation_title(f),
        severity=spec.severity.value if spec else "", status=f.status.value,
        message=f.skip_reason or f.message if f.status is Status.SKIPPED else f.message,
        resource=f.resource, observed=_compact(f.observed), expected=_compact(f.expected),
        evidence=tuple(e.sha256[:12] for e in f.evidence), remediation=spec.remediation if spec else "",
        waiver=f.waiver, requirements=f.requirements, platform=platform,
        details=_details(f.observed), expected_details=_details(f.expected),
        links=tuple(EvidenceLink(e.path, e.source, e.sha256) for e in f.evidence),
        observed_values=f.observed, expected_values=f.expected,
        attestation=f.resource if not spec and f.check_id.startswith("ATTEST-") else "",
    )


def _attestation_title(f: Finding) -> str:
    """In English, as the machine formats give it; a report shows it in its language (Words.title)."""
    return LABELS["attestation_title"].format(id=f.resource) if f.check_id.startswith("ATTEST-") else f.check_id


def _compact(values: Mapping[str, Any]) -> str:
    parts = []
    for key, value in values.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        parts.append(f"{key}: {text}")
    return "; ".join(parts)


def _pretty(values: Mapping[str, Any]) -> str:
    return json.dumps(values, ensure_ascii=False, indent=2, default=str) if values else ""


def _details(values: Mapping[str, Any]) -> tuple[Detail, ...]:
    """Each observed value as at most ITEMS_SHOWN short items; empty values are left out."""
    details = []
    for key, value in values.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, Mapping):
            items = [f"{k}: {_text(v)}" for k, v in value.items()]
        elif isinstance(value, list | tuple):
            items = [_text(v) for v in value]
        else:
            items = [_text(value)]
        details.append(Detail(str(key), tuple(items[:ITEMS_SHOWN]), max(0, len(items) - ITEMS_SHOWN)))
    return tuple(details)


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else _value(value)
    return text if len(text) <= _TEXT_CHARS else text[:_TEXT_CHARS - 1] + "…"


def _deviation_groups(deviations: Sequence[Row], checks: Mapping[str, CheckSpec]) -> tuple[DeviationGroup, ...]:
    by_check: dict[str, list[Row]] = {}
    for row in deviations:
        by_check.setdefault(row.check_id, []).append(row)
    groups = []
    for check_id, rows in by_check.items():
        platforms: dict[str, list[Row]] = {}
        for row in sorted(rows, key=lambda r: (r.platform, r.target, r.resource)):
            platforms.setdefault(row.platform, []).append(row)
        spec = checks.get(check_id)
        remediation = spec.remediation if spec else ""
        shared: dict[str, tuple[list[str], list[Row]]] = {}  # platforms with the same remediation share a row
        for platform, found in platforms.items():
            entry = shared.setdefault(remediation_for(remediation, platform), ([], []))
            entry[0].append(platform)
            entry[1].extend(found)
        groups.append(DeviationGroup(
            check_id=check_id, title=rows[0].title, severity=rows[0].severity,
            status="fail" if any(r.status == "fail" for r in rows) else "warn",
            requirements=rows[0].requirements, remediation=remediation,
            by_platform=tuple((tuple(p), tuple(r)) for p, r in shared.values())))
    groups.sort(key=lambda g: (_SEVERITY_RANK.get(g.severity, 9), g.status != "fail", -len(g.targets), g.check_id))
    return tuple(groups)


def _target_row(t: TargetResult, sections: Sequence[Section], evidence_files: int) -> TargetRow:
    system = t.system
    return TargetRow(
        name=t.target.name, kind=t.target.kind.value,
        system=f"{system.os_name} {system.architecture}".strip() if system and system.os_name else "",
        role=t.target.role.value, location=t.target.location.value, assessed=not t.connection_error,
        # The error's text starts with the target's name, which the report gives beside it.
        reason=cut(t.connection_error.removeprefix(f"{t.target.name}: "), MESSAGE_CHARS, "in this target's evidence"),
        privileges=("root" if system.is_root else "unprivileged") if system else "",
        counts=dict(Counter(f.status.value for f in t.findings)),
        platform=system.platform.value if system and system.platform else "",
        evidence_files=evidence_files,
        verdicts=tuple(_verdict_of(t, s).value for s in sections),
    )


def _verdict_of(t: TargetResult, section: Section) -> ReqStatus:
    """One target's verdict on one requirement: not applicable outside the targets it speaks of; attested when an
    organisation-wide statement evidences it and no check of the target does."""
    if not section.applies_to.matches(t.target):
        return ReqStatus.NOT_APPLICABLE
    found = [f for f in t.findings if section.id in f.requirements]
    return ReqStatus.ATTESTED if not found and section.status is ReqStatus.ATTESTED else target_verdict(found)


def _waiver_row(use: Any) -> Mapping[str, Any]:
    w = use.waiver
    return {"id": w.id, "check": w.check, "scope": w.scope, "reason": w.reason, "approver": w.approver,
            "created": w.created, "expires": w.expires, "risk": w.risk, "instruction": w.instruction,
            "state": use.state, "matched": use.matched, "covered": _covered(use.matched)}


def _covered(matched: Sequence[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """What a waiver covered (or would have), "check_id@target" each, as each check with its targets."""
    by_check: dict[str, dict[str, None]] = {}
    for item in matched:
        check, _, target = item.partition("@")
        by_check.setdefault(check, {})[target] = None
    return tuple((check, tuple(targets)) for check, targets in by_check.items())


def all_rows(view: ReportView) -> list[Row]:
    """Every finding once (a finding mapped to two requirements appears in two sections)."""
    seen: dict[tuple[str, str, str, str], Row] = {}
    for section in view.sections:
        for row in section.rows:
            seen.setdefault((row.target, row.check_id, row.resource, row.message), row)
    for row in (*view.skipped, *view.errors, *view.deviations):
        seen.setdefault((row.target, row.check_id, row.resource, row.message), row)
    return list(seen.values())
