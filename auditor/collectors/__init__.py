"""Collectors: one module per fact domain. This table is how the runner and the registry know them."""

from __future__ import annotations

from auditor.collectors import journald, system, timesync
from auditor.collectors.base import Collector

__all__ = ["COLLECTORS", "SYSTEM", "Collector"]

# `system` is gathered first by the runner (it decides what applies); checks may ask for it too.
SYSTEM = "system"

COLLECTORS: dict[str, Collector] = {
    c.name: c
    for c in (
        Collector(SYSTEM, system.requests, lambda host, facts: facts),
        Collector("timesync", timesync.requests, timesync.collect),
        Collector("journald", journald.requests, journald.collect),
    )
}
