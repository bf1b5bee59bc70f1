"""Facts about VPN clients: WireGuard, OpenVPN, IPsec (strongSwan, libreswan) and NetworkManager profiles.

Client configuration files are listed with `find` (/etc/wireguard is root-only) and only their cipher
and connection directives are read, with one `grep` over all of them: WireGuard configs and inline
OpenVPN keys hold private keys, which must never become evidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field

from auditor.collectors.base import Requests
from auditor.collectors.native import NATIVE, native_collect, native_requests
from auditor.errors import CollectorError
from auditor.models import SystemFacts
from auditor.records import record
from auditor.transports.base import Transport, cmd
from auditor.transports.budget import DEFAULT_LISTED_FILES

WG = cmd("wg", "--version")
OPENVPN = cmd("openvpn", "--version")
SWANCTL = cmd("swanctl", "--version")
IPSEC = cmd("ipsec", "--version")
NMCLI = cmd("nmcli", "-t", "-f", "NAME,TYPE,DEVICE,STATE", "connection", "show")
PROCESSES = cmd("ps", "-e", "-o", "comm=")
CONFIG_DIRS = ("/etc/wireguard", "/etc/openvpn", "/etc/swanctl", "/etc/strongswan", "/etc/ipsec.conf",
               "/etc/ipsec.d")
FIND_CONFIGS = cmd("find", *CONFIG_DIRS, "-maxdepth", "3", "-type", "f", "(", "-name", "*.conf", "-o",
                   "-name", "*.ovpn", ")", sudo=True)
# Directives that name a cipher or tell a client connection from a server or an empty template.
DIRECTIVES = ("cipher", "data-ciphers", "ncp-ciphers", "client", "tls-client", "remote", "conn", "ike", "esp",
              "proposals", "esp_proposals", "remote_addrs")
GREP_PATTERN = rf"^[[:space:]]*({'|'.join(DIRECTIVES)})([[:space:]]|=|$)"

# Names as `ps -o comm=` prints them: Linux cuts process names to 15 characters.
CLIENT_PROCESSES = {"openvpn": "openvpn", "charon": "ipsec", "charon-systemd": "ipsec", "pluto": "ipsec",
                    "nm-openvpn-serv": "openvpn", "openconnect": "openconnect", "wg-quick": "wireguard"}


@record
class VpnProfile:
    """Attributes:
    kind: wireguard, openvpn, ipsec, or vpn (a NetworkManager VPN of a plugin type not shown by nmcli).
    name: the config file path, or the NetworkManager connection name.
    source: "file" or "networkmanager".
    client: the profile connects out (OpenVPN `client`/`remote`, IPsec `remote_addrs`/`conn`, any wg or NM one).
    active: NetworkManager says it is activated (None for files: the interfaces tell).
    settings: cipher directives as written, lower-case key -> values joined by "," (repeated keys kept).
    """

    kind: str
    name: str
    source: str = "file"
    client: bool = True
    active: bool | None = None
    settings: Mapping[str, str] = field(default_factory=dict)


@record
class VpnFacts:
    """Attributes:
    installed: client programs found -> their version line (wg, openvpn, swanctl, ipsec).
    profiles: client and server configurations and NetworkManager VPN/WireGuard connections.
    processes: VPN daemons running now (process name -> kind).
    openvpn_version: e.g. "2.6.3", "" when OpenVPN is absent (it decides the default data-ciphers).
    unavailable: what could not be read and why (e.g. "/etc/wireguard": "needs root (...)").
    """

    installed: Mapping[str, str] = field(default_factory=dict)
    profiles: tuple[VpnProfile, ...] = ()
    processes: Mapping[str, str] = field(default_factory=dict)
    openvpn_version: str = ""
    unavailable: Mapping[str, str] = field(default_factory=dict)


def requests(system: SystemFacts) -> Requests:
    if system.platform in NATIVE:
        return native_requests("vpn", system)
    return (WG, OPENVPN, SWANCTL, IPSEC, NMCLI, PROCESSES, FIND_CONFIGS), ()


def collect(host: Transport, system: SystemFacts) -> VpnFacts:
    if system.platform in NATIVE:
        return native_collect("vpn", host, system)  # type: ignore[no-any-return]
    unavailable: dict[str, str] = {}
    installed: dict[str, str] = {}
    for command in (WG, OPENVPN, SWANCTL, IPSEC):
        result = host.run(command)
        if not result.not_found:
            # openvpn --version exits 1 after printing; any answer means the program is there.
            installed[command.argv[0]] = (result.stdout.strip().splitlines() or [""])[0][:200]
    openvpn_version = parse_openvpn_version(installed.get("openvpn", ""))
    found = host.run(FIND_CONFIGS)
    paths = parse_find(found.stdout)
    if len(paths) > DEFAULT_LISTED_FILES:  # each would be a finding: a listing this long is broken or hostile
        raise CollectorError(f"`find` listed {len(paths)} VPN configuration files, more than {DEFAULT_LISTED_FILES} "
                             "(max_listed_files): not judged")
    for line in found.stderr.splitlines():
        if "Permission denied" in line:
            unavailable[line.split("'")[1] if "'" in line else "config files"] = "needs root (permission denied)"
    profiles = list(_file_profiles(host, paths, unavailable))
    nmcli = host.run(NMCLI)
    if nmcli.ok:
        profiles += parse_nmcli(nmcli.stdout)
    elif not nmcli.not_found:
        unavailable["NetworkManager"] = nmcli.failure()
    ps = host.run(PROCESSES)
    processes = {name: CLIENT_PROCESSES[name] for name in ps.stdout.split() if name in CLIENT_PROCESSES}
    return VpnFacts(installed, tuple(profiles), processes, openvpn_version, unavailable)


def _file_profiles(host: Transport, paths: list[str], unavailable: dict[str, str]) -> list[VpnProfile]:
    kinds = {path: config_kind(path) for path in paths}
    readable = [path for path, kind in kinds.items() if kind in ("openvpn", "ipsec")]
    directives: dict[str, list[tuple[str, str]]] = {}
    if readable:
        grep = host.run(cmd("grep", "-H", "-i", "-E", GREP_PATTERN, "--", *readable, sudo=True))
        if grep.exit_status > 1:
            unavailable["VPN config files"] = grep.failure()
        directives = parse_grep(grep.stdout, readable)
    return [profile_from_directives(path, kind, directives.get(path, [])) for path, kind in kinds.items() if kind]


def config_kind(path: str) -> str:
    """Which VPN a config file belongs to, from where it lives; "" for files that are no connection."""
    if path.startswith("/etc/wireguard/"):
        return "wireguard"
    if path.startswith("/etc/openvpn/"):
        return "openvpn"
    if path.endswith(("strongswan.conf", "charon.conf", "charon-logging.conf")) or "/strongswan.d/" in path:
        return ""  # daemon settings, not connections
    return "ipsec"


def parse_find(text: str) -> list[str]:
    """One path a line, as find prints them."""
    return [line.strip() for line in text.splitlines() if line.strip().startswith("/")]


def parse_grep(text: str, paths: list[str]) -> dict[str, list[tuple[str, str]]]:
    """`grep -H` lines "path:directive value" -> path -> [(directive, value)], matched to the known paths."""
    found: dict[str, list[tuple[str, str]]] = {}
    for line in text.splitlines():
        path = next((p for p in sorted(paths, key=len, reverse=True) if line.startswith(p + ":")), None)
        if path is None:
            continue
        match = re.match(r"([^\s=]+)\s*=?\s*(.*)", line[len(path) + 1:].strip())
        if match:
            value = match.group(2).split("#")[0].strip()
            found.setdefault(path, []).append((match.group(1).lower(), value))
    return found


def profile_from_directives(path: str, kind: str, directives: list[tuple[str, str]]) -> VpnProfile:
    """A config file's directives -> profile: cipher settings kept, client or server decided."""
    keys = {key for key, _ in directives}
    if kind == "wireguard":
        client = True
    elif kind == "openvpn":
        client = path.endswith(".ovpn") or "/client/" in path or bool(keys & {"client", "tls-client", "remote"})
        client = client and "/server/" not in path
    else:
        client = "remote_addrs" in keys or any(k == "conn" and v != "%default" for k, v in directives)
    settings: dict[str, str] = {}
    for key, value in directives:
        if key in ("cipher", "data-ciphers", "ncp-ciphers", "ike", "esp", "proposals", "esp_proposals"):
            settings[key] = f"{settings[key]},{value}" if key in settings else value
    return VpnProfile(kind, path, "file", client, None, settings)


def parse_nmcli(text: str) -> list[VpnProfile]:
    """`nmcli -t -f NAME,TYPE,DEVICE,STATE connection show`: ':' separates, '\\:' is a colon in a value."""
    profiles = []
    for line in text.splitlines():
        fields = [part.replace("\\:", ":").replace("\\\\", "\\") for part in re.split(r"(?<!\\):", line)]
        if len(fields) < 4:
            continue
        name, kind, _, state = fields[:4]
        if kind in ("vpn", "wireguard"):
            profiles.append(VpnProfile(kind, name, "networkmanager", True, state == "activated"))
    return profiles


def parse_openvpn_version(line: str) -> str:
    """`OpenVPN 2.6.3 x86_64-pc-linux-gnu [SSL (OpenSSL)] ...` -> "2.6.3"."""
    match = re.match(r"OpenVPN (\d+\.\d+(?:\.\d+)?)", line)
    return match.group(1) if match else ""
