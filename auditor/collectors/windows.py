"""Windows facts for every collector but disk (see disk_native.py): PowerShell scripts ending in ConvertTo-Json,
and Windows tools whose answer carries a field, a GUID or a number that no translation changes.

Each script is a constant; nothing from the target is pasted into it. Where only a tool's text exists
(auditpol's setting words, w32tm), the parser reads what is language-independent (GUIDs, the leading number of
w32tm's first two lines) and says when a word could not be understood.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from auditor.collectors.antimalware import Product, WindowsDefender
from auditor.collectors.backup import BackupJob, WindowsBackup
from auditor.collectors.base import parse_key_values
from auditor.collectors.listeners import Listener, ListenerFacts
from auditor.collectors.native_facts import (
    AuditPolicyEntry,
    FirewallProduct,
    FirewallProfile,
    WindowsAuditPolicy,
    WindowsFirewall,
    WindowsSecurityLog,
)
from auditor.collectors.network import Address, Interface, NetworkFacts, Route
from auditor.collectors.powershell import as_list, decode_output, enum_name, json_object, ps
from auditor.collectors.screenlock import DesktopLock, LockSetting, ScreenlockFacts
from auditor.collectors.timesync import TimeSyncFacts
from auditor.collectors.updates import PendingUpdate, UpdatesFacts
from auditor.collectors.vpn import VpnFacts, VpnProfile
from auditor.errors import FactMissing
from auditor.models import SystemFacts
from auditor.transports.base import Command, CommandResult, Transport, cmd

AUDITPOL = cmd("auditpol", "/get", "/category:*", "/r", sudo=True)
WEVTUTIL = cmd("wevtutil", "gl", "Security", sudo=True)
SECURITY_OLDEST = ps(
    "$e = Get-WinEvent -LogName Security -MaxEvents 1 -Oldest -ErrorAction SilentlyContinue; "
    "[pscustomobject]@{Now=[DateTimeOffset]::UtcNow.ToUnixTimeSeconds(); "
    "Oldest=$(if ($e) { ([DateTimeOffset]$e.TimeCreated).ToUnixTimeSeconds() } else { $null })} | ConvertTo-Json",
    timeout=120)
W32TM = cmd("w32tm", "/query", "/status")
NETWORK = ps(
    "[pscustomobject]@{Adapters=@(Get-NetAdapter -IncludeHidden | Select-Object Name,InterfaceDescription,Status,"
    "ifIndex); Addresses=@(Get-NetIPAddress | Select-Object InterfaceAlias,IPAddress,PrefixLength,AddressFamily); "
    "Routes=@(Get-NetRoute -DestinationPrefix '0.0.0.0/0','0.0.0.0/1','128.0.0.0/1' -ErrorAction SilentlyContinue "
    "| Select-Object DestinationPrefix,InterfaceAlias,NextHop,RouteMetric,"
    "@{n='InterfaceMetric';e={(Get-NetIPInterface -InterfaceIndex $_.ifIndex -AddressFamily IPv4).InterfaceMetric}})"
    "} | ConvertTo-Json -Depth 3")
VPN = ps(
    "$names='WireGuardManager','WireGuardTunnel*','OpenVPNService*','OpenVPNServiceInteractive','ovpnagent',"
    "'csc_vpnagent','vpnagent','PanGPS','FA_Scheduler','FortiSslVpnDaemon'; "
    "[pscustomobject]@{Connections=@(@(Get-VpnConnection) + @(Get-VpnConnection -AllUserConnection) | "
    "Select-Object Name,TunnelType,EncryptionLevel,AuthenticationMethod,SplitTunneling,ConnectionStatus,"
    "AllUserConnection); Services=@(Get-Service -Name $names -ErrorAction SilentlyContinue | "
    "Select-Object Name,DisplayName,Status); Processes=@(Get-Process | Select-Object -ExpandProperty ProcessName "
    "-Unique)} | ConvertTo-Json -Depth 3")
# Windows Defender Firewall's profiles and the firewalls registered with Windows Security Center, in one run.
# root/SecurityCenter2 exists on client Windows only: on Windows Server the query fails and ProductsError says why.
FIREWALL = ps(
    "$p=@(); $pe=$null; try { $p=@(Get-NetFirewallProfile -PolicyStore ActiveStore -ErrorAction Stop | "
    "Select-Object Name,Enabled,DefaultInboundAction,DefaultOutboundAction) } catch { $pe=$_.Exception.Message }; "
    "$fw=@(); $fe=$null; try { $fw=@(Get-CimInstance -Namespace root/SecurityCenter2 -ClassName FirewallProduct "
    "-ErrorAction Stop | Select-Object displayName,productState) } catch { $fe=$_.Exception.Message }; "
    "[pscustomobject]@{Profiles=$p; ProfilesError=$pe; Products=$fw; ProductsError=$fe} | ConvertTo-Json -Depth 3")
# What FIREWALL asked before Security Center was read: runs recorded then hold only this answer.
FIREWALL_PROFILES = ps("Get-NetFirewallProfile -PolicyStore ActiveStore | Select-Object Name,Enabled,"
                       "DefaultInboundAction,DefaultOutboundAction | ConvertTo-Json")
LISTENERS = ps(
    "$p=@{}; Get-Process | ForEach-Object { $p[[string]$_.Id]=$_.ProcessName }; "
    "[pscustomobject]@{Tcp=@(Get-NetTCPConnection -State Listen -ErrorAction SilentlyContinue | "
    "Select-Object LocalAddress,LocalPort,OwningProcess); Udp=@(Get-NetUDPEndpoint -ErrorAction SilentlyContinue | "
    "Select-Object LocalAddress,LocalPort,OwningProcess); Processes=$p} | ConvertTo-Json -Depth 3")
SCREENLOCK = ps(
    "function v($k,$n) { try { (Get-ItemProperty -Path $k -Name $n -ErrorAction Stop).$n } catch { $null } }; "
    "$m='HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System'; "
    "$g='HKCU:\\Software\\Policies\\Microsoft\\Windows\\Control Panel\\Desktop'; $u='HKCU:\\Control Panel\\Desktop'; "
    "[pscustomobject]@{User=$env:USERNAME; InactivityTimeoutSecs=(v $m 'InactivityTimeoutSecs'); "
    "PolicyScreenSaveActive=(v $g 'ScreenSaveActive'); PolicyScreenSaveTimeOut=(v $g 'ScreenSaveTimeOut'); "
    "PolicyScreenSaverIsSecure=(v $g 'ScreenSaverIsSecure'); ScreenSaveActive=(v $u 'ScreenSaveActive'); "
    "ScreenSaveTimeOut=(v $u 'ScreenSaveTimeOut'); ScreenSaverIsSecure=(v $u 'ScreenSaverIsSecure')} "
    "| ConvertTo-Json")
UPDATES = ps(
    "$last=$null; try { $last=([DateTimeOffset](New-Object -ComObject Microsoft.Update.AutoUpdate).Results."
    "LastSearchSuccessDate).ToUnixTimeSeconds() } catch {}; $pending=@(); $err=$null; "
    "try { $s=(New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher(); $s.Online=$false; "
    "$r=$s.Search(\"IsInstalled=0 and IsHidden=0 and Type='Software'\"); $pending=@($r.Updates | ForEach-Object { "
    "[pscustomobject]@{Title=$_.Title; KB=@($_.KBArticleIDs); Severity=$_.MsrcSeverity; "
    "Categories=@($_.Categories | ForEach-Object { $_.CategoryID })} }) } catch { $err=$_.Exception.Message }; "
    "$hf=Get-HotFix | Where-Object InstalledOn | Sort-Object InstalledOn -Descending | Select-Object -First 1; "
    "[pscustomobject]@{Now=[DateTimeOffset]::UtcNow.ToUnixTimeSeconds(); LastSearchSuccess=$last; "
    "Pending=$pending; Error=$err; LastHotFix=$hf.HotFixID; LastHotFixInstalled=$(if ($hf) { "
    "([DateTimeOffset]$hf.InstalledOn).ToUnixTimeSeconds() } else { $null })} | ConvertTo-Json -Depth 4",
    timeout=300)
HOST_TIME = ps("[DateTimeOffset]::UtcNow.ToUnixTimeSeconds()")
WBADMIN = cmd("wbadmin", "get", "versions", sudo=True, timeout=60)
DEFENDER = ps(
    "$mp=$null; try { $mp=Get-MpComputerStatus -ErrorAction Stop | Select-Object AMServiceEnabled,AntivirusEnabled,"
    "RealTimeProtectionEnabled,AntivirusSignatureAge,AntivirusSignatureVersion,AMRunningMode,"
    "@{n='SignatureUpdated';e={([DateTimeOffset]$_.AntivirusSignatureLastUpdated).ToUnixTimeSeconds()}} } catch {}; "
    "$av=@(); try { $av=@(Get-CimInstance -Namespace root/SecurityCenter2 -ClassName AntiVirusProduct "
    "-ErrorAction Stop | Select-Object displayName,productState) } catch {}; "
    "[pscustomobject]@{Defender=$mp; Products=$av; Now=[DateTimeOffset]::UtcNow.ToUnixTimeSeconds()} "
    "| ConvertTo-Json -Depth 3")

_SETTINGS = {"no auditing": (False, False), "success": (True, False), "failure": (False, True),
             "success and failure": (True, True)}
# Adapter descriptions of the known VPN clients' virtual adapters.
_TUNNEL_ADAPTERS = re.compile(r"WireGuard|Wintun|TAP-Windows|OpenVPN|AnyConnect|Cisco Secure Client|PANGP|"
                              r"Fortinet|FortiClient|WAN Miniport", re.I)
# Known VPN clients: service or process name (lower-case prefix) -> client.
KNOWN_CLIENTS = {"wireguard": "WireGuard", "openvpn": "OpenVPN", "ovpnagent": "OpenVPN Connect",
                 "csc_vpnagent": "Cisco Secure Client", "vpnagent": "Cisco Secure Client", "vpnui": "Cisco Secure "
                 "Client", "pangps": "GlobalProtect", "pangpa": "GlobalProtect", "fa_scheduler": "FortiClient",
                 "forticlient": "FortiClient", "fortisslvpndaemon": "FortiClient"}
_ACTIONS = {0: "NotConfigured", 2: "Allow", 4: "Block"}
_GPO_BOOL = {0: "False", 1: "True", 2: "NotConfigured"}
SECURITY_CATEGORIES = {"0fa1201d-4330-4fa8-8ae9-b877473b6441": "Security Updates",
                       "e6cf1350-c01b-414d-a61f-263d14d133b4": "Critical Updates"}
_WBADMIN_VERSION = re.compile(r"\b(\d{2})/(\d{2})/(\d{4})-(\d{2}):(\d{2})\b")


def _json(result: CommandResult) -> dict[str, Any]:
    try:
        return json_object(result) if result.ok else {}
    except ValueError:
        return {}


def auditd(host: Transport, _: SystemFacts) -> WindowsAuditPolicy:
    result = host.run(AUDITPOL)
    if not result.ok:
        return WindowsAuditPolicy(problem=result.failure())
    return WindowsAuditPolicy(parse_auditpol(result.stdout))


def parse_auditpol(text: str) -> tuple[AuditPolicyEntry, ...]:
    """`auditpol /get /category:* /r` CSV: Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion..."""
    rows = csv.reader(io.StringIO(decode_output(text)))
    entries = []
    for row in rows:
        if len(row) >= 5 and row[3].startswith("{"):
            success, failure = _SETTINGS.get(row[4].strip().lower(), (None, None))
            entries.append(AuditPolicyEntry(row[3].upper(), row[2], row[4].strip(), success, failure))
    return tuple(entries)


def journald(host: Transport, _: SystemFacts) -> WindowsSecurityLog:
    config, oldest = host.run(WEVTUTIL), host.run(SECURITY_OLDEST)
    times = _json(oldest)
    problem = "" if config.ok else config.failure()
    if oldest.ok and times.get("Oldest") is None:
        problem = "; ".join(p for p in (problem, "the oldest Security event could not be read (needs "
                                                 "administrator rights)") if p)
    return parse_wevtutil(config.stdout, times.get("Oldest"), times.get("Now"), problem)


def parse_wevtutil(text: str, oldest: Any = None, now: Any = None, problem: str = "") -> WindowsSecurityLog:
    """`wevtutil gl Security`: "key: value" lines whose keys are the channel's XML names (never translated)."""
    values = parse_key_values(decode_output(text), ":")
    size = values.get("maxSize", "")
    return WindowsSecurityLog(_bool(values.get("enabled")), int(size) if size.isdigit() else None,
                              _bool(values.get("retention")), _bool(values.get("autoBackup")),
                              oldest if isinstance(oldest, int) else None, now if isinstance(now, int) else None,
                              problem)


