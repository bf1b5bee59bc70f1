"""Facts about the systemd journal: is it running, where does it store logs, and for how long.

The effective configuration comes from `systemd-analyze cat-config` (every drop-in, in order), which
is what journald itself reads; the config files are not parsed one by one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field

from auditor.collectors.base import Requests
from auditor.collectors.native import NATIVE, native_collect, native_requests
from auditor.collectors.native_facts import MacosUnifiedLog, WindowsSecurityLog
from auditor.models import SystemFacts
from auditor.records import record
from auditor.transports.base import Transport, cmd

CAT_CONFIG = cmd("systemd-analyze", "cat-config", "systemd/journald.conf")
IS_ACTIVE = cmd("systemctl", "is-active", "systemd-journald.service")
PERSISTENT_DIR = "/var/log/journal"
HAS_PERSISTENT_DIR = cmd("test", "-d", PERSISTENT_DIR)

_UNITS = {"": 1, "s": 1, "sec": 1, "second": 1, "seconds": 1, "min": 60, "m": 60, "minute": 60, "minutes": 60,
          "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600, "d": 86400, "day": 86400, "days": 86400,
          "w": 604800, "week": 604800, "weeks": 604800, "month": 2629800, "months": 2629800, "M": 2629800,
          "y": 31557600, "year": 31557600, "years": 31557600}


@record
class JournaldFacts:
    """Attributes:
    present: systemd-journald exists on this host (False: no systemd, another logger may be used).
    active: the journald service is running now.
    settings: effective [Journal] settings (last assignment wins, as journald reads them).
    persistent_dir: /var/log/journal exists (Storage=auto then keeps logs across reboots).
    problem: why the facts are incomplete, in words ("systemd is not PID 1"), or "".

    Windows and macOS answer with WindowsSecurityLog and MacosUnifiedLog (native_facts.py) instead.
    """

    present: bool
    active: bool
    settings: Mapping[str, str] = field(default_factory=dict)
    persistent_dir: bool = False
    problem: str = ""

    @property
    def storage(self) -> str:
        return self.settings.get("Storage", "auto").lower()

    @property
    def persistent(self) -> bool:
        return self.storage == "persistent" or (self.storage == "auto" and self.persistent_dir)

    @property
    def max_retention_seconds(self) -> int | None:
        """MaxRetentionSec in seconds; 0 or None means entries are not dropped for their age."""
        return parse_timespan(self.settings.get("MaxRetentionSec", "0"))


def requests(system: SystemFacts) -> Requests:
    if system.platform in NATIVE:
        return native_requests("journald", system)
    return (CAT_CONFIG, IS_ACTIVE, HAS_PERSISTENT_DIR), ()


def collect(host: Transport, system: SystemFacts) -> JournaldFacts | WindowsSecurityLog | MacosUnifiedLog:
    if system.platform in NATIVE:
        return native_collect("journald", host, system)  # type: ignore[no-any-return]
    config = host.run(CAT_CONFIG)
    state = host.run(IS_ACTIVE)
    persistent_dir = host.run(HAS_PERSISTENT_DIR).ok
    if config.not_found and state.not_found:
        return JournaldFacts(False, False, {}, persistent_dir, "systemd is not installed")
    problem = "" if config.ok else config.failure()
    active = state.stdout.strip() == "active"
    if not active and not problem:
        # `systemctl is-active` prints the state ("inactive", "failed") and exits non-zero for it.
        problem = f"systemd-journald: {said}" if (said := state.stdout.strip()) else state.failure()
    settings = parse_journald_config(config.stdout) if config.ok else {}
    return JournaldFacts(True, active, settings, persistent_dir, problem)


def parse_journald_config(text: str, section: str = "Journal") -> dict[str, str]:
    """`systemd-analyze cat-config` output: settings in [Journal] (or `section`) sections; later ones override."""
    settings: dict[str, str] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
        elif current == section and "=" in line:
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return settings


def parse_timespan(text: str) -> int | None:
    """systemd.time(7) spans ("1month", "90d", "2w 3d", "0") to seconds; None when it cannot be read."""
    text = text.strip()
    if not text or text in ("0", "infinity"):
        return 0
    total = 0
    pos = 0
    for match in re.finditer(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)", text):
        if match.start() != pos or match.group(2) not in _UNITS:
            return None
        total += int(float(match.group(1)) * _UNITS[match.group(2)])
        pos = match.end()
    return total if pos == len(text) else None
