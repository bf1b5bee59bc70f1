"""macOS facts for every collector but disk (see disk_native.py). Property lists are read with plistlib; the
few tools that only print text (socketfilterfw, sysadminctl, scutil, lsof, ifconfig) print fixed English."""

from __future__ import annotations

import plistlib
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from auditor.collectors.antimalware import MacosXProtect
from auditor.collectors.backup import BackupJob, MacosTimeMachine
from auditor.collectors.listeners import Listener, ListenerFacts
from auditor.collectors.native_facts import MacosAuditTrail, MacosFirewall, MacosUnifiedLog
from auditor.collectors.network import Address, Interface, NetworkFacts, Route
from auditor.collectors.screenlock import DesktopLock, LockSetting, ScreenlockFacts
from auditor.collectors.timesync import TimeSyncFacts
from auditor.collectors.updates import PendingUpdate, UpdatesFacts
from auditor.collectors.vpn import VpnFacts, VpnProfile
from auditor.models import SystemFacts
from auditor.transports.base import Command, CommandResult, FileContent, Transport, cmd

LOG_CONFIG = cmd("log", "config", "--status")
MDM = cmd("profiles", "status", "-type", "enrollment")
PROCESSES = cmd("ps", "-axco", "comm")
NETWORK_TIME = cmd("systemsetup", "-getusingnetworktime", sudo=True)
SNTP = cmd("sntp", "-t", "5", "time.apple.com")
IFCONFIG = cmd("ifconfig")
ROUTES = cmd("netstat", "-rn", "-f", "inet")
SCUTIL_NC = cmd("scutil", "--nc", "list")
APPS = ("/Applications/WireGuard.app", "/Applications/OpenVPN Connect.app", "/Applications/Tunnelblick.app",
        "/Applications/Cisco/Cisco Secure Client.app",
        "/Applications/Cisco/Cisco AnyConnect Secure Mobility Client.app",
        "/Applications/GlobalProtect.app", "/Applications/FortiClient.app")
APP_PROBE = cmd("stat", "-f", "%N", *APPS)
SOCKETFILTERFW = "/usr/libexec/ApplicationFirewall/socketfilterfw"
FW_STATE = cmd(SOCKETFILTERFW, "--getglobalstate")
FW_STEALTH = cmd(SOCKETFILTERFW, "--getstealthmode")
LSOF = cmd("lsof", "+c", "0", "-nP", "-iTCP", "-sTCP:LISTEN", sudo=True)
SCREEN_LOCK = cmd("sysadminctl", "-screenLock", "status")
IDLE_TIME = cmd("defaults", "-currentHost", "read", "com.apple.screensaver", "idleTime")
PMSET = cmd("pmset", "-g")
MANAGED_SCREENSAVER = "/Library/Managed Preferences/com.apple.screensaver.plist"
SOFTWAREUPDATE = cmd("softwareupdate", "--list", timeout=300)
SOFTWAREUPDATE_PREFS = "/Library/Preferences/com.apple.SoftwareUpdate.plist"
HOST_TIME = cmd("date", "+%s %z")
TM_LATEST = cmd("tmutil", "latestbackup")
TM_DESTINATIONS = cmd("tmutil", "destinationinfo", "-X")
TM_PREFS = "/Library/Preferences/com.apple.TimeMachine.plist"
XPROTECT = "/Library/Apple/System/Library/CoreServices/XProtect.bundle/Contents/Info.plist"
XPROTECT_MTIME = cmd("stat", "-f", "%m", XPROTECT)
SPCTL = cmd("spctl", "--status")

# Process names of endpoint agents that keep their own audit trail (EDR) or manage the Mac (MDM).
AGENTS = {"falcond": "CrowdStrike Falcon", "com.crowdstrike.falcon.Agent": "CrowdStrike Falcon",
          "SentinelAgent": "SentinelOne", "wdavdaemon": "Microsoft Defender for Endpoint",
          "JamfDaemon": "Jamf Pro", "jamf": "Jamf Pro", "osqueryd": "osquery", "elastic-endpoint": "Elastic Defend",
          "Kandji Daemon": "Kandji", "Addigy": "Addigy"}