def timesync(host: Transport, _: SystemFacts) -> TimeSyncFacts:
    result = host.run(W32TM)
    if not result.ok:
        return TimeSyncFacts(None, "", False, {}, {"w32tm": result.failure() if result.stderr else
                                                   "the Windows Time service (W32Time) is not running"})
    return parse_w32tm(result.stdout)


def parse_w32tm(text: str) -> TimeSyncFacts:
    """`w32tm /query /status`: the first two lines are leap indicator and stratum, each led by a number
    (3 = not synchronised; stratum 0 unspecified, 16 unreachable) that no translation changes. A ReferenceId of
    0x4C4F434C ("LOCL") means W32Time serves its own clock (Source: Local CMOS Clock) with leap 0 and stratum 1,
    which is no synchronisation at all; the hex value is the same in every language."""
    text = decode_output(text)
    lines = [line.partition(":") for line in text.splitlines() if ":" in line]
    numbers = [int(m.group(1)) if (m := re.match(r"\s*(\d+)", value)) else None for _, _, value in lines[:2]]
    details = {key.strip(): value.strip() for key, _, value in lines}
    leap, stratum = [*numbers, None, None][:2]
    local_clock = bool(re.search(r"\b0x4C4F434C\b", text, re.I))
    synced = leap is not None and stratum is not None and leap != 3 and 0 < stratum < 16 and not local_clock
    return TimeSyncFacts(synced, "w32tm", True, details, {})


