"""Facts about classic syslog daemons (rsyslog, syslog-ng), logrotate and systemd-journal-upload.

For each daemon: whether it runs, which local files it writes, where it forwards logs and with what
transport security; for each written file, the logrotate rule that decides how long it is kept.
Config files are read as they are on disk (rsyslog.conf with its /etc/rsyslog.d includes spliced in
at the include's position, as rsyslog does), because neither daemon can print its effective config.

This module does the reading; each configuration language has its own pure parser module, and the
facts a check receives are in `facts`.
"""

from __future__ import annotations

from dataclasses import replace

from auditor.collectors.base import Requests
from auditor.collectors.native import NATIVE
from auditor.collectors.syslog.facts import Daemon, Forward, Rotation, SyslogFacts
from auditor.collectors.syslog.journal_upload import parse_journal_upload
from auditor.collectors.syslog.logrotate import LOGROTATE_CONF, LOGROTATE_DIR, parse_logrotate, rotation_for
from auditor.collectors.syslog.rsyslog import RSYSLOG_CONF, RSYSLOG_DIR, parse_rsyslog
from auditor.collectors.syslog.syslog_ng import SYSLOG_NG_CONF, SYSLOG_NG_DIR, parse_syslog_ng
from auditor.models import SystemFacts
from auditor.transports.base import Command, Transport, cmd

__all__ = [
    "IS_ACTIVE",
    "LIST_LOGROTATE",
    "LIST_RSYSLOG",
    "LIST_SYSLOG_NG",
    "LOGROTATE_CONF",
    "LOGROTATE_DIR",
    "RSYSLOG_CONF",
    "RSYSLOG_DIR",
    "SYSLOG_NG_CONF",
    "SYSLOG_NG_DIR",
    "UNITS",
    "UPLOAD_CONFIG",
    "Daemon",
    "Forward",
    "Rotation",
    "SyslogFacts",
    "collect",
    "parse_journal_upload",
    "parse_logrotate",
    "parse_rsyslog",
    "parse_syslog_ng",
    "requests",
    "rotation_for",
]

UNITS = ("rsyslog.service", "syslog-ng.service", "systemd-journal-upload.service")
IS_ACTIVE = cmd("systemctl", "is-active", *UNITS)
UPLOAD_CONFIG = cmd("systemd-analyze", "cat-config", "systemd/journal-upload.conf")


def _listing(folder: str, *name: str) -> Command:
    # -L: a symlinked drop-in counts, as it does for the daemon; argv only, the glob never meets a shell.
    return cmd("find", "-L", folder, "-mindepth", "1", "-maxdepth", "1", "-type", "f", *name)


LIST_RSYSLOG = _listing(RSYSLOG_DIR, "-name", "*.conf")
LIST_SYSLOG_NG = _listing(SYSLOG_NG_DIR, "-name", "*.conf")
LIST_LOGROTATE = _listing(LOGROTATE_DIR)


def requests(system: SystemFacts) -> Requests:
    if system.platform in NATIVE:
        return (), ()  # Windows and macOS have no rsyslog or syslog-ng: their own log is read by journald
    return ((IS_ACTIVE, UPLOAD_CONFIG, LIST_RSYSLOG, LIST_SYSLOG_NG, LIST_LOGROTATE),
            (RSYSLOG_CONF, SYSLOG_NG_CONF, LOGROTATE_CONF))


def collect(host: Transport, system: SystemFacts) -> SyslogFacts:
    if system.platform in NATIVE:
        return SyslogFacts(logrotate="not used on this platform")
    state = host.run(IS_ACTIVE)
    states = dict(zip(UNITS, state.stdout.split(), strict=False)) if state.stdout.strip() else {}
    state_problem = "" if states else state.failure()
    listings = {folder: host.run(command) for folder, command in
                ((RSYSLOG_DIR, LIST_RSYSLOG), (SYSLOG_NG_DIR, LIST_SYSLOG_NG), (LOGROTATE_DIR, LIST_LOGROTATE))}
    listed = {folder: sorted(result.stdout.split()) for folder, result in listings.items()}
    # A folder that exists but could not be listed (find: Permission denied) hides drop-ins: say so.
    unlisted = {folder: f"{folder} could not be listed: {result.failure()}" for folder, result in listings.items()
                if not result.ok and "No such file or directory" not in result.stderr}
    mains = dict(zip((RSYSLOG_CONF, SYSLOG_NG_CONF, LOGROTATE_CONF),
                     host.read_many([RSYSLOG_CONF, SYSLOG_NG_CONF, LOGROTATE_CONF]), strict=True))
    wanted = [p for main, folder in ((RSYSLOG_CONF, RSYSLOG_DIR), (SYSLOG_NG_CONF, SYSLOG_NG_DIR),
                                     (LOGROTATE_CONF, LOGROTATE_DIR)) if mains[main].exists for p in listed[folder]]
    texts: dict[str, str] = {}
    unreadable: dict[str, str] = {}
    for content in [*mains.values(), *host.read_many(wanted)]:  # one follow-up batch for every drop-in
        if content.exists and not content.error:
            texts[content.path] = content.text
        elif content.exists:
            unreadable[content.path] = content.error

    daemons: dict[str, Daemon] = {}
    for name, main, folder, parse in (("rsyslog", RSYSLOG_CONF, RSYSLOG_DIR, parse_rsyslog),
                                      ("syslog-ng", SYSLOG_NG_CONF, SYSLOG_NG_DIR, parse_syslog_ng)):
        if not mains[main].exists:
            continue
        files = [main, *listed[folder]]
        daemon = parse({p: texts[p] for p in files if p in texts}, main)
        problems = (tuple(f"{p}: {unreadable[p]}" for p in files if p in unreadable)
                    + ((unlisted[folder],) if folder in unlisted else ()) + daemon.problems)
        daemons[name] = replace(daemon, state=states.get(f"{name}.service", ""), problems=problems,
                                state_problem=state_problem if f"{name}.service" not in states else "")
    upload = host.run(UPLOAD_CONFIG)
    first = upload.stdout.strip().splitlines()[:1]
    if upload.ok and first and not first[0].endswith("not found"):  # "# Main configuration file ... not found"
        daemons["systemd-journal-upload"] = replace(
            parse_journal_upload(upload.stdout), state=states.get(UNITS[2], ""),
            state_problem=state_problem if UNITS[2] not in states else "")

    logrotate = "present" if LOGROTATE_CONF in texts else unreadable.get(LOGROTATE_CONF, "absent")
    hidden = [f"{p}: {unreadable[p]}" for p in listed[LOGROTATE_DIR] if p in unreadable]
    hidden += [unlisted[LOGROTATE_DIR]] if LOGROTATE_DIR in unlisted else []
    if logrotate == "present" and hidden:
        # The rule for a file may be in what could not be read: its retention is unknown, never "not rotated".
        logrotate = f"not all of logrotate's configuration could be read ({'; '.join(hidden)})"
    rules = parse_logrotate(texts, LOGROTATE_CONF, listed[LOGROTATE_DIR]) if LOGROTATE_CONF in texts else []
    rotations = {path: rotation_for(path, rules) for d in daemons.values() for path in d.log_files}
    return SyslogFacts(daemons, rotations, logrotate)
