"""LOG-0010, LOG-0020, LOG-0030 and LOG-0040 on facts built in code: table-driven, Given/When/Then."""

from __future__ import annotations

import pytest

from auditor.collectors.auditd import AuditdFacts, parse_auditctl_rules, parse_auditctl_status
from auditor.collectors.journald import JournaldFacts
from auditor.collectors.syslog import Daemon, Forward, Rotation, SyslogFacts
from auditor.collectors.timesync import TimeSyncFacts
from auditor.models import Status
from checks.audit_logging import audit_trail, clock_synchronised, logs_forwarded, logs_kept
from tests.conftest import FIXTURES

OUT = FIXTURES / "outputs" / "logging"
CIS = parse_auditctl_rules((OUT / "debian12-cis-auditctl-l.txt").read_text())
RUNNING = parse_auditctl_status((OUT / "rhel9-auditctl-s-running.txt").read_text())
CONTAINER = parse_auditctl_status((OUT / "debian12-container-auditctl-s.txt").read_text())
CONF = {"max_log_file": "8", "num_logs": "5", "max_log_file_action": "ROTATE"}


def _auditd(rules=CIS, status=RUNNING, **changes) -> AuditdFacts:
    return AuditdFacts(**{"installed": True, "service": "active", "status": status, "rules": tuple(rules),
                          "config": CONF, **changes})


def _without(*words: str):
    return [r for r in CIS if not any(w in r.text for w in words)]


@pytest.mark.parametrize(
    ("facts", "paths", "status", "words"),
    [
        (_auditd(), ["/srv/pii/customers", "/srv/exports", "/srv/ledger.db"], Status.PASS,
         "57 rules record identity changes, privileged commands, logins and the audited paths"),
        (_auditd(status={**RUNNING, "enabled": "2"}), [], Status.PASS, "locked until reboot"),
        (AuditdFacts(False), [], Status.FAIL, "no kernel audit trail (auditd not installed)"),
        (_auditd(status={}, rules=(), status_problem="`auditctl -s` needs root: You must be root to run this program.",
                 rules_problem="`auditctl -l` needs root: You must be root to run this program."), [], Status.FAIL,
         "could not be verified: `auditctl -s` needs root: You must be root to run this program; `auditctl -l` needs "
         "root: You must be root to run this program; run the scan as root"),
        (_auditd(rules=(), status=CONTAINER, service="", service_problem="System has not been booted with systemd"),
         [], Status.FAIL, 'auditing is disabled in the kernel (enabled 0); no audit daemon receives the events (pid 0)'
                          '; no audit rules are loaded ("No rules")'),
        (_auditd(rules=()), [], Status.FAIL, 'no audit rules are loaded ("No rules")'),
        (_auditd(), ["/srv/pii", "/home/shared/hr"], Status.FAIL, "personal-data path /home/shared/hr"),
        (_auditd(rules=_without("/etc/shadow", "/etc/gshadow")), [], Status.PASS, "identity changes"),
        (_auditd(rules=_without("identity")), [], Status.FAIL,
         "no rule records changes to /etc/passwd, /etc/shadow, /etc/group, /etc/gshadow (identity)"),
        (_auditd(rules=_without("perm=x", "execve")), [], Status.FAIL, "no rule records privileged commands"),
        (_auditd(rules=_without("logins", "session")), [], Status.FAIL, "no rule records logins"),
        (_auditd(rules=_without("lastlog", "wtmp", "btmp")), [], Status.PASS, "logins"),
    ],
)
def test_audit_trail(facts, paths, status, words):
    # Given auditd facts and the profile's audited paths, When LOG-0010 evaluates them
    verdict = audit_trail(facts, paths)
    # Then the status and the sentence say what is missing
    assert verdict.status is status, verdict.message
    assert words in verdict.message
    if facts.installed and facts.config:
        assert verdict.observed["auditd.conf"] == CONF


def test_audit_trail_names_the_rule_covering_each_path():
    verdict = audit_trail(_auditd(), ["/srv/pii/a.csv", "/run/faillock"])
    assert verdict.observed["covered"]["audited_paths"] == {
        "/srv/pii/a.csv": "-w /srv/pii -p rwa -k pii", "/run/faillock": "-w /var/run/faillock -p wa -k logins"}


NO_SYSLOG = SyslogFacts()
WEEKLY_4 = Rotation("/var/log/syslog", "/etc/logrotate.d/rsyslog", "weekly", 4)
DAILY_90 = Rotation("/var/log/syslog", "/etc/logrotate.d/rsyslog", "daily", 90)
FILES = ("/var/log/syslog", "/var/log/auth.log")


