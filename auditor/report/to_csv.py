"""ReportView -> CSV: one row per finding, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

from auditor.report.view import ReportView, all_rows
from auditor.visible import visible

FILE_NAME = "findings.csv"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection): a leading ' makes Excel show the text as text; control
    characters and lone surrogates are written as visible escapes."""
    value = visible(value)
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def to_csv(view: ReportView) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(["run", "target", "check_id", "title", "severity", "status", "requirements", "resource",
                     "message", "observed", "expected", "evidence_sha256", "waiver"])
    for row in all_rows(view):
        writer.writerow([safe_cell(v) for v in (view.run["id"], row.target, row.check_id, row.title, row.severity,
                                           row.status, " ".join(row.requirements), row.resource, row.message,
                                           row.observed, row.expected, " ".join(row.evidence), row.waiver)])
    return "\ufeff" + out.getvalue()  # the BOM makes Excel read UTF-8 (æ, ø, å) correctly


def render(view: ReportView, lang: str) -> bytes:
    return to_csv(view).encode()
