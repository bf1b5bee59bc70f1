"""What a person sees while a scan runs (progress per target) and after it (a summary table).

A live display on a terminal, drawn by rich; plain lines when the output is a pipe or a log, written without
rich (PlainConsole). Everything goes to stderr, so that `--json` keeps stdout for the results alone.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeAlias

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


class PlainConsole:
    """What a pipe or a log gets: each text on its own line, as given; no colour codes, no box drawing, and rich
    never imported (its import was a sixth of a short scan's time, for output that nobody watched being drawn)."""

    is_terminal = False

    def __init__(self, stderr: bool = True) -> None:
        self._stderr = stderr

    @property
    def file(self) -> TextIO:
        return sys.stderr if self._stderr else sys.stdout  # looked up when written, as rich does

    def print(self, text: str = "", **_rich_options: Any) -> None:
        """Write the text as it is: the callers pass plain text (markup=False to rich), never rich markup."""
        self.file.write(f"{text}\n")
        self.file.flush()


Output: TypeAlias = "Console | PlainConsole"


def is_terminal(stream: TextIO) -> bool:
    """Whether rich would draw on this stream: as rich decides it (TTY_COMPATIBLE, then FORCE_COLOR, then isatty)."""
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    if "FORCE_COLOR" in os.environ:
        return os.environ["FORCE_COLOR"] != ""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or a closed file
        return False


def make_console(stderr: bool = True) -> Output:
    """rich on a terminal; PlainConsole otherwise."""
    if not is_terminal(sys.stderr if stderr else sys.stdout):
        return PlainConsole(stderr)
    return rich_console(stderr)


def rich_console(stderr: bool = True) -> Console:
    from rich.console import Console

    # Host data is always escaped, never read as rich markup. A pipe or log gets long lines, not 80 columns.
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console = Console(stderr=stderr, highlight=False, width=160)
    return console


def _word(status: Status) -> str:
    """A status as the progress lines and the summary's headings say it: "not applicable"."""
    return status.value.replace("_", " ")


def counts_text(findings: Iterable[object]) -> str:
    counts = Counter(getattr(f, "status") for f in findings)  # noqa: B009 - works on any finding-like
    return ", ".join(f"{counts[s]} {_word(s)}" for s in _ORDER if counts[s]) or "no findings"


_REDRAW_SECONDS = 0.125


class ProgressDisplay:
    """A RunObserver: a live table of targets on a terminal, one line per event otherwise."""

    def __init__(self, console: Output, targets: Iterable[Target], *, redraw_thread: bool = True) -> None:
        self._console = console
        self._redraw_thread = redraw_thread
        self._state = {t.name: "waiting" for t in targets}
        self._lock = threading.Lock()
        self._live: Live | None = None
        self._drawn = 0.0

    def __enter__(self) -> ProgressDisplay:
        if self._console.is_terminal and not isinstance(self._console, PlainConsole):
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
        self._update(target.name, "scanning", "dim")

    def target_finished(self, result: TargetResult) -> None:
        name = result.target.name
        if result.connection_error:
            # The error's text starts with the target's name, which this line gives first already.
            self._update(name, f"not assessed: {result.connection_error.removeprefix(f'{name}: ')}", "magenta")
        else:
            self._update(name, counts_text(result.findings), "")

    def _update(self, name: str, text: str, style: str) -> None:
        """The target's state: a row of the live table (in `style`), or a line `name: text`."""
        with self._lock:
            if self._live is None:
                self._console.print(visible(f"{name}: {text}"), markup=False, soft_wrap=True)
                return
            shown = escape(visible(text))
            self._state[name] = f"[{style}]{shown}[/]" if style else shown
            now = time.monotonic()
            drawn = not self._redraw_thread and now - self._drawn >= _REDRAW_SECONDS
            self._live.update(self._table(), refresh=drawn)
            self._drawn = now if drawn else self._drawn

    def _table(self) -> Table:
        from rich.table import Table

        table = Table(show_header=False, box=None, pad_edge=False)
        for name, state in self._state.items():
            table.add_row(escape(visible(name)), state)
        return table


def print_summary(console: Output, result: ScanResult, run_dir: str) -> None:
    """Per-target counts, then every finding that needs attention, then where the evidence is."""
    present = {f.status for f in result.findings()}
    shown = [s for s in _ORDER if s in present]
    rows = []  # (target, what it runs or why it was not assessed, whether that is an error, counts)
    for target in result.targets:
        system = target.system
        # An error's text starts with the target's name, which the row gives first already.
        error = target.connection_error.removeprefix(f"{target.target.name}: ")
        label = system.os_name if system and not target.connection_error else error
        counts = Counter(f.status for f in target.findings)
        rows.append((visible(target.target.name), visible(label), bool(target.connection_error),
                     [str(counts[s] or "") for s in shown]))
    heading = f"auditor {result.scanner_version} · run {result.run_id}"
    header = ["target", "system", *map(_word, shown)]
    if isinstance(console, PlainConsole):
        # A reason can be a paragraph: in a column it would pad every row to its length, so it goes below.
        cells = [[n, "not assessed (below)" if failed else label, *c] for n, label, failed, c in rows]
        console.print(f"{heading}\n{plain_table(header, cells, numbers=2)}")
        for name, label, failed, _ in rows:
            if failed:
                console.print(f"{name}: not assessed: {label}")
    else:
        from rich.table import Table

        table = Table(title=heading, title_justify="left")
        table.add_column("target")
        table.add_column("system")
        for status in shown:
            table.add_column(_word(status), justify="right", style=_STYLE.get(status, ""))
        for name, label, failed, counts_shown in rows:
            table.add_row(escape(name), f"[magenta]{escape(label)}[/]" if failed else escape(label), *counts_shown)
        console.print(table)
    # One line per problem; the same sentence of several checks on one target (every check of a target whose
    # login failed, after its network checks ran) is one line naming the checks.
    same: dict[tuple[Status, str, str, str], list[str]] = {}
    for finding in (f for f in result.findings() if f.status in (Status.FAIL, Status.ERROR, Status.WARN)):
        same.setdefault((finding.status, finding.target, finding.shown_resource, finding.message), []).append(
            finding.check_id)
    for (status, on, resource, message), ids in same.items():
        spec: CheckSpec | None = result.checks.get(ids[0]) if len(ids) == 1 else None
        title = visible(spec.title) if spec else ""
        if len(ids) > 1:
            title = f"{len(ids)} checks: {', '.join(ids[:5])}" + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        word = f"{status.value.upper():5}"
        line = " ".join(visible(part) for part in (ids[0] if len(ids) == 1 else "", on, resource) if part)
        line += f": {visible(message)}"
        if isinstance(console, PlainConsole):
            console.print(f"{word} {line}" + (f" ({title})" if title else ""))
        else:
            console.print(f"[{_STYLE[status]}]{word}[/] {escape(line)}"
                          + (f" [dim]({escape(title)})[/]" if title else ""), soft_wrap=True)
    if result.interrupted:
        console.print("Interrupted: the evidence collected so far is saved.", markup=False)
    console.print(f"Evidence and results: {visible(run_dir)}", soft_wrap=True, markup=False)


def plain_table(header: Sequence[str], rows: Sequence[Sequence[str]], numbers: int) -> str:
    """Columns padded to their widest cell, two spaces apart; the columns from `numbers` on right-aligned."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(cell.rjust(w) if i >= numbers else cell.ljust(w)
                         for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()

    return "\n".join(line(row) for row in (header, *rows))


def print_home_summary(console: Output, result: ScanResult, bundle: Path | None, lang: str = "en") -> None:
    """For an employee at home: one plain line per problem with this computer's fix, the file to hand in last."""
    from auditor.home_summary import home_lines  # with its message catalogue: only a home scan reads it

    for line in home_lines(result, bundle, lang):
        console.print(visible(line), markup=False, highlight=False, emoji=False, soft_wrap=True)
