"""Logging of processing activities (LOG-xxxx): the annex says all processing of personal data is logged,
which needs a kernel audit trail, logs that survive a reboot and are kept long enough, a copy on a central
collector reached over authenticated TLS, and correct time stamps."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from auditor.plugin import ControlRef, Platform, Severity, Verdict, check
from checks.platform_native import macos_audit_trail, macos_logs_kept, windows_audit_trail, windows_logs_kept

if TYPE_CHECKING:
    # Collector modules are imported when a check runs, so loading the pack imports none of them.
    from auditor.collectors.auditd import AuditdFacts, AuditRule
    from auditor.collectors.journald import JournaldFacts
    from auditor.collectors.native_facts import MacosAuditTrail, MacosUnifiedLog, WindowsAuditPolicy, WindowsSecurityLog
    from auditor.collectors.syslog import Daemon, SyslogFacts
    from auditor.collectors.timesync import TimeSyncFacts

_DAY = 86400
IDENTITY_FILES = ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow")
LOGIN_FILES = ("/var/log/lastlog", "/run/faillock", "/var/log/wtmp", "/var/log/btmp", "/var/log/faillog",
               "/var/log/tallylog")
# Certificate checks that identify the collector (rsyslog auth modes, syslog-ng peer-verify values).
AUTHENTICATED = ("x509/name", "x509/certvalid", "x509/fingerprint", "required-trusted", "optional-trusted", "yes")
SYSLOG_DAEMONS = ("rsyslog", "syslog-ng")


# ---- LOG-0010 -----------------------------------------------------------------------------------------

@check(
    id="LOG-0010",
    title="A kernel audit trail records identity changes, privileged commands, logins and personal data",
    severity=Severity.HIGH,
    requirements=("R12",),
    controls=(ControlRef("iso27001-2022", "8.15"), ControlRef("iso27001-2022", "8.16"), ControlRef("cis-v8", "8.2"),
              ControlRef("cis-v8", "8.5")),
    platforms=(Platform.LINUX, Platform.WINDOWS, Platform.MACOS),
    remediation="Windows: enable Advanced Audit Policy (Logon success and failure, User Account and Security Group "
    "Management, Sensitive Privilege Use, and File System with auditing entries on personal-data folders). macOS: "
    "deploy the organisation's EDR or MDM logging. Linux: "
    "install and enable auditd, load rules (e.g. the CIS rules in /etc/audit/rules.d/) that watch "
    "/etc/passwd, /etc/shadow, /etc/group, /etc/gshadow, the login records and privileged commands, add "
    "`-w <path> -p rwa -k pii` for every folder that holds personal data, then run `augenrules --load`.",
)
def audit_trail(auditd: AuditdFacts | WindowsAuditPolicy | MacosAuditTrail, audited_paths: list[str]) -> Verdict:
    from auditor.collectors.native_facts import MacosAuditTrail, WindowsAuditPolicy

    if isinstance(auditd, WindowsAuditPolicy):
        return windows_audit_trail(auditd, audited_paths)
    if isinstance(auditd, MacosAuditTrail):
        return macos_audit_trail(auditd)
    expected = {"auditd": "running", "enabled": "1 or 2", "rules": ["identity", "privileged commands", "logins"],
                "audited_paths": list(audited_paths)}
    if not auditd.installed:
        return Verdict.failed("There is no kernel audit trail (auditd not installed): changes to accounts, use of "
                              "privileged commands and access to personal data are not recorded.",
                              observed={"auditd": "not installed"}, expected=expected)
    observed: dict[str, object] = {
        "auditd_service": auditd.service or f"unknown ({auditd.service_problem})",
        "enabled": auditd.enabled, "pid": auditd.pid, "rules": len(auditd.rules),
        "auditd.conf": {k: auditd.config.get(k, "unset") for k in ("max_log_file", "num_logs", "max_log_file_action")}
        if auditd.config else auditd.config_problem,
    }
    unread = [why.rstrip(".") for why in (auditd.status_problem, auditd.rules_problem) if why]
    if unread:
        hint = "; run the scan as root or set sudo: true for this target" if any("needs root" in u for u in unread) \
            else ""
        return Verdict.failed(f"The kernel audit trail could not be verified: {'; '.join(unread)}{hint} (auditd "
                              f"service: {observed['auditd_service']}).", observed=observed, expected=expected)

    problems: list[str] = []
    if auditd.enabled not in (1, 2):
        problems.append(f"auditing is disabled in the kernel (enabled {auditd.enabled})")
    if not auditd.pid:
        service = f"; the auditd service is {auditd.service}" if auditd.service else ""
        problems.append(f"no audit daemon receives the events (pid 0{service})")
    active = [rule for rule in auditd.rules if rule.kind == "watch" or (rule.action == "always"
                                                                       and rule.filter in ("exit", ""))]
    if not auditd.rules:
        problems.append('no audit rules are loaded ("No rules")')
    else:
        missing, covered = _coverage(active, audited_paths)
        observed["covered"] = covered
        problems.extend(missing)
    if problems:
        return Verdict.failed(f"The kernel audit trail is incomplete: {'; '.join(problems)}.", observed=observed,
                              expected=expected)
    locked = ", locked until reboot" if auditd.enabled == 2 else ""
    paths = f" and the audited paths ({', '.join(audited_paths)})" if audited_paths else ""
    return Verdict.passed(f"auditd is running (pid {auditd.pid}, auditing enabled{locked}) and its "
                          f"{len(auditd.rules)} rules record identity changes, privileged commands, logins{paths}.",
                          observed=observed, expected=expected)


def _coverage(rules: Sequence[AuditRule], audited_paths: Sequence[str]) -> tuple[list[str], dict[str, object]]:
    """What is missing (in words) and what covers each concern."""
    missing: list[str] = []
    keys = {rule.key for rule in rules}
    unwatched = [f for f in IDENTITY_FILES if not any(_covers(r, f) and _writes(r) for r in rules)]
    if unwatched and "identity" not in keys:
        missing.append(f"no rule records changes to {', '.join(unwatched)} (identity)")
    privileged = [r.text for r in rules if ("x" in r.perms and r.path) or "execve" in r.syscalls]
    if not privileged and "privileged" not in keys:
        missing.append("no rule records privileged commands (execve or -F perm=x on setuid programs)")
    logins = [f for f in LOGIN_FILES if any(_covers(r, f) and _writes(r) for r in rules)]
    if not logins and "logins" not in keys:
        missing.append(f"no rule records logins ({', '.join(LOGIN_FILES[:4])})")
    paths: dict[str, str] = {}
    for path in audited_paths:
        rule = next((r for r in rules if _covers(r, path)), None)
        paths[path] = f"{rule.text}" if rule else "not watched"
    unaudited = [p for p, how in paths.items() if how == "not watched"]
    if unaudited:
        missing.append(f"no rule watches the personal-data path{'s' if len(unaudited) > 1 else ''} "
                       f"{', '.join(unaudited)}")
    return missing, {"identity": "missing " + ", ".join(unwatched) if unwatched else "all four files",
                     "privileged_rules": len(privileged), "login_records": logins, "audited_paths": paths}


def _covers(rule: AuditRule, path: str) -> bool:
    wanted, have = _canonical(path), _canonical(rule.path)
    if not have:
        return False
    return wanted == have or (rule.recursive and (have == "/" or wanted.startswith(have + "/")))


def _canonical(path: str) -> str:
    path = path.rstrip("/") or ("/" if path else "")
    return "/run" + path[len("/var/run"):] if path == "/var/run" or path.startswith("/var/run/") else path


def _writes(rule: AuditRule) -> bool:
    return not rule.perms or "w" in rule.perms or "a" in rule.perms


# ---- LOG-0020 -----------------------------------------------------------------------------------------

@check(
    id="LOG-0020",
    title="System logs survive a reboot and are kept for the required retention period",
    severity=Severity.HIGH,
    requirements=("R12",),
    controls=(ControlRef("iso27001-2022", "8.15"), ControlRef("cis-v8", "8.3"), ControlRef("cis-v8", "8.10")),
    platforms=(Platform.LINUX, Platform.WINDOWS, Platform.MACOS),
    remediation="Windows: enlarge the Security log or archive it when full (`wevtutil sl Security /ms:1073741824` "
    "or /ab:true /rt:true) and forward events centrally. macOS: forward the unified log to a central collector. "
    "Linux: set Storage=persistent in /etc/systemd/journald.conf (or create /var/log/journal), leave "
    "MaxRetentionSec unset or at least the retention period, and restart systemd-journald; or, with rsyslog "
    "or syslog-ng, make logrotate keep the files long enough (e.g. `daily` with `rotate 90`, or `weekly` with "
    "`rotate 13`, in /etc/logrotate.d/rsyslog).",
)
def logs_kept(journald: JournaldFacts | WindowsSecurityLog | MacosUnifiedLog, syslog: SyslogFacts,
              log_retention_days: int) -> Verdict:
    from auditor.collectors.native_facts import MacosUnifiedLog, WindowsSecurityLog

    if isinstance(journald, WindowsSecurityLog):
        return windows_logs_kept(journald, log_retention_days)
    if isinstance(journald, MacosUnifiedLog):
        return macos_logs_kept(journald, log_retention_days)
    expected = {"storage": "persistent", "retention_days": f">= {log_retention_days}"}
    journal_ok, journal_says, journal_observed = _journal_store(journald, log_retention_days)
    observed: dict[str, object] = {"journald": journal_observed}
    stores = [("journald", journal_ok, journal_says)]
    for name in SYSLOG_DAEMONS:
        if name in syslog.daemons:
            ok, says, daemon_observed = _syslog_store(syslog.daemons[name], syslog, log_retention_days)
            observed[name] = daemon_observed
            stores.append((name, ok, says))
    kept = [name for name, ok, _ in stores if ok]
    observed["kept_by"] = kept
    if kept:
        others = "; ".join(f"{says}" for name, ok, says in stores if not ok)
        return Verdict.passed(f"Logs are kept for at least {log_retention_days} days by {' and '.join(kept)}: "
                              + " ".join(says for _, ok, says in stores if ok)
                              + (f" (Also: {others})" if others else ""), observed=observed, expected=expected)
    alone = " No classic syslog daemon (rsyslog or syslog-ng) is installed to keep logs instead." \
        if len(stores) == 1 else ""
    return Verdict.failed(f"No log store keeps logs for {log_retention_days} days. "
                          + " ".join(says for _, _, says in stores) + alone, observed=observed, expected=expected)


def _journal_store(journald: JournaldFacts, days: int) -> tuple[bool, str, dict[str, object]]:
    observed: dict[str, object] = {
        "state": "running" if journald.active else "not running", "Storage": journald.storage,
        "/var/log/journal": "present" if journald.persistent_dir else "absent",
    }
    if not journald.present or not journald.active:
        return False, (f"The system journal is not running ({journald.problem}), so system events are not being "
                       "logged by journald."), observed
    if not journald.persistent:
        where = "only in memory (/run/log/journal)" if journald.storage != "none" else "nowhere"
        auto = ", /var/log/journal absent" if journald.storage == "auto" else ""
        return False, (f"journald keeps logs {where} (Storage={journald.storage}{auto}); they are lost at every "
                       "reboot."), observed
    retention = journald.max_retention_seconds
    observed["MaxRetentionSec"] = journald.settings.get("MaxRetentionSec", "unset")
    if retention is None:
        return False, f"MaxRetentionSec={observed['MaxRetentionSec']} cannot be read as a time span.", observed
    if retention and retention < days * _DAY:
        return False, (f"journald deletes entries after {retention / _DAY:g} days (MaxRetentionSec); the profile "
                       f"requires {days} days."), observed
    return True, (f"journald stores logs persistently (Storage={journald.storage}) and does not delete them by "
                  "age."), observed


def _syslog_store(daemon: Daemon, syslog: SyslogFacts, days: int) -> tuple[bool, str, dict[str, object]]:
    from auditor.collectors.syslog import Rotation

    name = daemon.name
    files: dict[str, object] = {}
    observed: dict[str, object] = {"state": daemon.state or f"unknown ({daemon.state_problem})", "files": files}
    short: dict[str, list[str]] = {}  # rotation described -> files kept too briefly
    unknown: list[str] = []
    known: list[float] = []
    for path in daemon.log_files:
        # Without logrotate nothing deletes the file: it is kept until someone removes it.
        rotation = syslog.rotations.get(path) or (Rotation() if syslog.logrotate == "absent" else None)
        retention = rotation.retention_days if rotation and syslog.logrotate in ("present", "absent") else None
        kept = "unlimited" if retention is not None and math.isinf(retention) else \
            ("unknown" if retention is None else round(retention, 1))
        files[path] = {"retention_days": kept, "rotation": rotation.describe() if rotation else "unknown"}
        if retention is None:
            unknown.append(path)
            continue
        known.append(retention)
        if retention < days and rotation is not None:
            short.setdefault(f"{retention:g} days ({rotation.describe()})", []).append(path)
    if daemon.state != "active":
        why = f"is installed but {daemon.state}" if daemon.state else f"state is unknown ({daemon.state_problem})"
        return False, f"{name} {why}, so its files are no evidence of logging.", observed
    if not daemon.log_files:
        return False, f"{name} writes no local log files.", observed
    problems = [f"{', '.join(paths)} only {how}" for how, paths in short.items()]
    if unknown:
        why = syslog.logrotate if syslog.logrotate not in ("present", "absent") else "rotated by size"
        problems.append(f"{', '.join(unknown)} for an unknown time ({why})")
    if problems:
        default = " (weekly with rotate 4 is the Debian and Ubuntu default)" if any(
            "weekly, rotate 4 in" in how for how in short) else ""
        return False, (f"{name} keeps {'; '.join(problems)}{default}; the profile requires {days} days."), observed
    least = min(known, default=math.inf)
    span = "are never rotated away" if math.isinf(least) else f"are kept at least {least:g} days"
    return True, f"{name} is running and its {len(daemon.log_files)} log files {span}.", observed


# ---- LOG-0030 -----------------------------------------------------------------------------------------

@check(
    id="LOG-0030",
    title="Logs are forwarded to a central collector over authenticated TLS",
    severity=Severity.MEDIUM,
    requirements=("R12",),
    controls=(ControlRef("iso27001-2022", "8.15"), ControlRef("iso27001-2022", "8.16"), ControlRef("cis-v8", "8.9"),
              ControlRef("cis-v8", "8.11")),
    platforms=(Platform.LINUX,),
    remediation="Forward logs with rsyslog `action(type=\"omfwd\" protocol=\"tcp\" StreamDriver=\"gtls\" "
    "StreamDriverMode=\"1\" StreamDriverAuthMode=\"x509/name\" ...)`, syslog-ng `network(... transport(\"tls\") "
    "tls(...))`, or systemd-journal-upload with URL=https://..., and remove plaintext (@host, @@host) targets.",
)
def logs_forwarded(syslog: SyslogFacts, central_logging: bool) -> Verdict:
    if not central_logging:
        return Verdict.not_applicable("The profile does not require central logging (central_logging: false).")
    expected = {"forwarding": "TLS with the collector's certificate checked", "plaintext": "none"}
    found = [(d, f) for d in syslog.daemons.values() for f in d.forwards]
    observed: dict[str, object] = {"forwards": [
        {"daemon": f.daemon, "target": f.target, "protocol": f.protocol, "tls": f.tls, "auth_mode": f.auth_mode,
         "source": f.source, "daemon_state": d.state or "unknown"} for d, f in found]}
    if not found:
        installed = ", ".join(syslog.daemons) or "none of rsyslog, syslog-ng, systemd-journal-upload"
        return Verdict.failed(f"Logs are not forwarded to a central collector: no forwarding is configured "
                              f"(installed: {installed}).", observed=observed, expected=expected)
    good, bad, idle, unsure = [], [], [], []
    for daemon, forward in found:
        where = f"{forward.target} ({forward.source})"
        if daemon.state not in ("active", ""):
            idle.append(f"{daemon.name} forwards to {where} but is {daemon.state}")
        elif not forward.tls:
            bad.append(f"{daemon.name} sends to {where} over plaintext {forward.protocol.upper()}")
        elif forward.auth_mode not in AUTHENTICATED:
            bad.append(f"{daemon.name} sends to {where} over anonymous TLS (auth mode {forward.auth_mode or 'none'}: "
                       "the collector's certificate is not checked)")
        elif daemon.state == "":
            unsure.append(f"{daemon.name} is configured for TLS to {where} but its state is unknown "
                          f"({daemon.state_problem})")
        else:
            good.append(f"{daemon.name} to {where} over TLS ({forward.auth_mode})")
    if bad or not (good or unsure):
        return Verdict.failed("Logs do not reach a central collector over authenticated TLS: "
                              + "; ".join(bad + idle) + ".", observed=observed, expected=expected)
    if not good:
        return Verdict.warning("; ".join(unsure) + ".", observed=observed, expected=expected)
    return Verdict.passed("Logs are forwarded by " + "; ".join(good) + "."
                          + (f" Not running: {'; '.join(idle)}." if idle else ""), observed=observed,
                          expected=expected)


# ---- LOG-0040 -----------------------------------------------------------------------------------------

@check(
    id="LOG-0040",
    title="The system clock is synchronised with a time source",
    severity=Severity.MEDIUM,
    requirements=("R12",),
    controls=(ControlRef("iso27001-2022", "8.17"), ControlRef("cis-v8", "8.4")),
    platforms=(Platform.LINUX, Platform.WINDOWS, Platform.MACOS),
    remediation="Windows: start the Windows Time service and `w32tm /resync`. macOS: turn on 'Set time and date "
    "automatically' (System Settings > General > Date & Time). Linux: "
    "enable a time service (`timedatectl set-ntp true` for systemd-timesyncd, or install chrony) "
    "so that log time stamps can be trusted and correlated.",
)
def clock_synchronised(timesync: TimeSyncFacts) -> Verdict:
    expected = {"synchronized": True}
    observed: dict[str, object] = {"source": timesync.source or "none", "synchronized": timesync.synchronized}
    if timesync.synchronized:
        return Verdict.passed(f"The clock is synchronised ({timesync.source}).", observed=observed,
                              expected=expected)
    if timesync.synchronized is None and timesync.ntp_service_enabled:
        return Verdict.warning(f"Network time is on ({timesync.source}), but whether the clock is in sync could not "
                               f"be confirmed ({'; '.join(f'{k}: {v}' for k, v in timesync.unavailable.items())}).",
                               observed=observed, expected=expected)
    if timesync.synchronized is None:
        reasons = "; ".join(f"{tool}: {why}" for tool, why in timesync.unavailable.items())
        observed["unavailable"] = dict(timesync.unavailable)
        return Verdict.failed(f"No time synchronisation could be found ({reasons}).", observed=observed,
                              expected=expected)
    service = {True: "enabled", False: "disabled", None: "unknown"}[timesync.ntp_service_enabled]
    observed["ntp_service"] = service
    return Verdict.failed(f"The clock is not synchronised ({timesync.source} reports no sync; "
                          f"NTP service {service}).", observed=observed, expected=expected)
