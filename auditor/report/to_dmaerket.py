"""ReportView -> the D-mærket criteria compliance CSV: one row per control (see report/frameworks_csv.py)."""

from __future__ import annotations

from auditor.report.frameworks_csv import framework_csv
from auditor.report.view import ReportView

FILE_NAME = "compliance-d-maerket.csv"  # the same in every language: a table of ids, codes and counts


def render(view: ReportView, lang: str) -> bytes:
    return framework_csv(view, "d-maerket")