def _rsyslog(rotation: Rotation | None = WEEKLY_4, state: str = "active", logrotate: str = "present",
             **changes) -> SyslogFacts:
    daemon = Daemon("rsyslog", state, config_files=("/etc/rsyslog.conf",), log_files=FILES, **changes)
    rotations = {p: rotation for p in FILES} if rotation else {}
    return SyslogFacts({"rsyslog": daemon}, rotations, logrotate)


PERSISTENT = JournaldFacts(True, True, {"Storage": "persistent"})
VOLATILE = JournaldFacts(True, True, {"Storage": "volatile"}, persistent_dir=True)


@pytest.mark.parametrize(
    ("journald", "syslog", "status", "words"),
    [
        (JournaldFacts(True, True, {"Storage": "persistent"}), NO_SYSLOG, Status.PASS, "persistently"),
        (JournaldFacts(True, True, {}, persistent_dir=True), NO_SYSLOG, Status.PASS, "Storage=auto"),
        (JournaldFacts(True, True, {}, persistent_dir=False), NO_SYSLOG, Status.FAIL, "lost at every reboot"),
        (VOLATILE, NO_SYSLOG, Status.FAIL, "only in memory"),
        (JournaldFacts(True, True, {"Storage": "none"}), NO_SYSLOG, Status.FAIL, "keeps logs nowhere"),
        (JournaldFacts(True, True, {"Storage": "persistent", "MaxRetentionSec": "1month"}), NO_SYSLOG, Status.FAIL,
         "after 30.4375 days"),
        (JournaldFacts(True, True, {"Storage": "persistent", "MaxRetentionSec": "1y"}), NO_SYSLOG, Status.PASS,
         "persistently"),
        (JournaldFacts(True, True, {"Storage": "persistent", "MaxRetentionSec": "soon"}), NO_SYSLOG, Status.FAIL,
         "cannot be read"),
        (JournaldFacts(True, False, problem="systemd-journald: inactive"), NO_SYSLOG, Status.FAIL, "not running"),
        (JournaldFacts(False, False, problem="systemd is not installed"), NO_SYSLOG, Status.FAIL,
         "systemd is not installed"),
        (VOLATILE, NO_SYSLOG, Status.FAIL, "No classic syslog daemon (rsyslog or syslog-ng) is installed"),
        # Ubuntu 22.04 defaults: volatile-by-default journal plus rsyslog with weekly/rotate 4 -> fail, clearly
        (VOLATILE, _rsyslog(), Status.FAIL, "rsyslog keeps /var/log/syslog, /var/log/auth.log only 28 days (weekly, "
                                            "rotate 4 in /etc/logrotate.d/rsyslog) (weekly with rotate 4 is the "
                                            "Debian and Ubuntu default); the profile requires 90 days."),
        (PERSISTENT, _rsyslog(), Status.PASS, "kept for at least 90 days by journald"),
        (VOLATILE, _rsyslog(DAILY_90), Status.PASS, "by rsyslog: rsyslog is running and its 2 log files are kept "
                                                    "at least 90 days."),
        (PERSISTENT, _rsyslog(DAILY_90), Status.PASS, "by journald and rsyslog"),
        (VOLATILE, _rsyslog(Rotation("/var/log/*", "/etc/logrotate.d/x", "monthly", 3)), Status.PASS, "90 days"),
        (VOLATILE, _rsyslog(None, logrotate="absent"), Status.PASS, "are never rotated away"),
        (VOLATILE, _rsyslog(None, logrotate="Permission denied"), Status.FAIL, "unknown time (Permission denied)"),
        (VOLATILE, _rsyslog(Rotation("/var/log/syslog", "/etc/logrotate.d/rsyslog", "size", 10)), Status.FAIL,
         "for an unknown time (rotated by size)"),
        (VOLATILE, _rsyslog(DAILY_90, state="inactive"), Status.FAIL, "rsyslog is installed but inactive"),
        (VOLATILE, _rsyslog(DAILY_90, state="", state_problem="System has not been booted with systemd"),
         Status.FAIL, "rsyslog state is unknown (System has not been booted with systemd)"),
        (VOLATILE, SyslogFacts({"rsyslog": Daemon("rsyslog", "active")}), Status.FAIL, "writes no local log files"),
    ],
)
def test_logs_kept(journald, syslog, status, words):
    # Given journald and syslog facts, When LOG-0020 evaluates them with a 90-day retention
    verdict = logs_kept(journald, syslog, 90)
    # Then the status and the sentence say which store keeps what
    assert verdict.status is status, verdict.message
    assert words in verdict.message
    if status is Status.FAIL:
        assert verdict.expected["retention_days"] == ">= 90"