CLIENT_PROCESSES = {"WireGuardNetworkExtension": "WireGuard", "openvpn": "OpenVPN", "ovpnagent": "OpenVPN Connect",
                    "vpnagentd": "Cisco Secure Client", "PanGPS": "GlobalProtect", "FortiClient": "FortiClient"}
_NC = re.compile(r'^\*?\s*\((?P<status>[^)]*)\)\s+(?P<id>[0-9A-Fa-f-]{36})\s+(?P<type>.*?)\s+"(?P<name>[^"]*)"'
                 r'\s*\[(?P<kind>[^\]]*)\]')
_NC_KINDS = (("wireguard", "wireguard"), ("openvpn", "openvpn"), ("tunnelblick", "openvpn"), ("ikev2", "ikev2"),
             ("ipsec", "ipsec"), ("l2tp", "l2tp"), ("anyconnect", "anyconnect"), ("cisco", "anyconnect"),
             ("globalprotect", "globalprotect"), ("forti", "forticlient"))


_NOTHING_NEW = "No new software available."


def _lines(result: CommandResult) -> str:
    return (result.stdout + "\n" + result.stderr).strip()


def _plist(content: FileContent | str) -> dict[str, Any]:
    data = content.encode() if isinstance(content, str) else content.data
    try:
        loaded = plistlib.loads(data)
    except (plistlib.InvalidFileException, ValueError, TypeError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def auditd(host: Transport, _: SystemFacts) -> MacosAuditTrail:
    config, mdm, processes = host.run_many([LOG_CONFIG, MDM, PROCESSES])
    names = set(processes.stdout.split("\n")) if processes.ok else set()
    agents = tuple(dict.fromkeys(label for proc, label in AGENTS.items() if proc in names))
    enrolled = tuple(f"MDM: {line.strip()}" for line in mdm.stdout.splitlines() if "MDM enrollment: Yes" in line)
    return MacosAuditTrail(_lines(config) if config.ok else f"unknown ({config.failure()})", agents + enrolled)


def journald(host: Transport, _: SystemFacts) -> MacosUnifiedLog:
    config = host.run(LOG_CONFIG)
    return MacosUnifiedLog(config.ok, "" if config.ok else config.failure())


def timesync(host: Transport, _: SystemFacts) -> TimeSyncFacts:
    network_time, sntp = host.run_many([NETWORK_TIME, SNTP])
    return parse_timesync(network_time, sntp)


def parse_timesync(network_time: CommandResult, sntp: CommandResult) -> TimeSyncFacts:
    """`systemsetup -getusingnetworktime` ("Network Time: On") and sntp's measured offset."""
    enabled = {"on": True, "off": False}.get(m.group(1).lower()) if (
        m := re.search(r"Network Time:\s*(On|Off)", network_time.stdout, re.I)) else None
    offset = re.search(r"^([+-]\d+\.\d+)\s", sntp.stdout, re.M) if sntp.ok else None
    details = {"network_time": network_time.stdout.strip() or network_time.failure(),
               "sntp": sntp.stdout.strip() or sntp.failure()}
    unavailable = {} if enabled is not None else {"systemsetup": network_time.failure()}
    if offset:
        return TimeSyncFacts(abs(float(offset.group(1))) < 1.0, "sntp", enabled, details, unavailable)
    unavailable["sntp"] = sntp.failure()
    return TimeSyncFacts(None, "systemsetup" if enabled is not None else "", enabled, details, unavailable)


def network(host: Transport, _: SystemFacts) -> NetworkFacts:
    ifconfig, routes = host.run_many([IFCONFIG, ROUTES])
    unavailable = {name: r.failure() for name, r in (("ifconfig", ifconfig), ("netstat", routes)) if not r.ok}
    return NetworkFacts(parse_ifconfig(ifconfig.stdout), parse_netstat_routes(routes.stdout), (), unavailable)


def parse_ifconfig(text: str) -> tuple[Interface, ...]:
    """`ifconfig`: utun/ipsec/ppp are tunnels. Link-local IPv6 is dropped on tunnels: macOS keeps utun0-3 for its
    own services (iCloud, Continuity) with only fe80:: addresses, which are no VPN."""
    interfaces: list[Interface] = []
    for block in re.split(r"^(?=\S)", text, flags=re.M):
        head = re.match(r"^([\w.]+): flags=\w+<([^>]*)>", block)
        if not head:
            continue
        name, flags = head.group(1), tuple(head.group(2).split(","))
        kind = "tun" if name.startswith(("utun", "ipsec", "ppp", "tap", "tun")) else ""
        addresses = []
        for family, local, rest in re.findall(r"^\s+(inet6?) (\S+)(.*)$", block, re.M):
            local = local.split("%")[0]
            if kind and local.lower().startswith("fe80"):
                continue
            prefix = re.search(r"prefixlen (\d+)", rest)
            addresses.append(Address(family, local, int(prefix.group(1)) if prefix else 32))
        linux_flags = flags + (("LOWER_UP",) if "RUNNING" in flags else ())
        interfaces.append(Interface(name, kind, "none" if kind else "ether", linux_flags,
                                    "UP" if "UP" in flags else "DOWN", tuple(addresses)))
    return tuple(interfaces)


def parse_netstat_routes(text: str) -> tuple[Route, ...]:
    """`netstat -rn -f inet`: Destination Gateway Flags Netif; "0/1" and "128.0/1" are a full-tunnel VPN's halves."""
    names = {"default": "default", "0/1": "0.0.0.0/1", "128.0/1": "128.0.0.0/1"}
    routes: list[Route] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] in names:
            routes.append(Route(names[fields[0]], fields[3], "inet", "main", fields[1], len(routes)))
    return tuple(routes)


