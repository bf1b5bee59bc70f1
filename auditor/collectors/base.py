"""What a collector is: the commands and files it needs (declared up front, so a transport can batch
them), and a function that turns them into frozen facts. Collectors never judge."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from auditor.records import record
from auditor.transports.base import Command

Requests = tuple[Sequence[Command], Sequence[str]]


@record
class Collector:
    """Attributes:
    name: what a check's parameter is called to receive these facts.
    requests: (system facts, **parameters) -> (commands, file paths) to prefetch for this platform.
    collect: (transport, system facts, **parameters) -> a frozen facts object.
    parameters: profile parameters the collector needs to know where to look (e.g. backup_marker_paths),
        passed by name to both functions.
    needs_login: False for facts seen from the network (an SSH handshake, a TLS scan): a target whose
        checks need only those is never logged in to.
    """

    name: str
    requests: Callable[..., Requests]
    collect: Callable[..., Any]
    parameters: tuple[str, ...] = ()
    needs_login: bool = True


def parse_key_values(text: str, separator: str = "=") -> dict[str, str]:
    """`Key=Value` lines (timedatectl show, systemctl show, os-release); the last one of a key wins."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, found, value = line.partition(separator)
        if found and key.strip() and not key.lstrip().startswith("#"):
            values[key.strip()] = value.strip()
    return values
