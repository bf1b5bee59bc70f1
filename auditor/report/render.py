"""Render a run folder into report files. A pure function of the folder: re-rendering gives the same files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from auditor.errors import InputError
from auditor.evidence import dump_json, write_atomic
from auditor.report.view import ReportView, build_view

FORMATS = ("html", "pdf", "json", "sarif", "junit", "csv", "md")
DEFAULT_FORMATS = ("html", "pdf")


def parse_formats(text: str) -> tuple[str, ...]:
    chosen = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise InputError(f"unknown report format {', '.join(unknown) or repr(text)}", "--format",
                         f"use a comma-separated list of {', '.join(FORMATS)}")
    return chosen


def file_name(fmt: str, lang: str) -> str:
    suffix = "" if lang == "en" else f".{lang}"
    return {"html": f"report{suffix}.html", "pdf": f"report{suffix}.pdf", "json": "report.json",
            "sarif": "report.sarif", "junit": "report.junit.xml", "csv": "findings.csv",
            "md": f"summary{suffix}.md"}[fmt]


def render_reports(run_dir: Path, formats: Sequence[str] = DEFAULT_FORMATS, lang: str = "en",
                   out_dir: Path | None = None) -> list[Path]:
    """Write each format into out_dir (default: the run folder); returns the files written."""
    view = build_view(run_dir)
    out_dir = out_dir or run_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = out_dir / file_name(fmt, lang)
        write_atomic(path, _render(view, fmt, lang, path))
        written.append(path)
    return written


def _render(view: ReportView, fmt: str, lang: str, path: Path) -> bytes:
    if fmt == "html":
        from auditor.report.to_html import render_html

        return render_html(view, lang, full=True).encode()
    if fmt == "pdf":
        from auditor.report.to_html import render_html
        from auditor.report.to_pdf import pdf_bytes

        return pdf_bytes(render_html(view, lang, full=False))
    if fmt == "sarif":
        from auditor.report.to_sarif import to_sarif

        return dump_json(to_sarif(view))
    if fmt == "junit":
        from auditor.report.to_tables import to_junit

        return to_junit(view).encode()
    if fmt == "csv":
        from auditor.report.to_tables import to_csv

        return to_csv(view).encode()
    if fmt == "md":
        from auditor.report.to_tables import to_markdown

        return to_markdown(view, lang).encode()
    return dump_json({
        "run": {**view.run, "started_at": view.run["started_at"].isoformat(),
                "finished_at": view.run["finished_at"].isoformat()},
        "profile": {"name": view.profile_name, "sha256": view.profile_sha256},
        "manifest_sha256": view.manifest_sha256,
        "requirements": [{"id": s.id, "title": s.title, "status": s.status.value, "counts": dict(s.counts),
                          "evidence_files": s.evidence_count, "checks": [c for c, _ in s.checks]}
                         for s in view.sections],
        "deviations": [json.loads(json.dumps(r.__dict__, default=list)) for r in view.deviations],
    })
