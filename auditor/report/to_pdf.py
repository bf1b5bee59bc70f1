"""HTML -> PDF with WeasyPrint, fetching nothing but files inside the templates folder.

WeasyPrint's default fetcher would follow any URL in the document: `<img src="http://...">` would call
out, and `<a rel="attachment" href="file:///etc/passwd">` would embed that file in the PDF. Scanned
content is escaped before it gets here, and this fetcher is the second wall.
"""

from __future__ import annotations

import ctypes.util
import importlib
import mimetypes
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urlparse

from auditor.report.to_html import TEMPLATES, render_html
from auditor.report.view import ReportView
from auditor.visible import visible

FILE_NAME = "report{lang}.pdf"


def import_quietly(name: str) -> ModuleType:
    """Import a module (WeasyPrint) that opens shared libraries through cffi, without the processes ctypes
    starts to look for them.

    WeasyPrint opens GObject, Pango, HarfBuzz and fontconfig by trying several names each, the Linux soname last
    ('libgobject-2.0-0', 'gobject-2.0-0', 'gobject-2.0', 'libgobject-2.0.so.0'). cffi passes each name the
    dynamic loader cannot open to ctypes.util.find_library, which on Linux starts ldconfig, gcc and ld for it:
    86 processes, 0.1-0.2 s of every PDF on this machine. On Linux find_library answers a soname, which the
    dynamic loader then opens by name, so the sonames in WeasyPrint's own lists find the same libraries: while
    it is imported, find_library answers "not found" at once. A library found only under another soname fails
    that import, and the module is imported again the usual way.
    """
    if name in sys.modules or not sys.platform.startswith("linux"):
        return importlib.import_module(name)
    try:
        with _find_library_answers_none():
            return importlib.import_module(name)
    except OSError:
        for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[loaded]  # a half-initialised package would otherwise be returned as it is
        return importlib.import_module(name)


@contextmanager
def _find_library_answers_none() -> Iterator[None]:
    def not_found(name: str) -> str | None:
        return None

    find_library = ctypes.util.find_library
    ctypes.util.find_library = not_found
    try:
        yield
    finally:
        ctypes.util.find_library = find_library


def _fetcher_class(root: Path) -> type:
    import_quietly("weasyprint")
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class TemplatesOnlyFetcher(URLFetcher):  # type: ignore[misc]
        """Serves files under the templates folder; refuses every other URL."""

        def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
            parsed = urlparse(url)
            path = Path(unquote(parsed.path)).resolve()
            if parsed.scheme != "file" or not path.is_relative_to(root) or not path.is_file():
                raise ValueError(f"auditor does not fetch {url!r} while rendering a report")
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})

    return TemplatesOnlyFetcher


def pdf_bytes(html: str, templates_dir: Path = TEMPLATES) -> bytes:
    """Render the (compact) report HTML to PDF bytes."""
    import logging

    from auditor.extras import require

    require("report")
    HTML = import_quietly("weasyprint").HTML

    root = templates_dir.resolve()
    # WeasyPrint logs each refused URL as a warning; they are expected for hostile content.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    document = HTML(string=html, base_url=str(root) + "/", url_fetcher=_fetcher_class(root)())
    data: bytes = document.write_pdf()
    return data


def render(view: ReportView, lang: str) -> bytes:
    """The compact layout of the HTML report, as PDF."""
    # WeasyPrint raises on a lone surrogate anywhere in its input (a name from a forged results.json)
    return pdf_bytes(visible(render_html(view, lang, full=False)))
