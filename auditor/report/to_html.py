"""ReportView -> HTML with jinja2: autoescape on, StrictUndefined, no logic in the templates.

The HTML is a drill-down that works from the file alone: its script and style are inline and named in a
Content-Security-Policy by their SHA-256, which also forbids every network load, so even a value that slipped
past escaping could neither run nor fetch. The same template in its compact (print) layout is the PDF's.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import sys
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from auditor.models import Severity
from auditor.report.charts import score_bar, trend_chart
from auditor.report.messages import Words
from auditor.report.view import EvidenceLink, ReportView, Row, same_problem
from auditor.visible import visible

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
PRINT_LIMIT = 6  # problems shown per check and requirement in the PDF; the rest are counted and named
_STATUS_RANK = {s: i for i, s in enumerate(["fail", "error", "warn", "waived", "manual", "pass", "not_applicable",
                                            "skipped"])}
_SEVERITY_RANK = {s.value: i for i, s in enumerate(Severity)}


class CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept in the templates folder's __pycache__, as Python keeps its modules' bytecode there.

    Compiling the report's templates is 0.15-0.2 s of every command that writes a report; loading them compiled
    is 10 ms. An entry carries its template's checksum and the Python version, so an edited template or another
    interpreter compiles afresh. The folder is as trusted as the templates beside it (the same owner writes
    both), which is Python's own rule for __pycache__, and like Python a run writes no entry under
    PYTHONDONTWRITEBYTECODE (`make setup` writes them, as it byte-compiles the modules). A cache that cannot be
    read or written (a read-only install) only means compiling: it never fails a report.
    """

    def __init__(self, templates_dir: Path, *, write: bool) -> None:
        self.folder, self.write = templates_dir / "__pycache__", write
        super().__init__(str(self.folder), "%s.jinja2")

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a damaged or truncated entry (pickle and marshal raise many types): compile instead
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if self.write:
            with contextlib.suppress(OSError):
                self.folder.mkdir(exist_ok=True)
                super().dump_bytecode(bucket)


@lru_cache(maxsize=4)
def environment(templates_dir: Path = TEMPLATES, *, write_compiled: bool | None = None) -> jinja2.Environment:
    """One environment per templates folder and process: the HTML report and the PDF's print layout share its
    compiled templates, which later processes load compiled (CompiledTemplates)."""
    write = not sys.dont_write_bytecode if write_compiled is None else write_compiled
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        bytecode_cache=CompiledTemplates(templates_dir, write=write),
        autoescape=True,  # scanned content is hostile: every value is escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["code"] = code_spans
    env.tests["in_text"] = mostly_in
    env.filters["gist"] = gist
    return env


def compile_templates(templates_dir: Path = TEMPLATES) -> list[str]:
    """Compile every report template into its folder's cache now, whatever PYTHONDONTWRITEBYTECODE says (as
    compileall does for the modules); returns the templates' names."""
    env = environment(templates_dir, write_compiled=True)
    names = env.list_templates(extensions=["j2"])
    for name in names:
        env.get_template(name)
    return names


def gist(sentence: str) -> str:
    """The main clause of a description: up to its first bracket or semicolon, without the full stop."""
    cut = min((i for i in (sentence.find(" ("), sentence.find(";")) if i > 0), default=len(sentence))
    return sentence[:cut].rstrip(" .")


def mostly_in(items: Sequence[str], text: str) -> bool:
    """Most of these items are already written in the text (a finding's sentence that lists them)."""
    return sum(item in text for item in items) * 2 >= len(items)


