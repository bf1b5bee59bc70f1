"""VPN for work outside the office (VPN-xxxx): processing away from the processor's address only through an
encrypted VPN (R9), and home workstations held to the office standard (R11)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from auditor.plugin import ControlRef, Platform, Severity, Target, Verdict, check

if TYPE_CHECKING:
    # Collector modules are imported when a check runs, so loading the pack imports none of them.
    from auditor.collectors.network import NetworkFacts
    from auditor.collectors.vpn import VpnFacts, VpnProfile

_CONTROLS = (ControlRef("iso27001-2022", "6.7"), ControlRef("iso27001-2022", "8.20"), ControlRef("cis-v8", "12.7"),
             ControlRef("cis-v8", "13.5"))
_CHACHA = "ChaCha20-Poly1305 (256-bit key): equivalent strength, not AES"
# IPsec algorithm keywords that are integrity, PRF or key exchange, not the data cipher.
_NOT_ENCRYPTION = re.compile(r"^(sha|md5|prf|modp|ecp|curve|x25519|x448|aesxcbc|aescmac|aes\d*gmac|ke\d|mlkem|"
                             r"noesn|esn|ntru|newhope|bp\d|ffdhe)")
_IPSEC_AES = re.compile(r"^aes(?:_?(?:gcm|ccm|ctr|cbc)(?:_?[abc])?)?_?(\d{3})?")


@check(
    id="VPN-0010",
    title="A VPN client is installed and configured on roles that work outside the office",
    severity=Severity.HIGH,
    requirements=("R9", "R11"),
    controls=_CONTROLS,
    platforms=(Platform.LINUX, Platform.WINDOWS, Platform.MACOS),
    remediation="Install the organisation's VPN client (WireGuard, OpenVPN, strongSwan or a NetworkManager VPN "
    "profile on Linux; the organisation's client or a built-in VPN profile on Windows and macOS) and deploy its "
    "client configuration to this machine.",
)
def vpn_client_configured(vpn: VpnFacts, network: NetworkFacts, vpn_required_for: Sequence[str],
                          target: Target) -> Verdict:
    role = target.role.value
    if role not in vpn_required_for:
        return Verdict.not_applicable(f"A VPN is not required for role {role} (vpn_required_for: "
                                      f"{', '.join(vpn_required_for) or 'none'}).")
    clients = [f"{p.kind} {p.name}" + (" (NetworkManager)" if p.source == "networkmanager" else "")
               for p in vpn.profiles if p.client]
    interfaces = [f"WireGuard interface {i.name}" for i in network.interfaces if i.kind == "wireguard"]
    running = [f"{name} running" for name in vpn.processes]
    observed = {"installed": dict(vpn.installed), "client_profiles": clients, "wireguard_interfaces": interfaces,
                "processes": running, "unavailable": dict(vpn.unavailable)}
    expected = {"vpn_client": "installed and configured"}
    # A Windows service or macOS app of a known client (GlobalProtect, Cisco, FortiClient) keeps its profile inside.
    apps = [f"{name} ({how})" for name, how in vpn.installed.items() if how.startswith(("service ", "/Applications/"))]
    found = clients + interfaces + running + apps
    if found:
        return Verdict.passed(f"A VPN client is configured: {'; '.join(found)}.", observed=observed, expected=expected)
    unread = "; ".join(f"{what}: {why}" for what, why in vpn.unavailable.items())
    installed = ", ".join(vpn.installed) or "no VPN client program"
    return Verdict.failed(f"No VPN client configuration was found ({installed} installed)"
                          + (f"; could not read {unread}" if unread else "") + ".", observed=observed,
                          expected=expected)


@check(
    id="VPN-0020",
    title="At home, a VPN tunnel is up and carries the default route",
    severity=Severity.HIGH,
    requirements=("R9", "R11"),
    controls=_CONTROLS,
    platforms=(Platform.LINUX, Platform.WINDOWS, Platform.MACOS),
    remediation="Connect the VPN before working with personal data, and configure it as a full tunnel "
    "(WireGuard AllowedIPs = 0.0.0.0/0, OpenVPN redirect-gateway def1, or no never-default in NetworkManager).",
)
def vpn_tunnel_up(network: NetworkFacts, vpn: VpnFacts, target: Target) -> Verdict:
    if target.location.value != "home":
        return Verdict.not_applicable(f"The target's location is {target.location.value}; a tunnel is required "
                                      "only for home workstations.")
    tunnels = {i.name for i in network.interfaces if i.tunnel and i.up and i.addresses}
    active = [p.name for p in vpn.profiles if p.source != "file" and p.active]
    defaults = [r for r in network.routes if r.family == "inet" and r.table == "main" and _is_default(r.dst)]
    via = min(defaults, key=lambda r: r.metric).dev if defaults else "none"
    observed = {"tunnels_up": sorted(tunnels), "networkmanager_active_vpn": active, "default_route_dev": via}
    expected = {"tunnel": "up", "default_route": "through the tunnel"}
    if not tunnels and not active:
        return Verdict.failed("No VPN tunnel is up (no WireGuard, tun/tap, IPsec or PPP interface is up with an "
                              "address, and NetworkManager has no active VPN).", observed=observed, expected=expected)
    how = _full_tunnel(network, tunnels) or ("SplitTunneling is off, so all traffic uses it" if any(
        p.active and p.settings.get("splittunneling") == "False" for p in vpn.profiles) else "")
    if how:
        return Verdict.passed(f"VPN tunnel {', '.join(sorted(tunnels) or active)} is up and {how}.",
                              observed=observed, expected=expected)
    return Verdict.failed(f"VPN tunnel {', '.join(sorted(tunnels) or active)} is up but the default route goes via "
                          f"{via}: only some networks use the tunnel (split tunnel), and the profile names no "
                          "controller networks to check them against.", observed=observed, expected=expected)


def _is_default(dst: str) -> bool:
    return dst in ("default", "0.0.0.0/0")


def _full_tunnel(network: NetworkFacts, tunnels: set[str]) -> str:
    main = [r for r in network.routes if r.family == "inet" and r.table == "main"]
    defaults = sorted((r for r in main if _is_default(r.dst)), key=lambda r: r.metric)
    if defaults and defaults[0].dev in tunnels:
        return f"the default route goes through {defaults[0].dev}"
    halves = {r.dst: r.dev for r in main if r.dst in ("0.0.0.0/1", "128.0.0.0/1")}
    if len(halves) == 2 and set(halves.values()) <= tunnels:
        return f"routes 0.0.0.0/1 and 128.0.0.0/1 send all traffic through {halves['0.0.0.0/1']}"
    main_rule = min((r.priority for r in network.rules if r.table == "main" and r.suppress_prefixlength is None),
                    default=32766)
    for rule in sorted(network.rules, key=lambda r: r.priority):
        if rule.priority >= main_rule or rule.table in ("local", "main", "default"):
            continue
        dev = next((r.dev for r in network.routes if r.table == rule.table and r.family == "inet"
                    and _is_default(r.dst) and r.dev in tunnels), "")
        if dev:
            mark = f"{'not ' if rule.inverted else ''}fwmark {rule.fwmark} " if rule.fwmark else ""
            return (f"policy routing (rule {rule.priority}: {mark}lookup {rule.table}) sends all traffic "
                    f"through {dev}")
    return ""


@check(
    id="VPN-0030",
    title="The VPN encrypts data with AES of at least the required key length",
    severity=Severity.HIGH,
    requirements=("R9", "R11"),
    controls=(ControlRef("iso27001-2022", "8.24"), ControlRef("cis-v8", "3.10"), ControlRef("cis-v8", "12.7")),
    platforms=(Platform.LINUX, Platform.WINDOWS, Platform.MACOS),
    remediation="OpenVPN: set `data-ciphers AES-256-GCM` on client and server; IPsec: set esp_proposals (and "
    "proposals) to aes256gcm16-... only; WireGuard: have the controller accept ChaCha20-Poly1305 "
    "(chacha20_counts_as_aes256) or use an AES-256 VPN.",
)
def vpn_cipher_strength(vpn: VpnFacts, min_aes_bits: int, chacha20_counts_as_aes256: bool) -> list[Verdict]:
    profiles = [p for p in vpn.profiles if p.client]
    if not profiles:
        return [Verdict.not_applicable("No VPN client configuration was found.")]
    return [_judge(p, _ciphers(p, vpn.openvpn_version), min_aes_bits, chacha20_counts_as_aes256) for p in profiles]


def _judge(profile: VpnProfile, found: tuple[list[str], str], min_bits: int, chacha_ok: bool) -> Verdict:
    ciphers, note = found
    observed = {"kind": profile.kind, "ciphers": ciphers, "settings": dict(profile.settings)}
    expected = {"cipher": f"AES-{min_bits} or stronger", "chacha20_counts_as_aes256": chacha_ok}
    if not ciphers:
        return Verdict.warning(f"The data cipher of {profile.kind} profile {profile.name} cannot be read ({note}); "
                               "verify it by hand.", resource=profile.name, observed=observed, expected=expected)
    weak = [c for c in ciphers if (bits := _aes_bits(c)) is not None and bits < min_bits]
    other = [c for c in ciphers if _aes_bits(c) is None and not _is_chacha(c)]
    chacha = [c for c in ciphers if _is_chacha(c)]
    allowed = ", ".join(ciphers)
    if weak or other:
        why = "; ".join([f"{', '.join(weak)} is AES below {min_bits} bits"] * bool(weak)
                        + [f"{', '.join(other)} is not AES"] * bool(other))
        return Verdict.failed(f"{profile.kind} profile {profile.name} allows {allowed}: {why}.{note}",
                              resource=profile.name, observed=observed, expected=expected)
    if chacha and not chacha_ok:
        return Verdict.failed(f"{profile.kind} profile {profile.name} uses {_CHACHA}; the profile does not accept it "
                              "as AES-256 (chacha20_counts_as_aes256 is false).", resource=profile.name,
                              observed=observed, expected=expected)
    accepted = f" {_CHACHA}; the controller accepts it." if chacha else ""
    return Verdict.passed(f"{profile.kind} profile {profile.name} allows only {allowed}.{accepted}",
                          resource=profile.name, observed=observed, expected=expected)


def _ciphers(profile: VpnProfile, openvpn_version: str) -> tuple[list[str], str]:
    """The data ciphers a profile may negotiate, and a sentence on where they come from."""
    if profile.kind == "wireguard":
        return ["CHACHA20-POLY1305"], ""
    if profile.source in ("windows", "macos"):
        return _native_ciphers(profile)
    if profile.kind == "openvpn":
        return _openvpn_ciphers(profile, openvpn_version)
    if profile.kind == "ipsec":
        return _ipsec_ciphers(profile)
    return [], "NetworkManager keeps the cipher in a root-only connection file that is not read"


def _native_ciphers(profile: VpnProfile) -> tuple[list[str], str]:
    if profile.source == "windows":
        return [], (f"Windows reports only the encryption level ({profile.settings.get('encryptionlevel') or 'unknown'}"
                    f") of this {profile.settings.get('tunneltype') or profile.kind} profile, not the cipher; IKEv2's "
                    "default proposals include AES-128 unless Set-VpnConnectionIpsecConfiguration restricts them")
    if profile.source == "macos":
        return [], f"macOS does not report the negotiated cipher of {profile.kind} profiles"
    return [], f"the cipher of this {profile.source} profile is not reported"


def _openvpn_ciphers(profile: VpnProfile, version: str) -> tuple[list[str], str]:
    explicit = profile.settings.get("data-ciphers") or profile.settings.get("ncp-ciphers")
    if explicit:
        return [c for c in re.split(r"[:,]", explicit) if c], ""
    major_minor = tuple(int(n) for n in version.split(".")[:2]) if version else (2, 5)
    defaults = ["AES-256-GCM", "AES-128-GCM"] + ["CHACHA20-POLY1305"] * (major_minor >= (2, 6))
    if major_minor < (2, 4):
        defaults = []
    cipher = profile.settings.get("cipher", "BF-CBC" if not defaults else "")
    ciphers = list(dict.fromkeys(defaults + ([cipher] if cipher else [])))
    shown = version or "2.5+ (version unknown)"
    note = (f" No data-ciphers is set, so OpenVPN {shown}'s default data-ciphers {':'.join(defaults)} applies, "
            "which ALLOWS AES-128; restrict it with `data-ciphers AES-256-GCM`." if defaults else "")
    return ciphers, note


def _ipsec_ciphers(profile: VpnProfile) -> tuple[list[str], str]:
    proposals = [v for k, v in profile.settings.items() if k in ("proposals", "esp_proposals", "ike", "esp")]
    has_esp = any(k in profile.settings for k in ("esp_proposals", "esp"))
    ciphers: list[str] = []
    for proposal in ",".join(proposals).split(","):
        for token in proposal.strip().lower().rstrip("!").split("-"):
            if token and not _NOT_ENCRYPTION.match(token):
                ciphers.append(token)
    note = ""
    if not has_esp or "default" in ciphers:
        ciphers = [c for c in ciphers if c != "default"] + ["aes128 (default proposal)"]
        note = " No ESP proposal restricts the data cipher, and the IPsec daemon's default proposals include AES-128."
    return list(dict.fromkeys(ciphers)), note


def _aes_bits(cipher: str) -> int | None:
    name = cipher.lower()
    if match := re.match(r"^aes-(\d{3})-", name):
        return int(match.group(1))
    if name.startswith("aes") and (match := _IPSEC_AES.match(name)):
        return int(match.group(1)) if match.group(1) else 128
    return None


def _is_chacha(cipher: str) -> bool:
    return cipher.lower().replace("-", "").startswith("chacha20")
