"""Facts about backups: which backup jobs exist, when each last succeeded, and how their repositories are
encrypted, all read without the repository password (the scanner must never hold it).

- systemd: services named like a backup tool or started by a timer; their last run from `systemctl show`
  (Result, ExecMainStatus, ExecMainExitTimestamp) and the timer's LastTriggerUSec. `env TZ=UTC` makes systemd
  print every time stamp in UTC whatever the host's zone, on every systemd version (`--timestamp=unix` needs
  systemd 251+).
- cron: lines mentioning restic or borg in the system crontabs and the spool (cron keeps no success record).
- borg's client-side security directory (~/.config/borg/security/<repo-id>/ for borg 1.x,
  ~/.local/share/borg/security/<repo-id>/ for borg 2): `key-type` holds the key type number (borg's
  KeyType/TYPE constants) and so the encryption mode; `manifest-timestamp` the last manifest write.
- marker files named by the profile (`backup_marker_paths`): their mtime is the last successful backup; when
  a marker holds `restic snapshots --json`, `borg list/info --json` or `borg create --json` output, the newest
  archive time (and borg's encryption mode) inside it is used.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from auditor.collectors.base import Requests, parse_key_values
from auditor.collectors.native import NATIVE, native_collect, native_requests
from auditor.models import SystemFacts
from auditor.records import record
from auditor.transports.base import Command, Transport, cmd

# The runner passes profile parameters named here to requests() and collect() (see the module docstring).
PARAMETERS = ("backup_marker_paths",)

HOST_TIME = cmd("date", "+%s %z")
TIMERS = cmd("systemctl", "list-timers", "--all", "--no-pager", "--no-legend")
BACKUP_WORDS = ("restic", "borg", "backup", "kopia", "duplicity", "duplicati", "rsnapshot", "bacula", "bareos",
                "urbackup", "rdiff")
# Only unit files whose names carry a backup word: with patterns systemd looks up the enablement state of
# those few units alone (10 ms instead of 300 ms for every unit on a Debian 12 host).
UNIT_FILES = cmd("systemctl", "list-unit-files", "--no-pager", "--no-legend", "--type=service,timer",
                 *(f"*{word}*" for word in BACKUP_WORDS))
CRON = cmd("grep", "-rIsE", "restic|borg", "/etc/crontab", "/etc/cron.d", "/etc/cron.hourly", "/etc/cron.daily",
           "/etc/cron.weekly", "/var/spool/cron", sudo=True)
# Below each home (/root, /home/<user>) find walks only .config/borg and .local/share/borg and prunes every
# other folder: a developer's home holds hundreds of thousands of files, and walking them to depth 7 took
# seconds on a laptop (0.12 s on this project's build machine, whose /root holds toolchains), for two paths.
_BORG_HOMES = ("(", "-path", "/root/*", "-o", "-path", "/home/*/*", ")")
_BORG_WAY = ("*/.config", "*/.config/borg", "*/.config/borg/*", "*/.local", "*/.local/share", "*/.local/share/borg",
             "*/.local/share/borg/*")
BORG_SECURITY = cmd("find", "/root", "/home", "-maxdepth", "7",
                    "(", *_BORG_HOMES, *(word for way in _BORG_WAY for word in ("!", "-path", way)), "-prune", ")",
                    "-o", "-path", "*/borg/security/*", "-type", "f", "(",
                    "-name", "key-type", "-o", "-name", "manifest-timestamp", "-o", "-name", "location", ")",
                    "-printf", "%p\t", "-exec", "cat", "{}", ";", "-printf", "\n", sudo=True,
                    replaces=("find /root /home -maxdepth 7 -path '*/borg/security/*' -type f '(' -name key-type -o "
                              "-name manifest-timestamp -o -name location ')' -printf '%p\t' -exec cat '{}' ';' "
                              "-printf '\n'",))
TOOLS = {"/usr/bin/restic": "restic", "/usr/local/bin/restic": "restic", "/usr/bin/borg": "borg",
         "/usr/local/bin/borg": "borg", "/usr/bin/borgmatic": "borgmatic", "/usr/local/bin/borgmatic": "borgmatic"}
TOOL_PROBE = cmd("stat", "-c", "%n", *TOOLS)
_BACKUP_NAME = re.compile("|".join(BACKUP_WORDS), re.IGNORECASE)
SHOW_PROPERTIES = "Id,ExecStart,Result,ExecMainStatus,ExecMainExitTimestamp,ActiveState,Unit,LastTriggerUSec"

_KNOWN_TOOLS = ("borgmatic", "restic", "borg", "kopia", "duplicity", "rsnapshot", "rclone", "rsync", "tar")
# borg's key type byte (src/borg/constants.py KeyType, borg 1.x key classes' TYPE) -> `--encryption` name.
BORG_KEY_TYPES = {
    0: "keyfile", 1: "passphrase", 2: "none", 3: "repokey", 4: "keyfile-blake2", 5: "repokey-blake2",
    6: "authenticated-blake2", 7: "authenticated", 16: "keyfile-aes-ocb", 17: "repokey-aes-ocb",
    32: "keyfile-chacha20-poly1305", 33: "repokey-chacha20-poly1305", 48: "keyfile-blake2-aes-ocb",
    49: "repokey-blake2-aes-ocb", 64: "keyfile-blake2-chacha20-poly1305", 65: "repokey-blake2-chacha20-poly1305",
}


@record
class BackupJob:
    """Attributes:
    name: the systemd unit ("restic-backup.service") or the cron file with its line number.
    tool: the backup program it runs ("restic", "borg", "borgmatic", ...) or "" when it could not be told.
    source: "systemd" or "cron" (on Windows "wbadmin", on macOS "tmutil").
    command: the command line it runs, as systemd or the crontab shows it.
    timer: the timer that starts it, or "".
    result: systemd's Result of the last run ("success", "exit-code", ...) or "" when it did not run/unknown.
    exit_status: the main process's exit status of the last run, None when unknown.
    finished_at: epoch seconds when the last run ended, None when it has not run since boot (or cron).
    triggered_at: epoch seconds when its timer last fired, None when unknown.
    """

    name: str
    tool: str
    source: str
    command: str = ""
    timer: str = ""
    result: str = ""
    exit_status: int | None = None
    finished_at: int | None = None
    triggered_at: int | None = None


@record
class BorgRepo:
    """Attributes:
    security_dir: the client's borg security directory for this repository.
    location: the repository location borg recorded, or "".
    key_type: the number in `key-type`, None when absent or unreadable.
    mode: the `borg init --encryption` name of that key type, "" when unknown.
    manifest_written_at: epoch seconds of the last manifest write (`manifest-timestamp`, UTC), None if unknown.
    """

    security_dir: str
    location: str = ""
    key_type: int | None = None
    mode: str = ""
    manifest_written_at: int | None = None


@record
class MarkerFile:
    """Attributes:
    path: the marker path from the profile.
    modified_at: its mtime in epoch seconds, None when it does not exist or could not be read.
    tool: "restic" or "borg" when its content is that tool's JSON output, else "".
    newest_backup_at: the newest snapshot/archive time inside that JSON, None otherwise.
    encryption_mode: borg's encryption.mode from that JSON, or "".
    problem: why it could not be read, or "".
    """

    path: str
    modified_at: int | None = None
    tool: str = ""
    newest_backup_at: int | None = None
    encryption_mode: str = ""
    problem: str = ""


@record
class BackupFacts:
    """Attributes:
    host_time: the target's clock in epoch seconds (`date +%s`), None when unreadable.
    installed: backup programs installed in the usual paths.
    jobs: backup jobs found in systemd and cron.
    borg_repos: borg repositories this host's clients know (from their security directories).
    markers: the profile's marker files, as read.
    marker_paths_requested: the marker paths this collection was asked to read.
    notes: what could not be read and why, in words.

    Windows and macOS answer with WindowsBackup and MacosTimeMachine instead.
    """

    host_time: int | None
    installed: tuple[str, ...] = ()
    jobs: tuple[BackupJob, ...] = ()
    borg_repos: tuple[BorgRepo, ...] = ()
    markers: tuple[MarkerFile, ...] = ()
    marker_paths_requested: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@record
class WindowsBackup:
    """The `backup` collector on Windows: Windows Server Backup (wbadmin).

    Attributes:
        host_time: the host's clock in epoch seconds, None when unreadable.
        installed: ("wbadmin",) when wbadmin exists.
        jobs: one job for wbadmin's newest backup version, if it has any.
        notes: what could not be read and why, in words.
    """

    host_time: int | None
    installed: tuple[str, ...] = ()
    jobs: tuple[BackupJob, ...] = ()
    notes: tuple[str, ...] = ()


@record
class MacosTimeMachine:
    """The `backup` collector on macOS: Time Machine (tmutil and its preferences).

    Attributes:
        host_time: the host's clock in epoch seconds, None when unreadable.
        installed: ("tmutil",) when tmutil exists.
        jobs: one job for Time Machine's destinations and its latest backup.
        notes: what could not be read and why, in words.
        encryption: job name -> "encrypted", "not encrypted" or "unknown" (the destinations' encryption state).
    """

    host_time: int | None
    installed: tuple[str, ...] = ()
    jobs: tuple[BackupJob, ...] = ()
    notes: tuple[str, ...] = ()
    encryption: Mapping[str, str] = field(default_factory=dict)


def requests(system: SystemFacts, backup_marker_paths: Sequence[str] = ()) -> Requests:
    if system.platform in NATIVE:
        return native_requests("backup", system)
    commands = [HOST_TIME, TIMERS, UNIT_FILES, CRON, BORG_SECURITY, TOOL_PROBE]
    if backup_marker_paths:
        commands.append(_marker_stat(backup_marker_paths))
    return tuple(commands), tuple(backup_marker_paths)


def collect(host: Transport, system: SystemFacts,
            backup_marker_paths: Sequence[str] = ()) -> BackupFacts | WindowsBackup | MacosTimeMachine:
    if system.platform in NATIVE:
        return native_collect(  # type: ignore[no-any-return]
            "backup", host, system, backup_marker_paths=backup_marker_paths)
    notes: list[str] = []
    host_time, offset = parse_host_time(host.run(HOST_TIME).stdout)
    installed = tuple(dict.fromkeys(TOOLS[p.strip()] for p in host.run(TOOL_PROBE).stdout.splitlines()
                                    if p.strip() in TOOLS))
    timers = host.run(TIMERS)
    unit_files = host.run(UNIT_FILES)
    if not timers.ok:
        notes.append(f"systemd timers could not be listed: {timers.failure()}")
    activated = parse_list_timers(timers.stdout) if timers.ok else {}
    names = [u for u in parse_unit_files(unit_files.stdout) if _BACKUP_NAME.search(u)] if unit_files.ok else []
    units = list(dict.fromkeys([*names, *activated.values(), *activated]))
    jobs: list[BackupJob] = []
    if units:
        show = host.run(show_command(units))
        jobs.extend(parse_systemctl_show(show.stdout, activated, names))
    cron = host.run(CRON)
    jobs.extend(parse_cron(cron.stdout))
    repos = parse_borg_security(host.run(BORG_SECURITY).stdout)
    markers = collect_markers(host, backup_marker_paths, offset)
    return BackupFacts(host_time, installed, tuple(jobs), repos, markers, tuple(backup_marker_paths), tuple(notes))


def collect_markers(host: Transport, paths: Sequence[str], utc_offset: int) -> tuple[MarkerFile, ...]:
    """Stat and read each marker file; JSON from restic or borg inside it is parsed."""
    if not paths:
        return ()
    stat = host.run(_marker_stat(paths))
    mtimes = {path: int(value) for value, _, path in (line.partition(" ") for line in stat.stdout.splitlines())
              if value.isdigit()}
    markers = []
    for content in host.read_many(list(paths)):
        if content.path not in mtimes:
            why = content.error or ("does not exist" if not content.exists else "its mtime could not be read")
            markers.append(MarkerFile(content.path, problem=why))
            continue
        tool, newest, mode = parse_backup_json(content.text, utc_offset) if content.exists else ("", None, "")
        markers.append(MarkerFile(content.path, mtimes[content.path], tool, newest, mode))
    return tuple(markers)


def show_command(units: Sequence[str]) -> Command:
    """`systemctl show` of the candidate units, with every time stamp printed in UTC."""
    return cmd("env", "TZ=UTC", "systemctl", "show", "-p", SHOW_PROPERTIES, *units)


def _marker_stat(paths: Sequence[str]) -> Command:
    return cmd("stat", "-c", "%Y %n", "--", *paths, sudo=True)


def parse_host_time(text: str) -> tuple[int | None, int]:
    """`date '+%s %z'` -> (epoch seconds, UTC offset in seconds)."""
    parts = text.split()
    epoch = int(parts[0]) if parts and parts[0].lstrip("-").isdigit() else None
    offset = 0
    if len(parts) > 1 and re.fullmatch(r"[+-]\d{4}", parts[1]):
        sign = -1 if parts[1][0] == "-" else 1
        offset = sign * (int(parts[1][1:3]) * 3600 + int(parts[1][3:5]) * 60)
    return epoch, offset


def parse_list_timers(text: str) -> dict[str, str]:
    """`systemctl list-timers --no-legend`: the last two columns are UNIT and ACTIVATES -> {timer: service}."""
    pairs = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[-2].endswith(".timer"):
            pairs[parts[-2]] = parts[-1]
    return pairs


def parse_unit_files(text: str) -> list[str]:
    """`systemctl list-unit-files --no-legend`: the first column of each line."""
    return [line.split()[0] for line in text.splitlines() if line.split() and "." in line.split()[0]]


def parse_systemctl_show(text: str, activated: Mapping[str, str], named: Sequence[str]) -> list[BackupJob]:
    """`systemctl show -p ...` blocks (blank-line separated, TZ=UTC) -> one job per backup service."""
    blocks = [parse_key_values(block) for block in re.split(r"\n\s*\n", text) if block.strip()]
    by_id = {b.get("Id", ""): b for b in blocks}
    timer_of = {service: timer for timer, service in activated.items()}
    jobs = []
    for unit, props in by_id.items():
        if not unit.endswith(".service"):
            continue
        argv = _exec_argv(props.get("ExecStart", ""))
        tool = identify_tool(argv)
        if not tool and unit not in named:
            continue  # a timer-started service that is not a backup (apt-daily, logrotate, ...)
        timer = timer_of.get(unit, "")
        triggered = parse_systemd_time(by_id.get(timer, {}).get("LastTriggerUSec", ""))
        status = props.get("ExecMainStatus", "")
        jobs.append(BackupJob(unit, tool, "systemd", " ".join(argv), timer, props.get("Result", ""),
                              int(status) if status.lstrip("-").isdigit() else None,
                              parse_systemd_time(props.get("ExecMainExitTimestamp", "")), triggered))
    return jobs


def parse_cron(text: str) -> list[BackupJob]:
    """`grep -rIsE 'restic|borg' <cron paths>` (path:line) -> one job per non-comment line."""
    jobs = []
    for line in text.splitlines():
        path, found, entry = line.partition(":")
        entry = entry.strip()
        if found and entry and not entry.startswith("#"):
            tool = identify_tool(entry.split())
            if tool:
                jobs.append(BackupJob(path, tool, "cron", entry))
    return jobs


def parse_borg_security(text: str) -> tuple[BorgRepo, ...]:
    """`find ... -printf '%p\\t' -exec cat {} ; -printf '\\n'` over borg security dirs -> one repo per dir."""
    dirs: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        path, found, value = line.partition("\t")
        directory, _, name = path.rpartition("/")
        if found and name in ("key-type", "manifest-timestamp", "location"):
            dirs.setdefault(directory, {})[name] = value.strip()
    repos = []
    for directory, files in sorted(dirs.items()):
        raw = files.get("key-type", "")
        key_type = int(raw) if raw.isdigit() else None
        mode = BORG_KEY_TYPES.get(key_type, "") if key_type is not None else ""
        repos.append(BorgRepo(directory, files.get("location", ""), key_type, mode,
                              parse_iso_time(files.get("manifest-timestamp", ""), 0)))
    return tuple(repos)


def parse_backup_json(text: str, utc_offset: int) -> tuple[str, int | None, str]:
    """restic `snapshots --json` or borg `list/info/create --json` -> (tool, newest backup epoch, borg mode)."""
    try:
        data: Any = json.loads(text)
    except ValueError:
        return "", None, ""
    if isinstance(data, list) and all(isinstance(s, dict) and "time" in s and "tree" in s for s in data):
        times = [parse_iso_time(str(s["time"]), utc_offset) for s in data]
        return "restic", max((t for t in times if t is not None), default=None), ""
    if isinstance(data, dict) and ("archives" in data or "archive" in data):
        archives = data.get("archives") or [data.get("archive") or {}]
        stamps = [parse_iso_time(str(a.get(k, "")), utc_offset) for a in archives if isinstance(a, dict)
                  for k in ("end", "time", "start")]
        mode = data.get("encryption", {}).get("mode", "") if isinstance(data.get("encryption"), dict) else ""
        return "borg", max((t for t in stamps if t is not None), default=None), str(mode)
    return "", None, ""


def borg_cipher(mode: str) -> str:
    """The cipher behind a borg encryption mode: aes-256-ctr, aes-256-ocb, chacha20-poly1305 or none."""
    if not mode:
        return ""
    if mode == "none" or mode.startswith("authenticated"):
        return "none"
    if "chacha20" in mode:
        return "chacha20-poly1305"
    return "aes-256-ocb" if "aes-ocb" in mode else "aes-256-ctr"


def identify_tool(argv: Sequence[str]) -> str:
    """The backup program a command line runs: the first known program name among its words."""
    names = [word.rsplit("/", 1)[-1] for word in argv]
    return next((tool for name in names for tool in _KNOWN_TOOLS if name == tool), "")


def parse_systemd_time(text: str) -> int | None:
    """systemd time stamps under TZ=UTC ("Thu 2026-11-26 10:00:03 UTC") or "@epoch"; "", "n/a" -> None."""
    text = text.strip()
    if text.startswith("@") and text[1:].isdigit():
        return int(text[1:])
    match = re.fullmatch(r"\w{3} (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC", text)
    if not match:
        return None
    return int(datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp())


def parse_iso_time(text: str, utc_offset: int) -> int | None:
    """ISO 8601 time; one without a zone (borg 1.x) is read in the host's zone (`utc_offset` seconds)."""
    try:
        # Python before 3.11 cannot read restic's nanoseconds: keep microseconds.
        value = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text.strip().replace("Z", "+00:00")))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone(timedelta(seconds=utc_offset)))
    return int(value.timestamp())


def _exec_argv(value: str) -> list[str]:
    """systemd's ExecStart={ path=... ; argv[]=/usr/bin/restic backup ... ; ... } -> the argv words."""
    match = re.search(r"argv\[\]=(.*?) ;", value)
    if not match:
        return []
    try:
        return shlex.split(match[1])  # systemd 255+ quotes each word
    except ValueError:
        return match[1].split()
