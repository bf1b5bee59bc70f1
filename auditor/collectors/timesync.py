"""Facts about clock synchronisation: timedatectl (systemd-timesyncd, chrony or ntpd) and chronyc."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field

from auditor.collectors.base import Requests, parse_key_values
from auditor.collectors.native import NATIVE, native_collect, native_requests
from auditor.models import SystemFacts
from auditor.records import record
from auditor.transports.base import Transport, cmd

TIMEDATECTL = cmd("timedatectl", "show")
CHRONY = cmd("chronyc", "-n", "tracking")


@record
class TimeSyncFacts:
    """Attributes:
    synchronized: the kernel clock is disciplined by NTP (None: no source could tell).
    source: which tool said so ("timedatectl", "chronyc") or "" when none answered.
    ntp_service_enabled: timedatectl's NTP= (a sync service is enabled), None when unknown.
    details: the raw key/value pairs of the answering tool.
    unavailable: for each tool that could not answer, why (not installed, no systemd, daemon down).
    """

    synchronized: bool | None
    source: str
    ntp_service_enabled: bool | None = None
    details: Mapping[str, str] = field(default_factory=dict)
    unavailable: Mapping[str, str] = field(default_factory=dict)


def requests(system: SystemFacts) -> Requests:
    if system.platform in NATIVE:
        return native_requests("timesync", system)
    return (TIMEDATECTL, CHRONY), ()


def collect(host: Transport, system: SystemFacts) -> TimeSyncFacts:
    if system.platform in NATIVE:
        return native_collect("timesync", host, system)  # type: ignore[no-any-return]
    unavailable: dict[str, str] = {}
    timedatectl = host.run(TIMEDATECTL)
    if timedatectl.ok:
        values = parse_key_values(timedatectl.stdout)
        if "NTPSynchronized" in values:
            return TimeSyncFacts(values["NTPSynchronized"] == "yes", "timedatectl",
                                 _yes_no(values.get("NTP")), values, unavailable)
    # An old systemd answers `timedatectl show` without NTPSynchronized.
    unavailable["timedatectl"] = "no NTPSynchronized in its answer" if timedatectl.ok else timedatectl.failure()
    chrony = host.run(CHRONY)
    if chrony.ok:
        values = parse_chronyc_tracking(chrony.stdout)
        leap = values.get("Leap status", "")
        synced = leap == "Normal" and values.get("Reference ID", "").split(" ")[0] not in ("", "00000000")
        return TimeSyncFacts(synced, "chronyc", None, values, unavailable)
    unavailable["chronyc"] = chrony.failure()
    return TimeSyncFacts(None, "", None, {}, unavailable)


def parse_chronyc_tracking(text: str) -> dict[str, str]:
    """`chronyc tracking`: 'Name   : value' lines."""
    return parse_key_values(text, ":")


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")
