"""ReportView -> JUnit XML: a testsuite per check, for CI systems that show test results.

Every text is written through `visible` (auditor/visible.py): a control character from a target (NUL, ESC, a
form feed) has no place in XML 1.0, and ElementTree would write it raw, leaving a file no parser accepts.
"""

from __future__ import annotations

from xml.etree import ElementTree

from auditor.report.view import ReportView, Row, all_rows
from auditor.visible import visible

FILE_NAME = "report.junit.xml"


def to_junit(view: ReportView) -> str:
    """A testsuite per check, a testcase per check and target; fail -> failure, error -> error, skip -> skipped."""
    suites = ElementTree.Element("testsuites", name=visible(f"auditor {view.run['id']}"))
    by_check: dict[str, list[Row]] = {}
    for row in all_rows(view):
        by_check.setdefault(row.check_id, []).append(row)
    for check_id, rows in by_check.items():
        suite = ElementTree.SubElement(suites, "testsuite", name=visible(check_id), tests=str(len(rows)))
        counts = {"failures": 0, "errors": 0, "skipped": 0}
        for row in rows:
            case = ElementTree.SubElement(suite, "testcase", classname=visible(check_id),
                                          name=visible(f"{row.target or 'organisation'} {row.resource}".strip()))
            status = row.status
            message = visible(row.message)
            text = visible(f"{row.message}\nobserved: {row.observed}\nexpected: {row.expected}")
            if status in ("fail", "warn"):
                ElementTree.SubElement(case, "failure", message=message, type=status).text = text
                counts["failures"] += 1
            elif status == "error":
                ElementTree.SubElement(case, "error", message=message).text = text
                counts["errors"] += 1
            elif status in ("skipped", "not_applicable", "waived", "manual"):
                ElementTree.SubElement(case, "skipped", message=visible(f"{status}: {row.message}"))
                counts["skipped"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"


def render(view: ReportView, lang: str) -> bytes:
    return to_junit(view).encode()