def network(host: Transport, _: SystemFacts) -> NetworkFacts:
    result = host.run(NETWORK)
    if not result.ok:
        return NetworkFacts(unavailable={"Get-NetAdapter": result.failure()})
    return parse_network(_json(result))


def parse_network(data: Mapping[str, Any]) -> NetworkFacts:
    """Adapters, addresses and default routes -> the neutral interfaces and routes."""
    addresses: dict[str, list[Address]] = {}
    for item in as_list(data.get("Addresses")):
        family = "inet6" if enum_name(item.get("AddressFamily"), {2: "IPv4", 23: "IPv6"}) == "IPv6" else "inet"
        addresses.setdefault(str(item.get("InterfaceAlias")), []).append(
            Address(family, str(item.get("IPAddress")), int(item.get("PrefixLength") or 0)))
    interfaces = []
    for item in as_list(data.get("Adapters")):
        name, description = str(item.get("Name") or ""), str(item.get("InterfaceDescription") or "")
        kind = ("wireguard" if "wireguard" in description.lower() else "tun") if _TUNNEL_ADAPTERS.search(
            description) else ""
        up = str(item.get("Status")) == "Up"
        interfaces.append(Interface(name, kind, "none" if kind else "ether", ("UP", "LOWER_UP") if up else (),
                                    "UP" if up else "DOWN", tuple(addresses.get(name, ()))))
    routes = tuple(
        Route("default" if r.get("DestinationPrefix") == "0.0.0.0/0" else str(r.get("DestinationPrefix")),
              str(r.get("InterfaceAlias") or ""), "inet", "main", str(r.get("NextHop") or ""),
              int(r.get("RouteMetric") or 0) + int(r.get("InterfaceMetric") or 0))
        for r in as_list(data.get("Routes")))
    return NetworkFacts(tuple(interfaces), routes, ())


