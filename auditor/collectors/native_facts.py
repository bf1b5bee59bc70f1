"""Fact types that only Windows and macOS produce, attached to the platform-neutral facts of their domain."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class EventLog:
    """The Windows Security event log (`wevtutil gl Security` and its oldest record).

    Attributes:
        enabled: the log is enabled; max_bytes: its maximum size.
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


@dataclass(frozen=True)
class FirewallProfile:
    """A Windows firewall profile (Domain, Private, Public) or the macOS application firewall.

    Attributes:
        name: "Domain", "Private", "Public" or "application firewall".
        enabled: the profile is on (None when unknown).
        inbound: the default for unsolicited inbound traffic: "block", "allow", "block all" (macOS: only
            essential services), "per application" (macOS: signed and allowed apps may receive connections).
        stealth: macOS stealth mode (no answer to probes), None elsewhere or when unknown.
        note: how the value was derived (e.g. NotConfigured means Windows' built-in default, Block).
    """

    name: str
    enabled: bool | None
    inbound: str = ""
    stealth: bool | None = None
    note: str = ""
