"""ReportView -> report.json: the report's own summary (requirement statuses and deviations) for other tools.

results.json is the run's full record; this is what the report concluded from it.
"""

from __future__ import annotations

import json

from auditor.files import dump_json
from auditor.report.view import ReportView

FILE_NAME = "report.json"


def render(view: ReportView, lang: str) -> bytes:
    return dump_json({
        "run": {**view.run, "started_at": view.run["started_at"].isoformat(),
                "finished_at": view.run["finished_at"].isoformat()},
        "profile": {"name": view.profile_name, "sha256": view.profile_sha256},
        "manifest_sha256": view.manifest_sha256,
        "requirements": [{"id": s.id, "title": s.title, "status": s.status.value, "counts": dict(s.counts),
                          "evidence_files": s.evidence_count, "checks": [c for c, _ in s.checks]}
                         for s in view.sections],
        "deviations": [json.loads(json.dumps(r.__dict__, default=list)) for r in view.deviations],
    })
