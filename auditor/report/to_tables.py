"""ReportView -> the flat formats: CSV (one row per finding), JUnit XML, a Markdown summary."""

from __future__ import annotations

import csv
import io
from xml.etree import ElementTree

from auditor.report import messages
from auditor.report.to_sarif import _all_rows
from auditor.report.view import ReportView, Row

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection): a leading ' makes Excel show the text as text."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def to_csv(view: ReportView) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(["run", "target", "check_id", "title", "severity", "status", "requirements", "resource",
                     "message", "observed", "expected", "evidence_sha256", "waiver"])
    for row in _all_rows(view):
        writer.writerow([_cell(v) for v in (view.run["id"], row.target, row.check_id, row.title, row.severity,
                                           row.status, " ".join(row.requirements), row.resource, row.message,
                                           row.observed, row.expected, " ".join(row.evidence), row.waiver)])
    return "\ufeff" + out.getvalue()  # the BOM makes Excel read UTF-8 (æ, ø, å) correctly


def to_junit(view: ReportView) -> str:
    """A testsuite per check, a testcase per check and target; fail -> failure, error -> error, skip -> skipped."""
    suites = ElementTree.Element("testsuites", name=f"auditor {view.run['id']}")
    by_check: dict[str, list[Row]] = {}
    for row in _all_rows(view):
        by_check.setdefault(row.check_id, []).append(row)
    for check_id, rows in by_check.items():
        suite = ElementTree.SubElement(suites, "testsuite", name=check_id, tests=str(len(rows)))
        counts = {"failures": 0, "errors": 0, "skipped": 0}
        for row in rows:
            case = ElementTree.SubElement(suite, "testcase", classname=check_id,
                                          name=f"{row.target or 'organisation'} {row.resource}".strip())
            status = row.status
            text = f"{row.message}\nobserved: {row.observed}\nexpected: {row.expected}"
            if status in ("fail", "warn"):
                ElementTree.SubElement(case, "failure", message=row.message, type=status).text = text
                counts["failures"] += 1
            elif status == "error":
                ElementTree.SubElement(case, "error", message=row.message).text = text
                counts["errors"] += 1
            elif status in ("skipped", "not_applicable", "waived", "manual"):
                ElementTree.SubElement(case, "skipped", message=f"{status}: {row.message}")
                counts["skipped"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"


def to_markdown(view: ReportView, lang: str = "en") -> str:
    """A short summary for an e-mail or a ticket: requirement statuses and the deviations."""
    def t(key: str) -> str:
        return messages.label(lang, key)

    def st(status: str) -> str:
        return messages.status_label(lang, status)

    processor = view.parties["processor"].get("name", "")
    lines = [f"# {t('title')}", "", f"{t('processor')}: {processor or '—'} · {t('run')}: `{view.run['id']}` · "
             f"{t('generated')}: {messages.format_datetime(lang, view.run['started_at'])}", "",
             f"| {t('requirement')} | | {t('status')} | {t('evidence')} |", "| --- | --- | --- | ---: |"]
    lines += [f"| {s.id} | {_md(s.title)} | {st(s.status.value)} | {s.evidence_count} |" for s in view.sections]
    lines += ["", f"## {t('deviations')}", ""]
    lines += [f"- **{r.check_id}** {_md(r.target)}: {_md(r.message)}" for r in view.deviations] or \
             [t("no_deviations")]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Escape what would change a Markdown table or inject links and HTML."""
    for char in "\\|*_`[]<>#":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ")
