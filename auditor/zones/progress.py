"""Progress per zone: beside the per-target display, a line whenever a zone's target is done."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from auditor.models import Target, TargetResult
from auditor.runner import RunObserver
from auditor.zones.task import zone_of  # not dispatch: a scan without zones never imports Celery

if TYPE_CHECKING:
    from auditor.console import Output

COORDINATOR = "coordinator"  # the zone of targets without one: the coordinator scans them itself


class ZoneProgress:
    """A RunObserver that passes every event on and prints "zone dmz: 3 of 10 targets done" as they finish."""

    def __init__(self, inner: RunObserver, console: Output, targets: Sequence[Target]) -> None:
        self._inner = inner
        self._console = console
        self._total = Counter(zone_of(t) or COORDINATOR for t in targets)
        self._done: Counter[str] = Counter()
        self._unassessed: Counter[str] = Counter()
        self._lock = threading.Lock()

    def target_started(self, target: Target) -> None:
        self._inner.target_started(target)

    def target_finished(self, result: TargetResult) -> None:
        self._inner.target_finished(result)
        zone = zone_of(result.target) or COORDINATOR
        with self._lock:
            self._done[zone] += 1
            self._unassessed[zone] += bool(result.connection_error)
            line = (f"zone {zone}: {self._done[zone]} of {self._total[zone]} targets done"
                    + (f" ({self._unassessed[zone]} not assessed)" if self._unassessed[zone] else ""))
        self._console.print(line, markup=False, highlight=False)


def with_zones(inner: RunObserver, console: Output, targets: Sequence[Target]) -> RunObserver:
    """`inner`, with per-zone lines when some target names a zone."""
    return ZoneProgress(inner, console, targets) if any(zone_of(t) for t in targets) else inner