def vpn(host: Transport, _: SystemFacts) -> VpnFacts:
    result = host.run(VPN)
    if not result.ok:
        return VpnFacts(unavailable={"Get-VpnConnection": result.failure()})
    return parse_vpn(_json(result))


def parse_vpn(data: Mapping[str, Any]) -> VpnFacts:
    """Windows VPN profiles (Get-VpnConnection) and the known clients' services and processes."""
    profiles = tuple(
        VpnProfile(enum_name(c.get("TunnelType"), _TUNNEL_TYPES).lower() or "vpn", str(c.get("Name")), "windows", True,
                   enum_name(c.get("ConnectionStatus"), {0: "Disconnected", 1: "Connected"}) == "Connected",
                   {"tunneltype": enum_name(c.get("TunnelType"), _TUNNEL_TYPES),
                    "encryptionlevel": enum_name(c.get("EncryptionLevel"), _ENCRYPTION_LEVELS),
                    "splittunneling": str(c.get("SplitTunneling")),
                    "alluserconnection": str(c.get("AllUserConnection"))})
        for c in as_list(data.get("Connections")))
    installed: dict[str, str] = {}
    for service in as_list(data.get("Services")):
        client = _client(str(service.get("Name") or ""))
        if client:
            installed[client] = f"service {service.get('Name')} ({enum_name(service.get('Status'), _SERVICE)})"
    processes = {str(p): client for p in as_list(data.get("Processes")) if (client := _client(str(p)))}
    return VpnFacts(installed, profiles, processes)