def vpn(host: Transport, _: SystemFacts) -> VpnFacts:
    nc, apps, processes = host.run_many([SCUTIL_NC, APP_PROBE, PROCESSES])
    installed = {path.rsplit("/", 1)[-1].removesuffix(".app"): path for path in apps.stdout.splitlines() if path}
    names = set(processes.stdout.split("\n"))
    running = {proc: client for proc, client in CLIENT_PROCESSES.items() if proc in names}
    unavailable = {} if nc.ok else {"scutil": nc.failure()}
    return VpnFacts(installed, parse_scutil_nc(nc.stdout), running, "", unavailable)


def parse_scutil_nc(text: str) -> tuple[VpnProfile, ...]:
    """`scutil --nc list`: one line per VPN service: * (Status) UUID Type "Name" [Kind]."""
    profiles = []
    for line in text.splitlines():
        match = _NC.match(line.strip())
        if match:
            kind_text = f"{match.group('type')} {match.group('kind')}".lower()
            kind = next((k for key, k in _NC_KINDS if key in kind_text), "vpn")
            profiles.append(VpnProfile(kind, match.group("name"), "macos", True, match.group("status") == "Connected",
                                       {"service": match.group("kind")}))
    return tuple(profiles)


def firewall(host: Transport, _: SystemFacts) -> MacosFirewall:
    state, stealth = host.run_many([FW_STATE, FW_STEALTH])
    if not state.ok:
        return MacosFirewall(unavailable={"socketfilterfw": state.failure()})
    return parse_socketfilterfw(state.stdout, stealth.stdout)


def parse_socketfilterfw(state: str, stealth: str) -> MacosFirewall:
    """--getglobalstate "(State = 0|1|2)" (2: block all but essential services) and --getstealthmode."""
    number = int(m.group(1)) if (m := re.search(r"State = (\d)", state)) else (1 if "enabled" in state else 0)
    stealth_on = bool(re.search(r"stealth mode (is on|enabled)", stealth, re.I)) if stealth.strip() else None
    return MacosFirewall(number >= 1, "block all" if number == 2 else "per application", stealth_on, state.strip())


def listeners(host: Transport, system: SystemFacts) -> ListenerFacts:
    result = host.run(LSOF)
    if not result.ok and result.stdout.strip() == "" and result.exit_status != 1:
        return ListenerFacts((), False, False, {"lsof": result.failure()})
    found = parse_lsof(result.stdout)
    hidden = not system.is_root
    return ListenerFacts(found, True, hidden, {"lsof": "without root, lsof lists only this user's sockets"}
                         if hidden else {})


