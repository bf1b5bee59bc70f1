"""ReportView -> the CIS Controls v8 compliance CSV: one row per control (see report/frameworks_csv.py)."""

from __future__ import annotations

from auditor.report.frameworks_csv import framework_csv
from auditor.report.view import ReportView

FILE_NAME = "compliance-cis-v8.csv"  # the same in every language: a table of ids, codes and counts


def render(view: ReportView, lang: str) -> bytes:
    return framework_csv(view, "cis-v8")