_TUNNEL_TYPES = {0: "Pptp", 1: "L2tp", 2: "Sstp", 3: "Ikev2", 4: "Automatic"}
_ENCRYPTION_LEVELS = {0: "NoEncryption", 1: "Optional", 2: "Required", 3: "Maximum", 4: "Custom"}
_SERVICE = {1: "Stopped", 2: "StartPending", 3: "StopPending", 4: "Running"}


def _client(name: str) -> str:
    lower = name.lower()
    return next((client for prefix, client in KNOWN_CLIENTS.items() if lower.startswith(prefix)), "")


def firewall(host: Transport, _: SystemFacts) -> WindowsFirewall:
    try:
        result = host.run(FIREWALL)
    except FactMissing:  # a run recorded before Security Center was read: its Get-NetFirewallProfile answers
        return _firewall_profiles_only(host)
    if not result.ok:
        return WindowsFirewall(unavailable={"Get-NetFirewallProfile": result.failure()},
                               security_center=result.failure())
    return parse_firewall(_json(result))


def _firewall_profiles_only(host: Transport) -> WindowsFirewall:
    result = host.run(FIREWALL_PROFILES)
    missing = "not recorded in this run (it was recorded before Windows Security Center's firewalls were read)"
    if not result.ok:
        return WindowsFirewall(unavailable={"Get-NetFirewallProfile": result.failure()}, security_center=missing)
    return WindowsFirewall(parse_firewall_profiles(result), security_center=missing)


def parse_firewall(data: Mapping[str, Any]) -> WindowsFirewall:
    """The FIREWALL script's JSON: the profiles (or why they could not be read) and Security Center's firewalls (or
    why not: no root/SecurityCenter2 on Windows Server)."""
    profiles = tuple(_firewall_profile(item) for item in as_list(data.get("Profiles")) if isinstance(item, dict))
    problem = str(data.get("ProfilesError") or "")
    products = []
    for item in as_list(data.get("Products")):
        if isinstance(item, dict):
            on, _, microsoft = product_state(item.get("productState"))
            products.append(FirewallProduct(str(item.get("displayName") or "unnamed product"), on, microsoft))
    return WindowsFirewall(profiles, {"Get-NetFirewallProfile": problem} if problem else {}, tuple(products),
                           str(data.get("ProductsError") or ""))


def parse_firewall_profiles(result: CommandResult) -> tuple[FirewallProfile, ...]:
    """Get-NetFirewallProfile alone (FIREWALL_PROFILES, as runs recorded before Security Center was read hold it)."""
    from auditor.collectors.powershell import json_objects

    return tuple(_firewall_profile(item) for item in json_objects(result))