def parse_lsof(text: str) -> tuple[Listener, ...]:
    """`lsof +c 0 -nP -iTCP -sTCP:LISTEN`: COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME."""
    found = []
    for line in text.splitlines()[1:]:
        match = re.match(r"^(?P<cmd>.+?)\s+\d+\s+\S+\s+\S+\s+(?P<type>IPv[46])\s+.*?\s(?P<name>\S+)\s+\(LISTEN\)$",
                         line)
        if not match:
            continue
        host, _, port = match.group("name").rpartition(":")
        host = host.strip("[]")
        if host == "*":
            host = "::" if match.group("type") == "IPv6" else "0.0.0.0"
        found.append(Listener("tcp", host, int(port), "", (match.group("cmd").replace("\\x20", " "),)))
    return tuple(dict.fromkeys(found))


def screenlock(host: Transport, _: SystemFacts) -> ScreenlockFacts:
    lock, idle, pmset = host.run_many([SCREEN_LOCK, IDLE_TIME, PMSET])
    managed = host.read_file(MANAGED_SCREENSAVER)
    return parse_screenlock(_lines(lock), idle.stdout if idle.ok else "", pmset.stdout,
                            _plist(managed) if managed.exists else {})


def parse_screenlock(lock: str, idle: str, pmset: str, managed: dict[str, Any]) -> ScreenlockFacts:
    """sysadminctl's lock delay, the screen saver's idle time, display sleep, and any MDM-managed values."""
    off = "screenLock is off" in lock
    delay = 0 if "immediate" in lock else (int(m.group(1)) if (m := re.search(r"delay is (\d+) seconds", lock))
                                           else None)
    sleep = int(m.group(1)) * 60 if (m := re.search(r"^\s*displaysleep\s+(\d+)", pmset, re.M)) else None
    saver = int(idle.strip()) if idle.strip().isdigit() else None
    candidates = [s for s in (saver, sleep) if s]
    user = LockSetting("user:scanning user", "sysadminctl -screenLock, com.apple.screensaver idleTime, pmset",
                       min(candidates) if candidates else None, None if not lock else not off, delay)
    system = LockSetting("system", "no configuration profile")
    if managed:
        system = LockSetting("system", f"configuration profile ({MANAGED_SCREENSAVER})", _int(managed.get("idleTime")),
                             bool(managed.get("askForPassword", True)), _int(managed.get("askForPasswordDelay")),
                             tuple(k for k, key in (("idle", "idleTime"), ("enabled", "askForPassword"),
                                                    ("grace", "askForPasswordDelay")) if key in managed))
    return ScreenlockFacts(("macos",), locks=(DesktopLock("macos", (1200, True, 0), (system, user)),))


def updates(host: Transport, _: SystemFacts) -> UpdatesFacts:
    listing, now = host.run_many([SOFTWAREUPDATE, HOST_TIME])
    prefs = _plist(host.read_file(SOFTWAREUPDATE_PREFS))
    checked = prefs.get("LastSuccessfulDate")
    checked_at = int(checked.replace(tzinfo=checked.tzinfo or UTC).timestamp()) \
        if isinstance(checked, datetime) else None
    host_time = parse_host_time(now.stdout)[0]
    # Since macOS 10.15.7 an empty listing may exit 1 with "No new software available." on stderr: a finished search.
    if not listing.ok and not (listing.exit_status == 1 and _NOTHING_NEW in _lines(listing)):
        return UpdatesFacts("softwareupdate", False, (), checked_at, SOFTWAREUPDATE_PREFS, host_time,
                            listing.failure())
    return UpdatesFacts("softwareupdate", True, parse_softwareupdate(_lines(listing)), checked_at,
                        f"{SOFTWAREUPDATE_PREFS} LastSuccessfulDate", host_time)


def parse_softwareupdate(text: str) -> tuple[PendingUpdate, ...]:
    """`softwareupdate --list`: "* Label: X" then "Title: ..., Version: ..., Recommended: YES, ...". Apple ships
    security fixes inside every macOS, Safari and background-security update, so recommended ones count."""
    updates = []
    for label, details in re.findall(r"^\* Label: (.+)\n\s*(.*)$", text, re.M):
        fields = dict(part.strip().split(": ", 1) for part in details.split(",") if ": " in part)
        updates.append(PendingUpdate(fields.get("Title", label), fields.get("Version", ""), "Apple software update",
                                     fields.get("Recommended", "").upper() == "YES"))
    return tuple(updates)


