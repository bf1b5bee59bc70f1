"""What a person sees while a scan runs (progress per target) and after it (a summary table).

A live display on a terminal; plain lines when the output is a pipe or a log. Everything goes to
stderr, so that `--json` keeps stdout for the results alone.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.models import CheckSpec, ScanResult, Status, Target, TargetResult
from auditor.visible import visible as escaped

if TYPE_CHECKING:
    # rich is imported when something is drawn: a --quiet run (every benchmark, every scheduled run) draws nothing.
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

_STYLE = {Status.PASS: "green", Status.FAIL: "bold red", Status.WARN: "yellow", Status.ERROR: "magenta",
          Status.WAIVED: "cyan", Status.MANUAL: "blue"}
_ORDER = [Status.FAIL, Status.ERROR, Status.WARN, Status.WAIVED, Status.PASS, Status.MANUAL,
          Status.NOT_APPLICABLE, Status.SKIPPED]
# Besides what every output escapes (auditor/visible.py: C0 and C1 controls, ESC above all), a terminal is also
# misled by a carriage return (it overwrites the line) and by the bidirectional overrides and isolates, which make
# a line read differently from the characters it holds. (A str: compiled by re when text is first shown; a --quiet
# run never needs it, and compiling it cost every start 0.5 ms.)
_MISLEADING = "[\r\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"


def visible(text: str) -> str:
    """Target text made safe to print: every control character shown as its escape (`\\x1b`), never obeyed."""
    return re.sub(_MISLEADING, lambda m: m.group().encode("unicode_escape").decode("ascii"), escaped(text))


def escape(text: str) -> str:
    """rich markup in the text made literal."""
    from rich.markup import escape as literal

    return literal(text)


class VisibleFormatter(logging.Formatter):
    """Log lines (which may quote a target's words) with control characters made visible."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record))


def make_console(stderr: bool = True) -> Console:
    from rich.console import Console

    # Host data is always escaped, never read as rich markup. A pipe or log gets long lines, not 80 columns.
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console = Console(stderr=stderr, highlight=False, width=160)
    return console


def counts_text(findings: Iterable[object]) -> str:
    counts = Counter(getattr(f, "status") for f in findings)  # noqa: B009 - works on any finding-like
    return ", ".join(f"{counts[s]} {s.value}" for s in _ORDER if counts[s]) or "no findings"


_REDRAW_SECONDS = 0.125


class ProgressDisplay:
    """A RunObserver: a live table of targets on a terminal, one line per event otherwise."""

    def __init__(self, console: Console, targets: Iterable[Target], *, redraw_thread: bool = True) -> None:
        self._console = console
        self._redraw_thread = redraw_thread
        self._state = {t.name: "waiting" for t in targets}
        self._lock = threading.Lock()
        self._live: Live | None = None
        self._drawn = 0.0

    def __enter__(self) -> ProgressDisplay:
        if self._console.is_terminal:
            from rich.live import Live

            # Without the thread, the table is redrawn here as targets change, at most 8 times a second.
            self._live = Live(self._table(), console=self._console, auto_refresh=self._redraw_thread,
                              refresh_per_second=1 / _REDRAW_SECONDS, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def target_started(self, target: Target) -> None:
        self._update(target.name, "[dim]scanning…[/]", f"{target.name}: scanning")

    def target_finished(self, result: TargetResult) -> None:
        name = result.target.name
        if result.connection_error:
            # The error's text starts with the target's name, which this line gives first already.
            text = visible(f"not assessed: {result.connection_error.removeprefix(f'{name}: ')}")
            self._update(name, f"[magenta]{escape(text)}[/]", f"{name}: {text}")
        else:
            text = counts_text(result.findings)
            self._update(name, escape(text), f"{name}: {text}")

    def _update(self, name: str, rich_text: str, plain: str) -> None:
        with self._lock:
            self._state[name] = rich_text
            if self._live is not None:
                now = time.monotonic()
                drawn = not self._redraw_thread and now - self._drawn >= _REDRAW_SECONDS
                self._live.update(self._table(), refresh=drawn)
                self._drawn = now if drawn else self._drawn
            else:
                self._console.print(escape(visible(plain)), markup=True, soft_wrap=True)

    def _table(self) -> Table:
        from rich.table import Table

        table = Table(show_header=False, box=None, pad_edge=False)
        for name, state in self._state.items():
            table.add_row(escape(visible(name)), state)
        return table


def print_summary(console: Console, result: ScanResult, run_dir: str) -> None:
    """Per-target counts, then every finding that needs attention, then where the evidence is."""
    from rich.table import Table

    table = Table(title=f"auditor {result.scanner_version} · run {result.run_id}", title_justify="left")
    table.add_column("target")
    table.add_column("system")
    present = {f.status for f in result.findings()}
    shown = [s for s in _ORDER if s in present]
    for status in shown:
        table.add_column(status.value.replace("_", " "), justify="right", style=_STYLE.get(status, ""))
    for target in result.targets:
        system = target.system
        # An error's text starts with the target's name, which the row gives first already.
        error = target.connection_error.removeprefix(f"{target.target.name}: ")
        label = escape(visible(system.os_name)) if system and not target.connection_error else \
            f"[magenta]{escape(visible(error))}[/]"
        counts = Counter(f.status for f in target.findings)
        table.add_row(escape(visible(target.target.name)), label, *[str(counts[s] or "") for s in shown])
    console.print(table)
    attention = [f for f in result.findings() if f.status in (Status.FAIL, Status.ERROR, Status.WARN)]
    for finding in attention:
        spec: CheckSpec | None = result.checks.get(finding.check_id)
        title = spec.title if spec else ""
        console.print(f"[{_STYLE[finding.status]}]{finding.status.value.upper():5}[/] "
                      f"{escape(visible(finding.check_id))} {escape(visible(finding.target))}"
                      + (f" {escape(visible(finding.shown_resource))}" if finding.shown_resource else "")
                      + f": {escape(visible(finding.message))}"
                      + (f" [dim]({escape(visible(title))})[/]" if title else ""), soft_wrap=True)
    if result.interrupted:
        console.print("[bold]Interrupted:[/] the evidence collected so far is saved.")
    console.print(f"Evidence and results: {escape(visible(run_dir))}", soft_wrap=True)


def print_home_summary(console: Console, result: ScanResult, bundle: Path | None, lang: str = "en") -> None:
    """For an employee at home: one plain line per problem with this computer's fix, the file to hand in last."""
    from auditor.home_summary import home_lines  # with its message catalogue: only a home scan reads it

    for line in home_lines(result, bundle, lang):
        console.print(visible(line), markup=False, highlight=False, emoji=False, soft_wrap=True)
