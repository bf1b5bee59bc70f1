"""The optional parts of auditor (pip extras): which modules each needs, and one clear line when one is missing.

The core (scan this machine, seal, the plain summary) installs anywhere; SSH, TLS, the HTML/PDF report and the
database logins need libraries that a home computer does not (paramiko, sslyze, WeasyPrint with GTK, PyMySQL).
Code that uses one calls `require(extra)` first, so a missing library is this one line, never an ImportError.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Sequence

from auditor.errors import InputError
from auditor.models import Target, TargetKind

EXTRAS: dict[str, tuple[str, ...]] = {
    "fleet": ("paramiko",),
    "tls": ("sslyze",),
    "report": ("jinja2", "weasyprint"),
    "databases": ("pymysql",),
    "zones": ("celery",),
    "history-pg": ("psycopg",),
}
REPORT_FORMATS = ("html", "pdf")  # the formats that need the report extra; the others are plain Python
_TARGET_EXTRAS = {TargetKind.SSH: "fleet", TargetKind.TLS: "tls"}


class MissingExtra(InputError):
    """A feature was used whose extra is not installed; the fix is the pip command that installs it."""

    def __init__(self, extra: str) -> None:
        self.extra = extra
        super().__init__(f"this needs the '{extra}' extra", fix=f"pip install 'auditor[{extra}]'")

    def __str__(self) -> str:
        return f"{self.what}: {self.fix}"


def available(extra: str) -> bool:
    """Whether every module of `extra` can be imported (found, not imported: WeasyPrint is slow to load)."""
    return all(importlib.util.find_spec(module) is not None for module in EXTRAS[extra])


def require(extra: str) -> None:
    """Raise MissingExtra unless `extra` is installed."""
    if not available(extra):
        raise MissingExtra(extra)


def require_for_targets(targets: Iterable[Target]) -> None:
    """Before a scan touches anything: every target's kind must have its extra (SSH: fleet, TLS: tls)."""
    for extra in dict.fromkeys(_TARGET_EXTRAS[t.kind] for t in targets if t.kind in _TARGET_EXTRAS):
        require(extra)


def usable_formats(formats: Sequence[str]) -> tuple[list[str], str]:
    """The report formats a scan can render here, and a one-line note when HTML/PDF were dropped for want of
    the report extra (the evidence does not need them: `auditor report` renders them later)."""
    if available("report") or not any(f in REPORT_FORMATS for f in formats):
        return list(formats), ""
    dropped = [f for f in formats if f in REPORT_FORMATS]
    return [f for f in formats if f not in REPORT_FORMATS], (
        f"the {'/'.join(f.upper() for f in dropped)} report needs the 'report' extra: pip install 'auditor[report]' "
        "(then `auditor report RUN_DIR` renders it from this run)")


def require_formats(formats: Sequence[str]) -> None:
    """For `auditor report`: rendering HTML or PDF needs the report extra."""
    if any(f in REPORT_FORMATS for f in formats):
        require("report")
