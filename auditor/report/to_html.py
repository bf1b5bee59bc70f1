"""ReportView -> HTML with jinja2: autoescape on, StrictUndefined, no logic in the templates."""

from __future__ import annotations

from pathlib import Path

import jinja2
from markupsafe import Markup

from auditor.report import messages
from auditor.report.charts import stacked_bars
from auditor.report.view import ReportView, ReqStatus

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
_FINDING_ORDER = ["fail", "error", "warn", "waived", "pass", "manual", "not_applicable", "skipped"]


def environment(templates_dir: Path = TEMPLATES) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=True,  # scanned content is hostile: every value is escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(view: ReportView, lang: str = "en", *, full: bool = True, templates_dir: Path = TEMPLATES) -> str:
    """The report as one self-contained HTML document; `full=False` is the compact layout used for the PDF."""
    names = {s: messages.status_label(lang, s) for s in [*_FINDING_ORDER, *(r.value for r in ReqStatus)]}
    charts = {
        "requirements": Markup(stacked_bars([(s.id, s.counts) for s in view.sections], _FINDING_ORDER, names)),
        "targets": Markup(stacked_bars([(t.name, t.counts) for t in view.targets], _FINDING_ORDER, names)),
    }
    css = (templates_dir / "report.css").read_text(encoding="utf-8")
    template = environment(templates_dir).get_template("report.html.j2")
    return template.render(
        view=view, lang=lang, full=full, charts=charts, css=Markup(css),
        t=lambda key: messages.label(lang, key),
        st=lambda status: messages.status_label(lang, status),
        dt=lambda moment: messages.format_datetime(lang, moment),
        day=lambda moment: messages.format_date(lang, moment),
        num=lambda value: messages.format_number(lang, value),
        limit=50,  # rows of a long table shown in the compact (PDF) layout; the HTML has them all
    )


FILE_NAME = "report{lang}.html"


def render(view: ReportView, lang: str) -> bytes:
    return render_html(view, lang, full=True).encode()