def test_logs_kept_shows_each_file_retention():
    verdict = logs_kept(VOLATILE, _rsyslog(), 90)
    assert verdict.observed["rsyslog"]["files"]["/var/log/auth.log"] == {
        "retention_days": 28, "rotation": "weekly, rotate 4 in /etc/logrotate.d/rsyslog"}
    assert verdict.observed["kept_by"] == []
    # And a shorter profile accepts the same host
    assert logs_kept(VOLATILE, _rsyslog(), 28).status is Status.PASS


def _forwarding(*forwards: Forward, state: str = "active", name: str = "rsyslog", problem: str = "") -> SyslogFacts:
    return SyslogFacts({name: Daemon(name, state, problem, forwards=forwards)})


GTLS = Forward("rsyslog", "logs.example.net", "tcp", True, "x509/name", "/etc/rsyslog.d/60-forward.conf:10")
ANON = Forward("rsyslog", "logs.example.net", "tcp", True, "anon", "/etc/rsyslog.d/60-forward.conf:8")
UDP = Forward("rsyslog", "logs.example.net", "udp", False, "", "/etc/rsyslog.d/60-forward.conf:2")
UPLOAD = Forward("systemd-journal-upload", "https://logs.example.net:19532", "https", True, "x509/name",
                 "/etc/systemd/journal-upload.conf.d/50-central.conf")
SYSLOG_NG = Forward("syslog-ng", "logs.example.net", "tcp", True, "required-trusted", "/etc/syslog-ng/conf.d/f.conf:2")


@pytest.mark.parametrize(
    ("facts", "status", "words"),
    [
        (_forwarding(GTLS), Status.PASS, "rsyslog to logs.example.net (/etc/rsyslog.d/60-forward.conf:10) over TLS "
                                         "(x509/name)"),
        (_forwarding(SYSLOG_NG, name="syslog-ng"), Status.PASS, "over TLS (required-trusted)"),
        (_forwarding(UPLOAD, name="systemd-journal-upload"), Status.PASS, "https://logs.example.net:19532"),
        (_forwarding(ANON), Status.FAIL, "anonymous TLS (auth mode anon"),
        (_forwarding(UDP), Status.FAIL, "over plaintext UDP"),
        (_forwarding(GTLS, UDP), Status.FAIL, "plaintext UDP"),
        (_forwarding(UPLOAD, name="systemd-journal-upload", state="inactive"), Status.FAIL, "but is inactive"),
        (_forwarding(GTLS, state="", problem="System has not been booted with systemd"), Status.WARN,
         "its state is unknown"),
        (_forwarding(), Status.FAIL, "no forwarding is configured (installed: rsyslog)"),
        (SyslogFacts(), Status.FAIL, "installed: none of rsyslog, syslog-ng, systemd-journal-upload"),
    ],
)
def test_logs_forwarded(facts, status, words):
    # Given forwarding facts and a profile that requires central logging, When LOG-0030 evaluates them
    verdict = logs_forwarded(facts, True)
    # Then only authenticated TLS from a running daemon passes, and the sentence names the problem
    assert verdict.status is status, verdict.message
    assert words in verdict.message


def test_forwarding_not_required_by_the_profile():
    verdict = logs_forwarded(_forwarding(UDP), False)
    assert verdict.status is Status.NOT_APPLICABLE and "central_logging: false" in verdict.message


@pytest.mark.parametrize(
    ("facts", "status", "words"),
    [
        (TimeSyncFacts(True, "timedatectl", True), Status.PASS, "synchronised (timedatectl)"),
        (TimeSyncFacts(True, "chronyc"), Status.PASS, "(chronyc)"),
        (TimeSyncFacts(False, "timedatectl", False), Status.FAIL, "NTP service disabled"),
        (TimeSyncFacts(None, "", unavailable={"timedatectl": "not installed", "chronyc": "not installed"}),
         Status.FAIL, "timedatectl: not installed; chronyc: not installed"),
    ],
)
def test_clock_synchronised(facts, status, words):
    verdict = clock_synchronised(facts)
    assert verdict.status is status and words in verdict.message
