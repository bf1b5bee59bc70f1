"""HTML -> PDF with WeasyPrint, fetching nothing but files inside the templates folder.

WeasyPrint's default fetcher would follow any URL in the document: `<img src="http://...">` would call
out, and `<a rel="attachment" href="file:///etc/passwd">` would embed that file in the PDF. Scanned
content is escaped before it gets here, and this fetcher is the second wall.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlparse

from auditor.report.to_html import TEMPLATES, render_html
from auditor.report.view import ReportView
from auditor.visible import visible

FILE_NAME = "report{lang}.pdf"


def _fetcher_class(root: Path) -> type:
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
    from weasyprint import HTML

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