def parse_host_time(text: str) -> tuple[int | None, int]:
    """`date "+%s %z"` -> (epoch seconds, UTC offset in seconds)."""
    parts = text.split()
    if not parts or not parts[0].isdigit():
        return None, 0
    zone = parts[1] if len(parts) > 1 and re.fullmatch(r"[+-]\d{4}", parts[1]) else "+0000"
    sign = -1 if zone[0] == "-" else 1
    return int(parts[0]), sign * (int(zone[1:3]) * 3600 + int(zone[3:]) * 60)


def backup(host: Transport, _: SystemFacts, backup_marker_paths: Sequence[str] = ()) -> MacosTimeMachine:
    latest, destinations, now = host.run_many([TM_LATEST, TM_DESTINATIONS, HOST_TIME])
    host_time, offset = parse_host_time(now.stdout)
    prefs = _plist(host.read_file(TM_PREFS))
    notes = [latest.failure()] if not latest.ok and not latest.not_found else []
    if backup_marker_paths:
        notes.append("marker files are not read on macOS")
    names = [str(d.get("Name") or d.get("ID")) for d in _plist(destinations.stdout).get("Destinations", [])]
    finished = parse_latest_backup(latest.stdout, offset) if latest.ok else None
    jobs = (BackupJob(f"Time Machine ({', '.join(names) or 'destination unknown'})", "timemachine", "tmutil",
                      "tmutil latestbackup", result="success" if finished else "", finished_at=finished),) \
        if names or finished else ()
    states = [str(d.get("LastKnownEncryptionState", "")) for d in prefs.get("Destinations", [])]
    encryption = "encrypted" if states and all(s == "Encrypted" for s in states) else (
        "not encrypted" if any(s == "NotEncrypted" for s in states) else "unknown")
    return MacosTimeMachine(host_time, ("tmutil",) if not latest.not_found else (), jobs, tuple(notes),
                            {job.name: encryption for job in jobs})


def parse_latest_backup(text: str, utc_offset: int) -> int | None:
    """The snapshot name's local time (…/2026-11-26-093012.backup or …/2026-11-26-093012) -> epoch seconds."""
    match = re.search(r"(\d{4})-(\d{2})-(\d{2})-(\d{2})(\d{2})(\d{2})", text)
    if not match:
        return None
    y, mo, d, h, mi, s = (int(x) for x in match.groups())
    return int(datetime(y, mo, d, h, mi, s, tzinfo=timezone(timedelta(seconds=utc_offset))).timestamp())


def malware(host: Transport, _: SystemFacts) -> MacosXProtect:
    spctl, mtime, now = host.run_many([SPCTL, XPROTECT_MTIME, HOST_TIME])
    info = _plist(host.read_file(XPROTECT))
    version = str(info.get("CFBundleShortVersionString") or info.get("CFBundleVersion") or "")
    gatekeeper = "assessments enabled" in _lines(spctl) if spctl.ok or spctl.stdout else None
    return MacosXProtect(
        gatekeeper, version, int(mtime.stdout.strip()) if mtime.stdout.strip().isdigit() else None,
        parse_host_time(now.stdout)[0], "" if version else f"{XPROTECT} could not be read")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


COLLECT: dict[str, Callable[..., Any]] = {
    "auditd": auditd, "journald": journald, "timesync": timesync, "network": network, "vpn": vpn,
    "firewall": firewall, "listeners": listeners, "screenlock": screenlock, "updates": updates, "backup": backup,
    "antimalware": malware,
}
REQUESTS: dict[str, tuple[Command, ...]] = {
    "auditd": (LOG_CONFIG, MDM, PROCESSES), "journald": (LOG_CONFIG,), "timesync": (NETWORK_TIME, SNTP),
    "network": (IFCONFIG, ROUTES), "vpn": (SCUTIL_NC, APP_PROBE, PROCESSES), "firewall": (FW_STATE, FW_STEALTH),
    "listeners": (LSOF,), "screenlock": (SCREEN_LOCK, IDLE_TIME, PMSET), "updates": (SOFTWAREUPDATE, HOST_TIME),
    "backup": (TM_LATEST, TM_DESTINATIONS, HOST_TIME), "antimalware": (SPCTL, XPROTECT_MTIME, HOST_TIME),
}