def _firewall_profile(item: Mapping[str, Any]) -> FirewallProfile:
    """Get-NetFirewallProfile: Enabled (GpoBoolean) and DefaultInboundAction (NotConfigured means Block)."""
    enabled = enum_name(item.get("Enabled"), _GPO_BOOL)
    action = enum_name(item.get("DefaultInboundAction"), _ACTIONS)
    note = "DefaultInboundAction NotConfigured: Windows' default applies (Block)" if action == "NotConfigured" else ""
    return FirewallProfile(str(item.get("Name")), {"True": True, "False": False}.get(enabled),
                           "allow" if action == "Allow" else "block", note)


def listeners(host: Transport, _: SystemFacts) -> ListenerFacts:
    result = host.run(LISTENERS)
    if not result.ok:
        return ListenerFacts((), False, False, {"Get-NetTCPConnection": result.failure()})
    return parse_listeners(_json(result))


def parse_listeners(data: Mapping[str, Any]) -> ListenerFacts:
    """Listening TCP sockets and UDP endpoints with the owning process's name."""
    names = data.get("Processes") or {}
    found = []
    for protocol, key in (("tcp", "Tcp"), ("udp", "Udp")):
        for item in as_list(data.get(key)):
            owner = names.get(str(item.get("OwningProcess")), "") if isinstance(names, dict) else ""
            found.append(Listener(protocol, str(item.get("LocalAddress")), int(item.get("LocalPort") or 0), "",
                                  (owner,) if owner else ()))
    return ListenerFacts(tuple(dict.fromkeys(found)), True, any(not item.processes for item in found))


def screenlock(host: Transport, _: SystemFacts) -> ScreenlockFacts:
    result = host.run(SCREENLOCK)
    if not result.ok:
        return ScreenlockFacts(("windows",), notes=(f"registry not readable: {result.failure()}",))
    return parse_screenlock(_json(result))


def parse_screenlock(data: Mapping[str, Any]) -> ScreenlockFacts:
    """Machine inactivity limit, the screen-saver policy (enforced) and the user's own screen saver."""
    machine = _int(data.get("InactivityTimeoutSecs"))
    policy_idle = _int(data.get("PolicyScreenSaveTimeOut"))
    if machine:
        system = LockSetting("system", "InactivityTimeoutSecs (machine policy)", machine, True, 0, ("idle", "enabled"))
    elif policy_idle and data.get("PolicyScreenSaverIsSecure") == "1" and data.get("PolicyScreenSaveActive") != "0":
        system = LockSetting("system", "screen saver policy (HKCU\\Software\\Policies)", policy_idle, True, 0,
                             ("idle", "enabled"))
    else:
        system = LockSetting("system", "no machine or screen-saver policy")
    active = data.get("ScreenSaveActive") != "0"
    user = LockSetting(f"user:{data.get('User') or 'scanning user'}", "HKCU\\Control Panel\\Desktop",
                       _int(data.get("ScreenSaveTimeOut")) if active else 0,
                       data.get("ScreenSaverIsSecure") == "1" if data.get("ScreenSaverIsSecure") is not None else None,
                       0)
    return ScreenlockFacts(("windows",), locks=(DesktopLock("windows", (0, False, 0), (system, user)),))


def updates(host: Transport, _: SystemFacts) -> UpdatesFacts:
    result = host.run(UPDATES)
    if not result.ok:
        return UpdatesFacts("windows update", False, problem=f"Windows Update: {result.failure()}")
    return parse_updates(_json(result))


def parse_updates(data: Mapping[str, Any]) -> UpdatesFacts:
    """Pending updates from the local Windows Update cache; security by category GUID or MSRC severity."""
    pending = tuple(
        PendingUpdate(str(u.get("Title") or ""), ",".join(f"KB{k}" for k in as_list(u.get("KB"))),
                      str(u.get("Severity") or "") or "Windows Update",
                      bool(u.get("Severity")) or any(str(c).lower() in SECURITY_CATEGORIES
                                                     for c in as_list(u.get("Categories"))))
        for u in as_list(data.get("Pending")))
    error = str(data.get("Error") or "")
    last = data.get("LastSearchSuccess")
    return UpdatesFacts("windows update", not error, pending, last if isinstance(last, int) else None,
                        "Windows Update's last successful search", _int(data.get("Now")),
                        f"the update search failed: {error}" if error else "")


