"""Render a run folder into report files. A pure function of the folder: re-rendering gives the same files.

A format is one module with `FILE_NAME` ("{lang}" becomes "" for English, ".da" for Danish) and
`render(view, lang) -> bytes`, and one line in FORMATS. Modules are imported only when their format is asked
for, so a run without a PDF never imports WeasyPrint.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Protocol

from auditor.errors import InputError
from auditor.files import write_atomic

FORMATS = {
    "html": "auditor.report.to_html",
    "pdf": "auditor.report.to_pdf",
    "json": "auditor.report.to_summary_json",
    "sarif": "auditor.report.to_sarif",
    "junit": "auditor.report.to_junit",
    "csv": "auditor.report.to_csv",
    "md": "auditor.report.to_markdown",
    "iso27001": "auditor.report.to_iso27001",
    "cis": "auditor.report.to_cis",
    "dmaerket": "auditor.report.to_dmaerket",
}
DEFAULT_FORMATS = ("html", "pdf")


class PdfElsewhere(Protocol):
    """Another process that renders the PDF (report/pdf_process.py: started with the scan, WeasyPrint imported)."""

    def ask(self, run_dir: Path, lang: str, out_dir: Path, signed: bool | None) -> bool:
        """Ask for the PDF of run_dir in out_dir; False when it cannot take the request."""

    def wait(self) -> bool:
        """Wait for it: True when it wrote the PDF."""


def parse_formats(text: str) -> tuple[str, ...]:
    chosen = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise InputError(f"unknown report format {', '.join(unknown) or repr(text)}", "--format",
                         f"use a comma-separated list of {', '.join(FORMATS)}")
    return chosen


def _module(fmt: str) -> ModuleType:
    return importlib.import_module(FORMATS[fmt])


def file_name(fmt: str, lang: str) -> str:
    name: str = _module(fmt).FILE_NAME
    return name.format(lang="" if lang == "en" else f".{lang}")


def render_reports(run_dir: Path, formats: Sequence[str] = DEFAULT_FORMATS, lang: str = "en",
                   out_dir: Path | None = None, pdf_process: PdfElsewhere | None = None,
                   signed: bool | None = None) -> list[Path]:
    """Write each format into out_dir (default: the run folder); returns the files written.

    signed: whether the run folder is signed (a scan renders before it signs); None: it holds its signature.

    With `pdf_process` (started as the scan started, WeasyPrint already imported) the PDF is laid out there
    while this process writes the other formats; when that process fails, the PDF is rendered here.
    """
    # Imported here: a scan with --format none, and every other command, starts without the report layer.
    from auditor.report.view import build_view

    out_dir = out_dir or run_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    elsewhere = pdf_process is not None and "pdf" in formats and pdf_process.ask(run_dir, lang, out_dir, signed)
    view = build_view(run_dir, signed)
    for fmt in formats:
        if not (fmt == "pdf" and elsewhere):
            write_atomic(out_dir / file_name(fmt, lang), _module(fmt).render(view, lang))
    if elsewhere and pdf_process is not None and not pdf_process.wait():
        write_atomic(out_dir / file_name("pdf", lang), _module("pdf").render(view, lang))
    return [out_dir / file_name(fmt, lang) for fmt in formats]
