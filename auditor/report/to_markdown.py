"""ReportView -> a short Markdown summary for an e-mail or a ticket."""

from __future__ import annotations

from auditor.report import messages
from auditor.report.view import ReportView
from auditor.visible import visible

FILE_NAME = "summary{lang}.md"


def to_markdown(view: ReportView, lang: str = "en") -> str:
    """A short summary for an e-mail or a ticket: the score, requirement verdicts and the deviations."""
    w = messages.Words(lang)
    processor = view.parties["processor"].get("name", "")
    score = view.score
    lines = [f"# {w.t('title')}", "", f"{w.t('processor')}: {_md(processor) or '—'} · {w.t('run')}: "
             f"`{view.run['id']}` · {w.t('generated')}: {w.datetime(view.run['started_at'])}", ""]
    if score.applicable:
        lines += [f"{w.t('overall_score')}: {score.percent} % "
                  f"({w.t('score_of', passed=score.passed, applicable=score.applicable)})", ""]
    lines += [f"| {w.t('requirement')} | | {w.t('verdict')} | {w.t('evidence_files')} |", "| --- | --- | --- | ---: |"]
    lines += [f"| {s.id} | {_md(w.text(s.title))} | {w.verdict(s.status.value)} | {s.evidence_count} |"
              for s in view.sections]
    lines += ["", f"## {w.t('deviations')}", ""]
    lines += [f"- **{r.check_id}** {_md(r.target)}: {_md(w.msg(r.message))}" for r in view.deviations] or \
             [w.t("no_deviations")]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Escape what would change a Markdown table or inject links and HTML; control characters made visible."""
    text = visible(text)
    for char in "\\|*_`[]<>#":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ")


def render(view: ReportView, lang: str) -> bytes:
    return to_markdown(view, lang).encode()
