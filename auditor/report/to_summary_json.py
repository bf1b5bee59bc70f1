"""ReportView -> report.json: the report's own summary (requirement statuses and deviations) for other tools.

results.json is the run's full record; this is what the report concluded from it.
"""

from __future__ import annotations

from auditor.files import dump_json
from auditor.report.view import ReportView

FILE_NAME = "report.json"
# A deviation as report.json has always written it (the report's own summarised and raw views stay out).
_ROW_FIELDS = ("target", "check_id", "title", "severity", "status", "message", "resource", "observed", "expected",
               "evidence", "remediation", "waiver", "requirements")


def render(view: ReportView, lang: str) -> bytes:
    return dump_json({
        "run": {**view.run, "started_at": view.run["started_at"].isoformat(),
                "finished_at": view.run["finished_at"].isoformat()},
        "profile": {"name": view.profile_name, "sha256": view.profile_sha256},
        "manifest_sha256": view.manifest_sha256,
        "requirements": [{"id": s.id, "title": s.title, "status": s.status.value, "counts": dict(s.counts),
                          "evidence_files": s.evidence_count, "checks": [c for c, _ in s.checks]}
                         for s in view.sections],
        "deviations": [{name: list(value) if isinstance(value, tuple) else value
                        for name, value in r.__dict__.items() if name in _ROW_FIELDS} for r in view.deviations],
    })
