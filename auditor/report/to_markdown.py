"""ReportView -> a short Markdown summary for an e-mail or a ticket."""

from __future__ import annotations

from auditor.report import messages
from auditor.report.view import ReportView

FILE_NAME = "summary{lang}.md"


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


def render(view: ReportView, lang: str) -> bytes:
    return to_markdown(view, lang).encode()
