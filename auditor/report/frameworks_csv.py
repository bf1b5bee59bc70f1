"""ReportView -> one framework's compliance CSV: one row per control of its catalogue (auditor/catalogues/), with
the requirements that map to it, the checks that evidence it, its status and its evidence count.

The formats `iso27001`, `cis` and `dmaerket` (to_iso27001.py, to_cis.py, to_dmaerket.py) are this table for
one framework each. A control's checks are those that name it themselves and those that evidence a
requirement the profile maps to it; its attestations are those of such a requirement. Its status follows the
same rule as a requirement's (report/verdicts.py); a control that nothing maps to is `not_covered`.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence

from auditor.catalogue import frameworks
from auditor.models import CheckSpec, Finding, Status
from auditor.report.to_csv import safe_cell
from auditor.report.verdicts import requirement_verdict
from auditor.report.view import ReportView, Section

HEADER = ("framework", "control", "title", "requirements", "checks", "status", "targets_met", "targets_judged",
          "pass", "fail", "waived", "warn", "error", "evidence_count", "run")
NOT_COVERED = "not_covered"
_MAPPING = {"d-maerket": "dmaerket", "iso27001-2022": "iso27001", "cis-v8": "cis"}  # Section attribute per framework


def framework_csv(view: ReportView, framework: str) -> bytes:
    """The compliance table of one framework ("iso27001-2022", "cis-v8" or "d-maerket"), UTF-8 with a BOM."""
    catalogue = frameworks()[framework]
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(HEADER)
    for control, title in catalogue.controls.items():
        sections = [s for s in view.sections if control in (c for c, _ in getattr(s, _MAPPING[framework]))]
        checks = _checks(view, framework, control, sections)
        writer.writerow([safe_cell(v) for v in (framework, control, title, *_row(view, sections, checks))])
    return ("\ufeff" + out.getvalue()).encode()  # the BOM makes Excel read UTF-8 (æ, ø, å) correctly


def _checks(view: ReportView, framework: str, control: str, sections: Sequence[Section]) -> list[CheckSpec]:
    mapped = {s.id for s in sections}
    return [spec for spec in view.checks
            if any(ref.framework == framework and ref.control == control for ref in spec.controls)
            or mapped & set(spec.requirements)]


def _row(view: ReportView, sections: Sequence[Section], checks: Sequence[CheckSpec]) -> list[str]:
    ids = {spec.id for spec in checks}
    mapped = {s.id for s in sections}
    result = view.result
    by_target: dict[str, list[Finding]] = {t.target.name: [] for t in result.targets if not t.connection_error}
    for t in result.targets:
        by_target.setdefault(t.target.name, []).extend(f for f in t.findings if f.check_id in ids)
    organisation = [f for f in result.organisation if mapped & set(f.requirements)]
    findings = [f for found in by_target.values() for f in found] + organisation
    counts = Counter(f.status for f in findings)
    if not sections and not checks:
        status, met, judged = NOT_COVERED, 0, 0
    else:
        verdict = requirement_verdict(by_target, organisation, checks, {t.target.kind for t in result.targets},
                                      "attested" if sections and all(s.evidence_class == "attested"
                                                                     for s in sections) else "")
        status, met, judged = verdict.status.value, verdict.met, verdict.judged
    evidence = {e.sha256 for f in findings for e in f.evidence}
    return [" ".join(sorted(mapped, key=_requirement_order)), " ".join(sorted(ids)), status, str(met), str(judged),
            *(str(counts[s]) for s in (Status.PASS, Status.FAIL, Status.WAIVED, Status.WARN, Status.ERROR)),
            str(len(evidence)), str(view.run["id"])]


def _requirement_order(requirement: str) -> tuple[int, str]:
    number = requirement.lstrip("R")
    return (int(number), "") if number.isdigit() else (1 << 30, requirement)
