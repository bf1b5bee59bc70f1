"""Windows and macOS branches of the logging and firewall checks (LOG-0010, LOG-0020, FW-0010): the same
requirement judged on the platform's own facts (native_facts.py). The @check definitions stay in their family
modules, which pick a branch by the type of the facts they receive."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from auditor.plugin import Verdict

if TYPE_CHECKING:
    # Collector modules are imported when a check runs, so loading the pack imports none of them.
    from auditor.collectors.native_facts import (
        MacosAuditTrail,
        MacosFirewall,
        MacosUnifiedLog,
        WindowsAuditPolicy,
        WindowsFirewall,
        WindowsSecurityLog,
    )

_MB = 1024 * 1024


def windows_audit_trail(auditd: WindowsAuditPolicy, audited_paths: Sequence[str]) -> Verdict:
    """LOG-0010 on Windows: the advanced audit policy records logons, account and group changes, privilege use
    and (when the profile names personal-data paths) file access."""
    from auditor.collectors.windows_guids import (
        FILE_SYSTEM,
        LOGON,
        PROCESS_CREATION,
        SECURITY_GROUPS,
        SENSITIVE_PRIVILEGE,
        USER_ACCOUNTS,
    )

    expected = {"Logon": "Success and Failure", "User Account Management": "Success",
                "Security Group Management": "Success", "Sensitive Privilege Use or Process Creation": "Success",
                "File System": "Success" if audited_paths else "not required"}
    if auditd.problem or not auditd.entries:
        return Verdict.failed(f"The Windows audit policy could not be read ({auditd.problem or 'no answer'}); "
                              "run the scan as administrator.", observed={"problem": auditd.problem},
                              expected=expected)
    by_guid = {entry.guid: entry for entry in auditd.entries}
    observed = {entry.name: entry.setting for guid in (LOGON, USER_ACCOUNTS, SECURITY_GROUPS, SENSITIVE_PRIVILEGE,
                                                      PROCESS_CREATION, FILE_SYSTEM) if (entry := by_guid.get(guid))}
    unknown = [e.name for e in by_guid.values() if e.success is None]
    missing = []

    def audits(guid: str, failure: bool = False) -> bool:
        entry = by_guid.get(guid)
        return bool(entry and entry.success and (entry.failure or not failure))

    if not audits(LOGON, failure=True):
        missing.append("logons (Logon: success and failure)")
    if not audits(USER_ACCOUNTS):
        missing.append("changes to user accounts (User Account Management)")
    if not audits(SECURITY_GROUPS):
        missing.append("changes to group membership (Security Group Management)")
    if not (audits(SENSITIVE_PRIVILEGE) or audits(PROCESS_CREATION)):
        missing.append("use of administrator rights (Sensitive Privilege Use or Process Creation)")
    if audited_paths and not audits(FILE_SYSTEM):
        missing.append(f"access to the personal-data paths {', '.join(audited_paths)} (File System)")
    if unknown and missing:
        return Verdict.warning(f"The audit policy settings are in a language this check does not read "
                               f"({', '.join(unknown[:3])}...), so these could not be confirmed: "
                               f"{'; '.join(missing)}.", observed=observed, expected=expected)
    if missing:
        return Verdict.failed(f"The Windows audit policy does not record {'; '.join(missing)}.", observed=observed,
                              expected=expected)
    sacl = " File System auditing records only folders that carry an auditing entry (SACL); that cannot be seen " \
        "from auditpol and must be verified on the folders." if audited_paths else ""
    return Verdict.passed(f"The Windows audit policy records logons, account and group changes and privilege "
                          f"use.{sacl}", observed=observed, expected=expected)


def macos_audit_trail(auditd: MacosAuditTrail) -> Verdict:
    """LOG-0010 on macOS: what the unified log shows, and what no scan can prove."""
    agents = ", ".join(auditd.agents)
    observed = {"unified_logging": auditd.unified_logging, "agents": list(auditd.agents)}
    agent_note = (f" An endpoint agent runs ({agents}) and may keep such a trail; verify it in its console."
                  if agents else " No MDM enrolment or EDR agent that keeps its own trail was found.")
    status = auditd.unified_logging or "status unknown"
    return Verdict.warning(
        f"macOS records logins and administrator actions in its unified log ({status}), but its kernel audit "
        "trail (OpenBSM) is deprecated and off by default, so access to personal "
        f"data is not recorded and this cannot be proven by scanning.{agent_note}", observed=observed,
        expected={"audit_trail": "logins, administrator actions and access to personal data recorded"})


def macos_logs_kept(journald: MacosUnifiedLog, days: int) -> Verdict:
    """LOG-0020 on macOS: the unified log's retention cannot be shown."""
    return Verdict.warning(
        f"macOS keeps its unified log by size and by ages Apple sets per message type (days to weeks); "
        f"keeping {days} days cannot be proven by scanning. Forward the logs to a central collector or an EDR "
        "service that keeps them.", observed={"unified_logging": "active" if journald.active else journald.problem},
        expected={"retention_days": f">= {days}"})


