"""Patch management (PATCH-xxxx): security updates are installed and the OS release still receives them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from auditor.models import SystemFacts
from auditor.plugin import ControlRef, Platform, Severity, Verdict, check

if TYPE_CHECKING:
    # Collector modules are imported when a check runs, so loading the pack imports none of them.
    from auditor.collectors.updates import UpdatesFacts

STALE_LIST_DAYS = 7  # package lists older than this may hide security updates published since
_SHOWN = 10  # names listed in the message; the rest are counted ("and 78 more") and all are in `observed`


@check(
    id="PATCH-0010",
    title="No security updates are pending and the OS release still receives security support",
    severity=Severity.HIGH,
    requirements=("R4", "R11"),
    controls=(ControlRef("iso27001-2022", "8.8"), ControlRef("cis-v8", "7.3"), ControlRef("cis-v8", "7.4")),
    platforms=(Platform.LINUX, Platform.WINDOWS, Platform.MACOS),
    remediation="Windows: Settings > Windows Update > Install all, and move to a supported Windows 11 version. "
    "macOS: System Settings > General > Software Update, and upgrade to one of the three newest macOS releases. "
    "Linux: install the pending security updates (`apt update && apt upgrade`, `dnf upgrade --security`), "
    "enable automatic security updates (unattended-upgrades, dnf-automatic), and upgrade to a supported "
    "release before its security support ends.",
)
def security_updates_installed(updates: UpdatesFacts, system: SystemFacts) -> Verdict:
    from auditor.collectors.eol import support_end

    today = datetime.fromtimestamp(updates.host_time, UTC).date() if updates.host_time is not None else None
    ident = " ".join(part for part in (system.os_id, system.os_version) if part) or "unknown release"
    release = f"{system.os_name} ({ident})" if system.os_name else ident
    eol = support_end(system.os_id, system.os_version, system.os_name)
    observed: dict[str, object] = {
        "release": release, "support_ends": eol.date if eol else "unknown", "package_manager": updates.manager,
        "security_updates": [f"{u.name} {u.version} ({u.origin})" for u in updates.security],
        "other_updates": len(updates.pending) - len(updates.security),
        "lists_age_days": None if updates.index_age_days is None else round(updates.index_age_days, 1),
        "lists_source": updates.index_source or "unknown",
        "host_date": today.isoformat() if today else "unknown",
    }
    expected = {"security_updates": [], "release_supported": True}
    failures, doubts = [], []
    if eol and today and date.fromisoformat(eol.date) < today:
        failures.append(f"{release} is past the end of its {eol.kind} ({eol.date}) and gets no security updates")
    elif eol is None:
        doubts.append(f"support status unknown: {release} is not in the shipped end-of-life table")
    elif today is None:
        doubts.append("the host's date could not be read, so the end of support cannot be compared")
    if not updates.listed:
        doubts.append(f"pending updates could not be listed ({updates.problem})")
    elif updates.security:
        failures.append(_pending(updates))
    if updates.listed and updates.doubt:
        doubts.append(updates.doubt)
    age = updates.index_age_days
    if updates.listed and age is not None and age > STALE_LIST_DAYS:
        doubts.append(f"the package lists were last refreshed {age:.0f} days ago ({updates.index_source}), so "
                      "newer security updates may be missing from this answer")
    elif updates.listed and age is None:
        doubts.append("the age of the package lists could not be read")
    if failures:
        return Verdict.failed(_sentence(failures + doubts), observed=observed, expected=expected)
    if doubts:
        return Verdict.warning(_sentence(doubts), observed=observed, expected=expected)
    assert eol is not None  # no doubt raised, so the release was found
    return Verdict.passed(f"No security updates are pending ({updates.manager}, lists {age:.0f} days old) and "
                          f"{release} is supported until {eol.date} ({eol.kind}).", observed=observed,
                          expected=expected)


def _pending(updates: UpdatesFacts) -> str:
    """What is pending, counted as what it lists: packages on Linux (dnf: and the advisories apart, since one
    package may be named by several advisories and one advisory may name several packages), updates elsewhere."""
    names = list(dict.fromkeys(u.name for u in updates.security))
    shown = ", ".join(names[:_SHOWN]) + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")
    if updates.manager == "dnf":
        advisories = len({u.origin for u in updates.security})
        # Each begins with its count: the sentence's capital then changes nothing, and the catalogue still matches.
        if advisories == 1:
            return f"{len(names)} package(s) have security updates pending from 1 advisory: {shown}"
        return f"{len(names)} package(s) have security updates pending from {advisories} advisories: {shown}"
    if updates.manager == "apt":
        return f"{len(names)} package(s) have security updates pending: {shown}"
    return f"{len(names)} security update(s) are pending: {shown}"


def _sentence(parts: list[str]) -> str:
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")
