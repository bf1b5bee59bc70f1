"""Dispatch of every collector to its Windows or macOS implementation (imported only on that platform)."""

from __future__ import annotations

import importlib
from typing import Any

from auditor.collectors.base import Requests
from auditor.models import Platform, SystemFacts
from auditor.transports.base import Transport

NATIVE = frozenset({Platform.WINDOWS, Platform.MACOS})
_MODULES = {Platform.WINDOWS: "auditor.collectors.windows", Platform.MACOS: "auditor.collectors.macos"}


def _module(system: SystemFacts) -> Any:
    assert system.platform is not None
    return importlib.import_module(_MODULES[system.platform])


def native_requests(name: str, system: SystemFacts) -> Requests:
    """What collector `name` prefetches on this Windows or macOS host."""
    return tuple(_module(system).REQUESTS.get(name, ())), ()


def native_collect(name: str, host: Transport, system: SystemFacts, **parameters: Any) -> Any:
    """Collector `name`'s facts on this Windows or macOS host."""
    return _module(system).COLLECT[name](host, system, **parameters)