def windows_logs_kept(log: WindowsSecurityLog, days: int) -> Verdict:
    """LOG-0020 on Windows: the Security event log holds the retention period, or is archived when full."""
    expected = {"retention_days": f">= {days}"}
    if log.enabled is None:
        return Verdict.failed(f"The Security event log settings could not be read ({log.problem}); run the "
                              "scan as administrator.", observed={"problem": log.problem}, expected=expected)
    covered = log.covered_days
    size = f"{log.max_bytes / _MB:g} MB" if log.max_bytes else "unknown size"
    observed = {"enabled": log.enabled, "max_size": size, "retention": log.retention, "autoBackup": log.auto_backup,
                "covered_days": None if covered is None else round(covered, 1)}
    if not log.enabled:
        return Verdict.failed("The Security event log is disabled.", observed=observed, expected=expected)
    if log.auto_backup:
        return Verdict.passed(f"The Security event log ({size}) is archived to a file when full (autoBackup), so "
                              "no events are overwritten.", observed=observed, expected=expected)
    if covered is not None and covered >= days:
        return Verdict.passed(f"The Security event log ({size}) holds {covered:.0f} days of events; {days} are "
                              "required.", observed=observed, expected=expected)
    if covered is not None:
        return Verdict.failed(f"The Security event log ({size}, oldest events overwritten when full) holds only "
                              f"{covered:.1f} days of events; the profile requires {days} days.", observed=observed,
                              expected=expected)
    return Verdict.failed(f"The Security event log ({size}) overwrites its oldest events when full, and its oldest "
                          f"event could not be read ({log.problem or 'no answer'}), so {days} days of history "
                          "cannot be shown.", observed=observed, expected=expected)


def windows_firewall(firewall: WindowsFirewall) -> Verdict:
    """FW-0010 on Windows: all three profiles on, inbound blocked."""
    expected = {"enabled": True, "inbound_default": "block"}
    observed = {p.name: {"enabled": p.enabled, "inbound": p.inbound, "note": p.note}
                for p in firewall.profiles}
    if not firewall.profiles:
        return Verdict.failed(f"The firewall state could not be read ({_unavailable(firewall.unavailable)}).",
                              observed=observed, expected=expected)
    off = [p.name for p in firewall.profiles if not p.enabled]
    allowing = [p.name for p in firewall.profiles if p.enabled and p.inbound == "allow"]
    if off or allowing:
        parts = [f"the {', '.join(off)} profile(s) are off"] * bool(off) + \
            [f"the {', '.join(allowing)} profile(s) allow unsolicited inbound traffic"] * bool(allowing)
        return Verdict.failed(f"Windows Defender Firewall: {'; '.join(parts)}.", observed=observed, expected=expected)
    return Verdict.passed(f"Windows Defender Firewall is on for the {', '.join(p.name for p in firewall.profiles)} "
                          "profiles and blocks inbound traffic that no rule allows.", observed=observed,
                          expected=expected)


def macos_firewall(fw: MacosFirewall) -> Verdict:
    """FW-0010 on macOS: the application firewall on, with stealth mode or blocking all."""
    expected = {"enabled": True, "inbound_default": "block"}
    if fw.enabled is None:
        return Verdict.failed(f"The firewall state could not be read ({_unavailable(fw.unavailable)}).",
                              observed={}, expected=expected)
    observed = {"application firewall": {"enabled": fw.enabled, "inbound": fw.inbound, "stealth": fw.stealth,
                                         "note": fw.state}}
    if not fw.enabled:
        return Verdict.failed("The macOS firewall is off: every sharing service that listens is reachable "
                              "from the network.", observed=observed, expected=expected)
    if fw.inbound == "block all" or fw.stealth:
        how = "blocks all incoming connections except essential services" if fw.inbound == "block all" else \
            "is on with stealth mode (no answer to probes)"
        return Verdict.passed(f"The macOS application firewall {how}.", observed=observed, expected=expected)
    return Verdict.warning("The macOS application firewall is on, but stealth mode is off and signed apps may "
                           "receive connections automatically.", observed=observed, expected=expected)


def _unavailable(unavailable: Mapping[str, str]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in unavailable.items()) or "no answer"
