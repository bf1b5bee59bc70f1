"""ReportView -> SARIF 2.1.0: a rule per check, a result per finding (passes as kind "pass").

Every string is written through `visible` (auditor/visible.py): JSON would escape a control character, but a
lone surrogate cannot be written as UTF-8 at all, and a viewer showing the text should not meet ESC.
"""

from __future__ import annotations

from typing import Any

from auditor.files import dump_json
from auditor.report.view import ReportView, all_rows
from auditor.visible import visible

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"fail": "error", "error": "error", "warn": "warning", "waived": "note", "manual": "note"}
_KIND = {"pass": "pass", "fail": "fail", "warn": "fail", "waived": "fail", "error": "open", "manual": "review",
         "not_applicable": "notApplicable", "skipped": "notApplicable"}
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


def to_sarif(view: ReportView) -> dict[str, Any]:
    rules = [
        {
            "id": spec.id, "name": spec.id.replace("-", ""),
            "shortDescription": {"text": spec.title},
            "fullDescription": {"text": f"{spec.title}. Requirements: {', '.join(spec.requirements) or 'none'}."},
            "help": {"text": spec.remediation},
            "defaultConfiguration": {"level": "error" if spec.severity.value in ("critical", "high") else "warning"},
            "properties": {"tags": [*spec.requirements, *(str(c) for c in spec.controls)],
                           "security-severity": _SECURITY_SEVERITY[spec.severity.value],
                           "requirements": list(spec.requirements)},
        }
        for spec in view.checks
    ]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = []
    for section_row in all_rows(view):
        result: dict[str, Any] = {
            "ruleId": section_row.check_id,
            "kind": _KIND.get(section_row.status, "informational"),
            "level": _LEVEL.get(section_row.status, "none"),
            "message": {"text": section_row.message or section_row.status},
            "locations": [{"logicalLocations": [{
                "name": section_row.resource or section_row.target or "organisation",
                "fullyQualifiedName": "/".join(p for p in (section_row.target or "organisation",
                                                           section_row.resource) if p),
                "kind": "resource"}]}],
            "properties": {"status": section_row.status, "target": section_row.target,
                           "requirements": list(section_row.requirements), "observed": section_row.observed,
                           "expected": section_row.expected, "evidence_sha256_prefixes": list(section_row.evidence)},
        }
        if section_row.check_id in index:
            result["ruleIndex"] = index[section_row.check_id]
        if section_row.status == "waived":
            result["suppressions"] = [{"kind": "external", "status": "accepted",
                                       "justification": f"waiver {section_row.waiver}"}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "auditor", "version": view.run["scanner_version"],
                                "informationUri": "https://example.invalid/auditor", "rules": rules}},
            "automationDetails": {"id": f"auditor/{view.run['id']}"},
            "invocations": [{"executionSuccessful": not view.run["interrupted"],
                             "startTimeUtc": view.run["started_at"].isoformat().replace("+00:00", "Z"),
                             "endTimeUtc": view.run["finished_at"].isoformat().replace("+00:00", "Z")}],
            "results": results,
        }],
    }


FILE_NAME = "report.sarif"


def render(view: ReportView, lang: str) -> bytes:
    return dump_json(printable(to_sarif(view)))


def printable(value: Any) -> Any:
    """The document with each of its strings (keys too) made visible."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {printable(k): printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable(v) for v in value]
    return value
