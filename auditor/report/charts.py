"""Inline SVG charts for the report: stacked horizontal bars, drawn from counts (no script, no fetch)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

COLOURS = {
    "pass": "#2e7d32", "fail": "#c62828", "partial": "#ef6c00", "pass_with_exception": "#00838f",
    "waived": "#00838f", "attested": "#1565c0", "manual": "#1565c0", "warn": "#f9a825", "error": "#6a1b9a",
    "not_tested": "#9e9e9e", "not_applicable": "#cfd8dc", "skipped": "#cfd8dc",
}
_ROW, _LABEL, _WIDTH = 18, 120, 480


def stacked_bars(rows: Sequence[tuple[str, Mapping[str, int]]], order: Sequence[str],
                 names: Mapping[str, str]) -> str:
    """One bar per (label, counts); segments in `order`; a legend of the statuses that occur."""
    present = [s for s in order if any(counts.get(s) for _, counts in rows)]
    height = _ROW * len(rows) + 28
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {_LABEL + _WIDTH + 10} {height}" '
             f'width="100%" role="img">']
    for index, (text, counts) in enumerate(rows):
        y = index * _ROW
        parts.append(f'<text x="{_LABEL - 6}" y="{y + 12}" text-anchor="end" font-size="10">{escape(text)}</text>')
        total = sum(counts.get(s, 0) for s in present) or 1
        x = float(_LABEL)
        for status in present:
            value = counts.get(status, 0)
            if not value:
                continue
            width = _WIDTH * value / total
            parts.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{width:.1f}" height="{_ROW - 5}" '
                         f'fill="{COLOURS.get(status, "#757575")}"><title>{escape(names.get(status, status))}: '
                         f'{value}</title></rect>')
            x += width
    x = float(_LABEL)
    y = len(rows) * _ROW + 10
    for status in present:
        name = escape(names.get(status, status))
        parts.append(f'<rect x="{x:.0f}" y="{y}" width="9" height="9" fill="{COLOURS.get(status, "#757575")}"/>'
                     f'<text x="{x + 12:.0f}" y="{y + 8}" font-size="9">{name}</text>')
        x += 14 + 5.5 * len(names.get(status, status)) + 10
    parts.append("</svg>")
    return "".join(parts)
