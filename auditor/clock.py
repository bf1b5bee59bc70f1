"""The one clock: "now" is passed in, never read from a module, so a run, a replay and a test all say when.

The CLI passes `SystemClock()`; a test passes `FixedClock(moment)`; a replay judges recorded facts
against the times recorded with them, and uses the clock only for the new run's own times.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from auditor.records import record


class Clock(Protocol):
    """Where every part of a run gets "now" (an aware UTC datetime)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@record
class FixedClock:
    """A clock that always says `moment` (tests, fixtures, and anything re-evaluated as of a known time)."""

    moment: datetime

    def __post_init__(self) -> None:
        if self.moment.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime (e.g. datetime(2026, 11, 26, tzinfo=UTC))")

    def now(self) -> datetime:
        return self.moment


def iso(moment: datetime) -> str:
    """2026-11-26T09:00:00.000Z: the one way times are written into evidence, results and logs."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
