"""Inline SVG charts for the report, drawn from numbers (no script, no fetch): the score trend and score bars.

Colour is never the only carrier: every chart also prints its numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from auditor.bundle.trend import Score

_GOOD, _BAD, _GRID, _INK = "#2e7d32", "#c62828", "#d5dbe1", "#33414e"


def score_bar(score: Score, width: int = 60) -> str:
    """A small horizontal bar: the passing share in green, the failing share in red."""
    if not score.applicable:
        return ""
    good = width * score.passed / score.applicable
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="bar" width="{width}" height="8" viewBox="0 0 {width} 8" '
            f'role="img" aria-label="{score.percent} %"><rect width="{width}" height="8" fill="{_BAD}"/>'
            f'<rect width="{good:.1f}" height="8" fill="{_GOOD}"/></svg>')


def trend_chart(points: Sequence[tuple[str, Score]], width: int = 230, height: int = 70) -> str:
    """The score of each run (label, score), oldest first, as a line with its values; the last is this run."""
    left, right, top, bottom = 24, 8, 8, 16
    plot_w, plot_h = width - left - right, height - top - bottom
    shown = [(label, s.percent) for label, s in points if s.percent is not None]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="'
             f'{escape(", ".join(f"{label}: {value} %" for label, value in shown))}">']
    for value in (0, 50, 100):
        y = top + plot_h * (1 - value / 100)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{_GRID}" '
                     f'stroke-width="0.5"/><text x="{left - 3}" y="{y + 2.5:.1f}" text-anchor="end" '
                     f'font-size="6.5" fill="{_INK}">{value}</text>')
    step = plot_w / max(len(shown) - 1, 1)
    coords = [(left + (index * step if len(shown) > 1 else plot_w / 2), top + plot_h * (1 - value / 100))
              for index, (_, value) in enumerate(shown)]
    if len(coords) > 1:
        parts.append(f'<polyline fill="none" stroke="{_INK}" stroke-width="1.2" '
                     f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in coords)}"/>')
    for index, ((x, y), (label, value)) in enumerate(zip(coords, shown, strict=True)):
        last = index == len(coords) - 1
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{2.6 if last else 1.8}" fill="{_INK}"/>')
        if last or len(shown) <= 6:
            parts.append(f'<text x="{x:.1f}" y="{max(y - 4, 7):.1f}" text-anchor="middle" font-size="6.5" '
                         f'fill="{_INK}">{value}</text>')
        if index in (0, len(shown) - 1):
            parts.append(f'<text x="{x:.1f}" y="{height - 3}" text-anchor="{"end" if last and index else "start"}" '
                         f'font-size="6" fill="{_INK}">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
