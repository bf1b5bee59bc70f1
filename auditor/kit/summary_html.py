"""The employee's summary as a small self-contained HTML file: the same plain lines as the console summary."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

_TITLE = {"en": "What to fix on this computer", "da": "Det skal rettes på computeren"}
_STYLE = ("body{font-family:system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em;line-height:1.5}"
          "li{margin:.4em 0}code{word-break:break-all;background:#f3f3f3;padding:.1em .3em}")


def summary_html(lines: Sequence[str], lang: str) -> str:
    """One page: the headline paragraphs, the problems as a list, the file to hand in last; all text escaped."""
    title = _TITLE.get(lang, _TITLE["en"])
    body: list[str] = []
    in_list = False
    for line in (line for line in lines if line.strip()):
        bullet = line.lstrip().startswith("•")
        if bullet and not in_list:
            body.append("<ul>")
        elif not bullet and in_list:
            body.append("</ul>")
        in_list = bullet
        text = escape(line.lstrip().removeprefix("•").strip())
        body.append(f"<li>{text}</li>" if bullet else f"<p>{text}</p>")
    if in_list:
        body.append("</ul>")
    if len(body) > 1 and body[-1].startswith("<p>"):  # the last line is the file's path
        body[-1] = f"<p><code>{body[-1][3:-4]}</code></p>"
    return (f'<!doctype html>\n<html lang="{escape(lang)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width"><title>{escape(title)}</title>'
            f"<style>{_STYLE}</style></head>\n<body><h1>{escape(title)}</h1>\n"
            + "\n".join(body) + "\n</body></html>\n")
