"""The syslog collector's facts: daemons, where they write and forward, and how logrotate keeps each file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field

from auditor.records import record

# logrotate's rotation periods; the parser also reads these names as its frequency keywords.
PERIOD_DAYS = {"hourly": 1 / 24, "daily": 1, "weekly": 7, "monthly": 30, "yearly": 365}


@record
class Forward:
    """A destination logs are sent to.

    Attributes:
        daemon: rsyslog, syslog-ng or systemd-journal-upload.
        target: host (or URL) of the collector.
        protocol: udp, tcp, relp, http or https.
        tls: the connection is encrypted with TLS.
        auth_mode: how the collector's certificate is checked: x509/name, x509/certvalid, x509/fingerprint,
            anon (not at all), or syslog-ng's peer-verify value; "" when there is no TLS.
        source: "file:line" of the definition.
    """

    daemon: str
    target: str
    protocol: str
    tls: bool = False
    auth_mode: str = ""
    source: str = ""


@record
class Rotation:
    """How logrotate treats one log file.

    Attributes:
        pattern: the logrotate pattern that matched the file; "" when no rule matched (never rotated).
        source: the logrotate file holding the rule.
        frequency: hourly, daily, weekly, monthly, yearly, or "size" when rotated by size alone.
        rotate: rotated copies kept (0: deleted at rotation, -1: never deleted).
        maxage: days after which rotated copies are deleted, or None.
    """

    pattern: str = ""
    source: str = ""
    frequency: str = "size"
    rotate: int = 0
    maxage: int | None = None

    @property
    def retention_days(self) -> float | None:
        """Days a line is guaranteed to be kept: rotate x period, capped by maxage; inf if never deleted."""
        if not self.pattern or (self.rotate < 0 and self.maxage is None):
            return float("inf")
        if self.frequency not in PERIOD_DAYS:
            return None  # rotated by size: how many days that is depends on traffic
        days = float("inf") if self.rotate < 0 else self.rotate * PERIOD_DAYS[self.frequency]
        return min(days, self.maxage) if self.maxage is not None else days

    def describe(self) -> str:
        """'weekly, rotate 4 in /etc/logrotate.d/rsyslog' or 'not rotated by logrotate'."""
        if not self.pattern:
            return "not rotated by logrotate"
        age = f", maxage {self.maxage}" if self.maxage is not None else ""
        return f"{self.frequency}, rotate {self.rotate}{age} in {self.source}"


@record
class Daemon:
    """Attributes:
    name: rsyslog, syslog-ng or systemd-journal-upload.
    state: what systemd says ("active", "inactive", "failed"...), or "" when it could not say.
    state_problem: why the state is unknown, or "".
    config_files: the files read, in the order the daemon reads them.
    log_files: local files it writes (paths as configured).
    forwards: where it sends logs.
    problems: config files that could not be read, includes outside the folders read.
    """

    name: str
    state: str = ""
    state_problem: str = ""
    config_files: tuple[str, ...] = ()
    log_files: tuple[str, ...] = ()
    forwards: tuple[Forward, ...] = ()
    problems: tuple[str, ...] = ()


@record
class SyslogFacts:
    """Attributes:
    daemons: each installed daemon (its config file exists), keyed by name.
    rotations: for every file a daemon writes, its logrotate treatment.
    logrotate: "present", "absent" (files are never rotated), or why its config could not be read.
    """

    daemons: Mapping[str, Daemon] = field(default_factory=dict)
    rotations: Mapping[str, Rotation] = field(default_factory=dict)
    logrotate: str = "absent"