def backup(host: Transport, _: SystemFacts, backup_marker_paths: Sequence[str] = ()) -> WindowsBackup:
    now = host.run(HOST_TIME)
    versions = host.run(WBADMIN)
    notes = ["File History is not read (Windows keeps no machine-readable record of its last run)"]
    if backup_marker_paths:
        notes.append("marker files are not read on Windows")
    jobs: tuple[BackupJob, ...] = ()
    if versions.ok:
        jobs = parse_wbadmin_versions(versions.stdout)
    else:
        notes.append(versions.failure())
    host_time = _int(decode_output(now.stdout)) if now.ok else None
    return WindowsBackup(host_time, ("wbadmin",) if not versions.not_found else (), jobs, tuple(notes))


def parse_wbadmin_versions(text: str) -> tuple[BackupJob, ...]:
    """`wbadmin get versions`: each backup's version identifier MM/DD/YYYY-HH:MM (UTC, never translated)."""
    from datetime import UTC, datetime

    stamps = [int(datetime(int(y), int(mo), int(d), int(h), int(mi), tzinfo=UTC).timestamp())
              for mo, d, y, h, mi in _WBADMIN_VERSION.findall(decode_output(text))]
    if not stamps:
        return ()
    return (BackupJob("Windows Server Backup (wbadmin)", "wbadmin", "wbadmin", "wbadmin get versions",
                      result="success", finished_at=max(stamps)),)


def malware(host: Transport, _: SystemFacts) -> WindowsDefender:
    result = host.run(DEFENDER)
    if not result.ok:
        return WindowsDefender(problem=f"Get-MpComputerStatus: {result.failure()}")
    return parse_defender(_json(result))


def parse_defender(data: Mapping[str, Any]) -> WindowsDefender:
    """Defender's status and the antivirus products registered with Windows Security Center."""
    mp = data.get("Defender") or {}
    products = []
    for product in as_list(data.get("Products")):
        on, current, _ = product_state(product.get("productState"))
        products.append(Product(str(product.get("displayName")), on, current))
    return WindowsDefender(
        "Microsoft Defender" if mp else "", _flag(mp.get("RealTimeProtectionEnabled")),
        str(mp.get("AntivirusSignatureVersion") or ""), _int(mp.get("SignatureUpdated")), _int(data.get("Now")),
        str(mp.get("AMRunningMode") or ""), tuple(products), "" if mp else "Get-MpComputerStatus gave no answer")


def product_state(state: Any) -> tuple[bool, bool, bool]:
    """A Windows Security Center productState (AntiVirusProduct, FirewallProduct) -> (on, up to date, Windows' own).

    The bitfield as Microsoft's own troubleshooting script decodes it (WscApi: state mask 0xF000 with Off 0x0000,
    Enabled 0x1000, Snoozed 0x2000; owner mask 0x0F00 with NonMs 0x000, Windows 0x100; status mask 0x00F0 with
    UpToDate 0x00, OutOfDate 0x10). A value that is not a number is neither on nor current nor Windows'."""
    if not isinstance(state, int) or isinstance(state, bool):
        return False, False, False
    return (state >> 12) & 0xF == 1, (state >> 4) & 0xF == 0, (state >> 8) & 0xF == 1


def _bool(value: str | None) -> bool | None:
    return {"true": True, "false": False}.get((value or "").strip().lower())


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


COLLECT: dict[str, Callable[..., Any]] = {
    "auditd": auditd, "journald": journald, "timesync": timesync, "network": network, "vpn": vpn,
    "firewall": firewall, "listeners": listeners, "screenlock": screenlock, "updates": updates, "backup": backup,
    "antimalware": malware,
}
REQUESTS: dict[str, tuple[Command, ...]] = {
    "auditd": (AUDITPOL,), "journald": (WEVTUTIL, SECURITY_OLDEST), "timesync": (W32TM,), "network": (NETWORK,),
    "vpn": (VPN,), "firewall": (FIREWALL,), "listeners": (LISTENERS,), "screenlock": (SCREENLOCK,),
    "updates": (UPDATES,), "backup": (HOST_TIME, WBADMIN), "antimalware": (DEFENDER,),
}
