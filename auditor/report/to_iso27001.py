"""ReportView -> the ISO/IEC 27001:2022 Annex A compliance CSV: one row per control (see report/frameworks_csv.py)."""

from __future__ import annotations

from auditor.report.frameworks_csv import framework_csv
from auditor.report.view import ReportView

FILE_NAME = "compliance-iso27001-2022.csv"  # the same in every language: a table of ids, codes and counts


def render(view: ReportView, lang: str) -> bytes:
    return framework_csv(view, "iso27001-2022")