def code_spans(text: str) -> Markup:
    """`commands` in a text as <code>, everything escaped: a remediation names what to type."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: leave the text as it is
        return Markup(escape(text))
    return Markup("").join(Markup("<code>{}</code>").format(p) if i % 2 else escape(p) for i, p in enumerate(parts))


def css_string(text: str) -> str:
    """A CSS string literal that holds any text safely (every character but letters and digits escaped)."""
    return '"' + "".join(c if c.isalnum() and c.isascii() else f"\\{ord(c):06x}" for c in text) + '"'


def render_html(view: ReportView, lang: str = "en", *, full: bool = True, templates_dir: Path = TEMPLATES) -> str:
    """The report as one self-contained HTML document; `full=False` is the print layout used for the PDF."""
    words = Words(lang)
    css = "\n".join((templates_dir / name).read_text(encoding="utf-8")
                    for name in ("report.css", "html.css" if full else "print.css"))
    if not full:  # the running footer and "page N of M" in the report's language
        css += _page_css(view, words)
    js = (templates_dir / "report.js").read_text(encoding="utf-8") if full else ""
    context: dict[str, Any] = {
        "view": view, "w": words, "full": full, "css": Markup(css), "js": Markup(js),
        "csp": _policy(css, js), "limit": PRINT_LIMIT,
        "charts": {"trend": Markup(trend_chart([(p.started_at[:10], p.score) for p in view.trend])),
                   "bar": lambda score: Markup(score_bar(score))},
        "not_evidenced": _not_evidenced(view), "inventory_groups": _inventory_groups(view),
    }
    if full:
        rows = sorted(view.rows, key=lambda r: (_STATUS_RANK.get(r.status, 9), _SEVERITY_RANK.get(r.severity, 9),
                                               r.requirements, r.target, r.check_id, r.resource))
        # Every row shows a status badge and a severity: made once here, not by a macro call per row
        badges = {s: Markup('<span class="badge s-{}">{}</span>').format(s, words.st(s)) for s in _STATUS_RANK}
        severities = {s: Markup('<span class="sev sev-{}">{}</span>').format(s, words.sev(s)) for s in _SEVERITY_RANK}
        context.update(rows=rows, statuses=_counts(rows), status_rank=_STATUS_RANK, severity_rank=_SEVERITY_RANK,
                       evidence_by_target=_by_target(view.evidence_index), badges=badges,
                       severities={**severities, "": ""},
                       titles={r.check_id: words.title(r.title, r.attestation) for r in rows},
                       evidence_items=_evidence_items)
    return environment(templates_dir).get_template("report.html.j2").render(context)


def _page_css(view: ReportView, words: Words) -> str:
    parties = view.parties
    footer = " · ".join(p for p in (words.t("footer"), parties["processor"].get("name", ""),
                                    parties["controller"].get("name", ""), str(view.run["id"])) if p)
    return (f"\n@page {{ @bottom-left {{ content: {css_string(footer)}; }} "
            f"@bottom-right {{ content: {css_string(words.t('page') + ' ')} counter(page) "
            f"{css_string(' ' + words.t('of') + ' ')} counter(pages); }} }}\n"
            "@page :first { @bottom-left { content: none; } }\n")


@lru_cache(maxsize=4096)
def _evidence_items(links: tuple[EvidenceLink, ...]) -> Markup:
    """A finding's evidence files as list items: what produced each and its hash's first 16 digits (the full
    path and hash are in the evidence index); made once per set, as the findings of a collector share theirs."""
    return Markup("".join(f"<li><code>{escape(e.source)}</code> <small>{e.sha256[:16]}</small></li>"
                          for e in links))


def _policy(css: str, js: str) -> str:
    """Nothing may be loaded from anywhere; only this document's own style and script may apply or run."""
    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    return (f"default-src 'none'; style-src {digest(css)}; script-src {digest(js)}; img-src data:; "
            "base-uri 'none'; form-action 'none'")


def _counts(rows: Sequence[Row]) -> Mapping[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


def _by_target(index: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for entry in index:
        grouped.setdefault(str(entry.get("target", "")), []).append(entry)
    return sorted(grouped.items())


def _inventory_groups(view: ReportView) -> list[dict[str, Any]]:
    """The targets grouped by what the inventory says of them (kind, role, location, system, rights, assessed)."""
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for t in view.targets:
        key = (t.kind, t.role, t.location, t.system, t.privileges, str(t.assessed), t.reason)
        group = groups.setdefault(key, {"kind": t.kind, "role": t.role, "location": t.location, "system": t.system,
                                        "privileges": t.privileges, "assessed": t.assessed, "reason": t.reason,
                                        "names": [], "evidence_files": 0})
        group["names"].append(t.name)
        group["evidence_files"] += t.evidence_files
    return list(groups.values())


def _not_evidenced(view: ReportView) -> list[dict[str, Any]]:
    """Error, skipped and not applicable results grouped by status and reason, with their checks and targets."""
    groups: dict[tuple[str, str, str], tuple[str, dict[str, None], dict[str, None]]] = {}
    for row in (*view.errors, *view.skipped):
        _text, checks, targets = groups.setdefault(same_problem(row), (row.message, {}, {}))
        checks[row.check_id] = None
        targets[row.target or "—"] = None
    return [{"status": key[0], "text": text, "checks": list(checks), "targets": list(targets)}
            for key, (text, checks, targets) in sorted(groups.items(), key=lambda g: (
                _STATUS_RANK.get(g[0][0], 9), sorted(g[1][1]), g[0][2]))]


FILE_NAME = "report{lang}.html"


def render(view: ReportView, lang: str) -> bytes:
    # Findings arrive printable (auditor/caps.py); a name from a forged results.json could still hold a lone
    # surrogate, which no UTF-8 writer takes: every such character is written as its visible escape.
    return visible(render_html(view, lang, full=True)).encode()
