"""Fact types that only Windows and macOS produce. Each is what a collector returns on that platform instead
of its Linux facts, so a check dispatches on the type it receives (`isinstance`), never on a platform string.

    collector   Linux               Windows               macOS
    auditd      AuditdFacts         WindowsAuditPolicy    MacosAuditTrail
    journald    JournaldFacts       WindowsSecurityLog    MacosUnifiedLog
    firewall    FirewallFacts       WindowsFirewall       MacosFirewall
    disk        DiskFacts           WindowsBitLocker      MacosFileVault      (disk_native.py)
    backup      BackupFacts         WindowsBackup         MacosTimeMachine    (backup.py)
    antimalware AntimalwareFacts    WindowsDefender       MacosXProtect       (antimalware.py)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field

from auditor.records import record


@record
class AuditPolicyEntry:
    """One Windows advanced audit policy subcategory (`auditpol /get /category:* /r`).

    Attributes:
        guid: the subcategory GUID (the same in every language: checks match on it).
        name: the subcategory name as this Windows prints it (localised).
        setting: the inclusion setting as printed ("Success and Failure", "No Auditing", localised).
        success / failure: what the setting means, None when the language is not one the parser knows.
    """

    guid: str
    name: str
    setting: str
    success: bool | None
    failure: bool | None


@record
class WindowsAuditPolicy:
    """The `auditd` collector on Windows: the advanced audit policy.

    Attributes:
        entries: every subcategory auditpol listed; empty when it could not be read.
        problem: why auditpol could not be read, or "".
    """

    entries: tuple[AuditPolicyEntry, ...] = ()
    problem: str = ""


@record
class MacosAuditTrail:
    """The `auditd` collector on macOS: what can be seen of an audit trail (OpenBSM is deprecated and off).

    Attributes:
        unified_logging: `log config --status`, or "unknown (why)".
        agents: MDM enrolment and EDR/MDM agents running that keep their own logs.
    """

    unified_logging: str = ""
    agents: tuple[str, ...] = ()


@record
class WindowsSecurityLog:
    """The `journald` collector on Windows: the Security event log (`wevtutil gl Security`, its oldest record).

    Attributes:
        enabled: the log is enabled (None when unread); max_bytes: its maximum size.
        retention: "retention: true" (do not overwrite: Windows stops logging, or archives, when full).
        auto_backup: "autoBackup: true" (archive the full log to a file and start a new one).
        oldest_event_at / host_time: epoch seconds of the oldest record still in the log, and of the host's clock.
        problem: why something could not be read, or "".
    """

    enabled: bool | None
    max_bytes: int | None = None
    retention: bool | None = None
    auto_backup: bool | None = None
    oldest_event_at: int | None = None
    host_time: int | None = None
    problem: str = ""

    @property
    def covered_days(self) -> float | None:
        """Days of history the log holds now (host clock minus the oldest record)."""
        if self.oldest_event_at is None or self.host_time is None:
            return None
        return (self.host_time - self.oldest_event_at) / 86400


@record
class MacosUnifiedLog:
    """The `journald` collector on macOS: the unified log.

    Attributes:
        active: `log config --status` answered.
        problem: why it did not, or "".
    """

    active: bool
    problem: str = ""


@record
class FirewallProfile:
    """A Windows firewall profile (Domain, Private, Public).

    Attributes:
        name: "Domain", "Private" or "Public".
        enabled: the profile is on (None when unknown).
        inbound: the default for unsolicited inbound traffic: "block" or "allow".
        note: how the value was derived (e.g. NotConfigured means Windows' built-in default, Block).
    """

    name: str
    enabled: bool | None
    inbound: str = ""
    note: str = ""


@record
class FirewallProduct:
    """A firewall registered with Windows Security Center (root/SecurityCenter2 FirewallProduct, client Windows only).

    Attributes:
        name: its displayName ("ESET Firewall").
        enabled: its productState says it is on (not off, snoozed or expired).
        microsoft: its productState says Windows owns the entry (not a third-party product).
    """

    name: str
    enabled: bool
    microsoft: bool = False


@record
class WindowsFirewall:
    """The `firewall` collector on Windows: Windows Defender Firewall's profiles, and the firewalls registered with
    Windows Security Center, one of which may have taken over from Windows Defender Firewall.

    Attributes:
        profiles: the profiles as Get-NetFirewallProfile reports them; empty when unread.
        unavailable: source -> why it could not be read.
        products: the firewalls Security Center lists; empty on Windows Server, which has no Security Center.
        security_center: why Security Center's list was not read ("" when it was).
    """

    profiles: tuple[FirewallProfile, ...] = ()
    unavailable: Mapping[str, str] = field(default_factory=dict)
    products: tuple[FirewallProduct, ...] = ()
    security_center: str = ""

    def third_party_enabled(self) -> tuple[FirewallProduct, ...]:
        """The enabled products that are not Windows' own."""
        return tuple(p for p in self.products if p.enabled and not p.microsoft)


@record
class MacosFirewall:
    """The `firewall` collector on macOS: the application firewall (socketfilterfw).

    Attributes:
        enabled: the firewall is on; None when its state could not be read (see `unavailable`).
        inbound: "block all" (only essential services may receive connections) or "per application" (signed and
            allowed apps may).
        stealth: stealth mode (no answer to probes), None when unknown.
        state: what `--getglobalstate` printed.
        unavailable: source -> why it could not be read.
    """

    enabled: bool | None = None
    inbound: str = ""
    stealth: bool | None = None
    state: str = ""
    unavailable: Mapping[str, str] = field(default_factory=dict)
