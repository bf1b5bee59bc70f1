"""Logging of processing activities (LOG-xxxx): the annex says all processing of personal data is logged,
which needs logs that survive a reboot, are kept long enough, and carry correct time stamps."""

from __future__ import annotations

from auditor.collectors.journald import JournaldFacts
from auditor.collectors.timesync import TimeSyncFacts
from auditor.plugin import ControlRef, Platform, Severity, Verdict, check

_DAY = 86400


@check(
    id="LOG-0020",
    title="System logs survive a reboot and are kept for the required retention period",
    severity=Severity.HIGH,
    requirements=("R12",),
    controls=(ControlRef("iso27001-2022", "8.15"), ControlRef("cis-v8", "8.3"), ControlRef("cis-v8", "8.10")),
    platforms=(Platform.LINUX,),
    remediation="Set Storage=persistent in /etc/systemd/journald.conf (or create /var/log/journal), leave "
    "MaxRetentionSec unset or at least the retention period, and restart systemd-journald.",
)
def journal_persistent(journald: JournaldFacts, log_retention_days: int) -> Verdict:
    expected = {"storage": "persistent", "retention_days": f">= {log_retention_days}"}
    observed: dict[str, object] = {
        "journald": "running" if journald.active else "not running",
        "Storage": journald.storage, "/var/log/journal": "present" if journald.persistent_dir else "absent",
    }
    if not journald.present or not journald.active:
        return Verdict.failed(f"The system journal is not running ({journald.problem}), so system events are "
                              "not being logged by journald.", observed=observed, expected=expected)
    if not journald.persistent:
        where = "only in memory (/run/log/journal)" if journald.storage != "none" else "nowhere"
        return Verdict.failed(f"journald keeps logs {where} (Storage={journald.storage}"
                              f"{', /var/log/journal absent' if journald.storage == 'auto' else ''}); "
                              "they are lost at every reboot.", observed=observed, expected=expected)
    retention = journald.max_retention_seconds
    observed["MaxRetentionSec"] = journald.settings.get("MaxRetentionSec", "unset")
    if retention is None:
        return Verdict.failed(f"MaxRetentionSec={observed['MaxRetentionSec']} cannot be read as a time span.",
                              observed=observed, expected=expected)
    if retention and retention < log_retention_days * _DAY:
        return Verdict.failed(f"journald deletes entries after {retention / _DAY:g} days (MaxRetentionSec); "
                              f"the profile requires {log_retention_days} days.", observed=observed,
                              expected=expected)
    return Verdict.passed(f"journald stores logs persistently (Storage={journald.storage}) and does not delete "
                          "them by age.", observed=observed, expected=expected)


@check(
    id="LOG-0040",
    title="The system clock is synchronised with a time source",
    severity=Severity.MEDIUM,
    requirements=("R12",),
    controls=(ControlRef("iso27001-2022", "8.17"), ControlRef("cis-v8", "8.4")),
    platforms=(Platform.LINUX,),
    remediation="Enable a time service (`timedatectl set-ntp true` for systemd-timesyncd, or install chrony) "
    "so that log time stamps can be trusted and correlated.",
)
def clock_synchronised(timesync: TimeSyncFacts) -> Verdict:
    expected = {"synchronized": True}
    observed: dict[str, object] = {"source": timesync.source or "none", "synchronized": timesync.synchronized}
    if timesync.synchronized:
        return Verdict.passed(f"The clock is synchronised ({timesync.source}).", observed=observed,
                              expected=expected)
    if timesync.synchronized is None:
        reasons = "; ".join(f"{tool}: {why}" for tool, why in timesync.unavailable.items())
        observed["unavailable"] = dict(timesync.unavailable)
        return Verdict.failed(f"No time synchronisation could be found ({reasons}).", observed=observed,
                              expected=expected)
    service = {True: "enabled", False: "disabled", None: "unknown"}[timesync.ntp_service_enabled]
    observed["ntp_service"] = service
    return Verdict.failed(f"The clock is not synchronised ({timesync.source} reports no sync; "
                          f"NTP service {service}).", observed=observed, expected=expected)
