"""Host firewall and exposed services (FW-xxxx, NET-xxxx): internet access to data only as the controller
approved (R7), and the processor reaches data only over encrypted connections (R8)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from auditor.plugin import ControlRef, Platform, Severity, Status, Target, Verdict, check
from checks.platform_native import macos_firewall, windows_firewall

if TYPE_CHECKING:
    # Collector modules are imported when a check runs, so loading the pack imports none of them.
    from auditor.collectors.firewall import FirewallFacts
    from auditor.collectors.listeners import Listener, ListenerFacts
    from auditor.collectors.native_facts import MacosFirewall, WindowsFirewall

_DENYING_TARGETS = ("default", "drop", "reject", "%%reject%%")
# Zones Docker and libvirt create for their own bridges (docker0, virbr0): they hold no interface of the host's
# networks, so the default zone still filters those (firewall-cmd warns about them on every Docker host).
_BRIDGE_ZONES = ("docker", "libvirt")
# (label, protocol, first port, last port, process names): plaintext ways to administer a host.
_PLAINTEXT = (
    ("Telnet", "tcp", 23, 23, ("in.telnetd", "telnetd")),
    ("FTP", "tcp", 21, 21, ("vsftpd", "proftpd", "pure-ftpd", "in.ftpd", "ftpd")),
    ("rsh/rlogin/rexec", "tcp", 512, 514, ("in.rshd", "in.rlogind", "in.rexecd", "rshd", "rlogind", "rexecd")),
    ("TFTP", "udp", 69, 69, ("in.tftpd", "tftpd", "atftpd")),
    ("X11", "tcp", 6000, 6063, ("Xorg", "X")),
)
_VNC = ("VNC", "tcp", 5900, 5999, ("x11vnc", "Xvnc", "Xtigervnc", "Xtightvnc", "vino-server", "krfb", "wayvnc"))
_IMPLICIT_TLS_PORTS = (990,)  # FTPS: a known FTP daemon there speaks TLS from the first byte


@check(
    id="FW-0010",
    title="A host firewall is active and drops inbound traffic that no rule allows",
    severity=Severity.HIGH,
    requirements=("R7", "R11"),
    controls=(ControlRef("iso27001-2022", "8.20"), ControlRef("iso27001-2022", "8.22"), ControlRef("cis-v8", "4.4"),
              ControlRef("cis-v8", "4.5")),
    platforms=(Platform.LINUX, Platform.WINDOWS, Platform.MACOS),
    remediation="Windows: turn Windows Defender Firewall on for the Domain, Private and Public profiles with "
    "inbound connections blocked (`Set-NetFirewallProfile -All -Enabled True -DefaultInboundAction Block`), or "
    "turn back on the third-party firewall that Windows Security > Firewall & network protection lists. "
    "macOS: System Settings > Network > Firewall on, with stealth mode. Linux: enable a firewall with a "
    "default-deny inbound policy: `ufw default deny incoming && ufw enable`, "
    "firewalld with a zone whose target is default or DROP, or an nftables input chain with `policy drop;` "
    "(/etc/nftables.conf, `systemctl enable --now nftables`). Allow only the approved services.",
)
def firewall_default_deny(firewall: FirewallFacts | WindowsFirewall | MacosFirewall) -> Verdict:
    from auditor.collectors.native_facts import MacosFirewall, WindowsFirewall

    if isinstance(firewall, WindowsFirewall):
        return _windows_with_security_center(firewall)
    if isinstance(firewall, MacosFirewall):
        return macos_firewall(firewall)
    inputs = firewall.input_chains()
    denying = [c for c in inputs if c.default_deny]
    observed = _firewall_observed(firewall)
    expected = {"inbound_default": "drop or reject"}
    v4 = [str(c) for c in denying if c.family in ("ip", "inet")]
    v6 = [str(c) for c in denying if c.family in ("ip6", "inet")]
    ufw, firewalld = firewall.ufw, firewall.firewalld
    if ufw and ufw.active and ufw.incoming in ("deny", "reject"):
        return Verdict.passed(f"ufw is active with default {ufw.incoming} for incoming traffic.", observed=observed,
                              expected=expected)
    if firewalld and firewalld.running and firewalld.target.lower() in _DENYING_TARGETS:
        allowed = ", ".join(firewalld.services + firewalld.ports) or "nothing"
        others = [z for z in firewalld.other_zones if z not in _BRIDGE_ZONES]
        if others:
            zones = ", ".join(others)
            return Verdict.warning(
                f"firewalld is running and its default zone {firewalld.zone} (target {firewalld.target}) rejects "
                f"inbound traffic except {allowed}, but firewall-cmd says connections or interfaces are bound to "
                f"zone {zones}, whose target was not read (`firewall-cmd --list-all` shows the default zone only); "
                f"check it with `firewall-cmd --zone={others[0]} --list-all`.", observed=observed,
                expected=expected)
        return Verdict.passed(f"firewalld is running; its default zone {firewalld.zone} (target {firewalld.target}) "
                              f"rejects inbound traffic except {allowed}.", observed=observed, expected=expected)
    if v4 and v6:
        return Verdict.passed(f"Inbound traffic that no rule allows is dropped ({'; '.join(dict.fromkeys(v4 + v6))}).",
                              observed=observed, expected=expected)
    if v4:
        return Verdict.warning(f"Inbound IPv4 is default-deny ({'; '.join(v4)}) but no IPv6 input chain drops by "
                               "default, so IPv6 traffic reaches every listening service.", observed=observed,
                               expected=expected)
    return Verdict.failed(_why_open(firewall, inputs), observed=observed, expected=expected)


def _windows_with_security_center(firewall: WindowsFirewall) -> Verdict:
    """FW-0010 on Windows: Windows Defender Firewall's profiles, unless an enabled third-party firewall registered
    with Windows Security Center has taken over from the profiles that are off (Windows turns its own firewall off
    when such a product registers)."""
    verdict = windows_firewall(firewall)
    observed = {**verdict.observed, "security_center": {p.name: "enabled" if p.enabled else "off"
                                                        for p in firewall.products} or
                firewall.security_center or "no firewall product registered"}
    if verdict.status is not Status.FAIL or not firewall.profiles:
        return replace(verdict, observed=observed)
    taking_over = [p.name for p in firewall.third_party_enabled()]
    allowing = [p.name for p in firewall.profiles if p.enabled and p.inbound == "allow"]
    off = [p.name for p in firewall.profiles if not p.enabled]
    if taking_over and not allowing:
        names = " and ".join(taking_over)
        if len(off) < len(firewall.profiles):
            message = f"Registered with Windows Security Center and enabled: {names}; Windows Defender Firewall is " \
                f"off for the {', '.join(off)} profile(s)."
        elif len(taking_over) > 1:
            message = f"{names} are registered with Windows Security Center and enabled; Windows Defender Firewall " \
                "is off."
        else:
            message = f"{names} is registered with Windows Security Center and enabled; Windows Defender Firewall is " \
                "off."
        return Verdict.passed(message, observed=observed, expected=verdict.expected)
    disabled = [p.name for p in firewall.products if not p.enabled and not p.microsoft]
    if disabled:
        note = f"Windows Security Center lists {disabled[0]} as a firewall, but it is off." if len(disabled) == 1 \
            else f"Windows Security Center lists {' and '.join(disabled)} as firewalls, but they are off."
        return replace(verdict, message=f"{verdict.message} {note}", observed=observed)
    return replace(verdict, observed=observed)


def _why_open(firewall: FirewallFacts, inputs: Sequence[Any]) -> str:
    parts = []
    if not firewall.nftables_read and not firewall.legacy_read:
        why = "; ".join(f"{tool}: {reason}" for tool, reason in firewall.unavailable.items())
        parts.append(f"The firewall rules could not be read ({why}), so default-deny cannot be shown; scan as "
                     "root or with sudo.")
    elif inputs:
        chains = "; ".join(f"{c} (policy {c.policy})" for c in inputs)
        parts.append(f"Inbound traffic is accepted by default: no input chain drops what its rules do not allow "
                     f"({chains}).")
        if any(c.hook == "forward" and c.default_deny for c in firewall.chains):
            parts.append("The forward chains that drop (such as Docker's or libvirt's) filter routed traffic only.")
    elif any(c.hook == "forward" for c in firewall.chains):
        parts.append("Only forward chains filter (such as Docker's or libvirt's); they filter routed container "
                     "traffic, not traffic to this host, which is not filtered at all.")
    else:
        parts.append("No firewall rules are loaded: every listening service is reachable.")
    if firewall.ufw is not None:
        parts.append("ufw is inactive." if not firewall.ufw.active else
                     f"ufw is active but lets incoming traffic in by default ({firewall.ufw.incoming}).")
    if firewall.firewalld is not None:
        zone = firewall.firewalld
        parts.append("firewalld is not running." if not zone.running else
                     f"firewalld's default zone {zone.zone} has target {zone.target}." if zone.target else
                     f"firewalld is running but its zone could not be read ({firewall.unavailable.get('firewalld')}).")
    return " ".join(parts)


def _firewall_observed(firewall: FirewallFacts) -> dict[str, Any]:
    observed: dict[str, Any] = {
        "input_chains": [f"{c} policy {c.policy}" + (f", final rule {c.final_verdict}" if c.final_verdict else "")
                         for c in firewall.input_chains()],
        "ufw": "absent" if firewall.ufw is None else ("active" if firewall.ufw.active else "inactive"),
        "firewalld": "absent" if firewall.firewalld is None else
        ("running" if firewall.firewalld.running else "not running"),
    }
    if firewall.ufw and firewall.ufw.active:
        observed["ufw_incoming"] = firewall.ufw.incoming
    if firewall.firewalld and firewall.firewalld.running:
        observed["firewalld_zone"] = {"zone": firewall.firewalld.zone, "target": firewall.firewalld.target,
                                      "services": list(firewall.firewalld.services)}
        if firewall.firewalld.other_zones:
            observed["firewalld_other_zones"] = list(firewall.firewalld.other_zones)
    if firewall.unavailable:
        observed["unavailable"] = dict(firewall.unavailable)
    return observed


@check(
    id="NET-0010",
    title="Only the services the controller approved for this role listen on the network",
    severity=Severity.HIGH,
    requirements=("R7",),
    controls=(ControlRef("iso27001-2022", "8.20"), ControlRef("iso27001-2022", "8.9"), ControlRef("cis-v8", "4.8")),
    platforms=(Platform.LINUX, Platform.WINDOWS, Platform.MACOS),
    remediation="Stop or uninstall the services that are not in the approved list, bind internal ones to "
    "127.0.0.1, or have the controller approve the port in allowed_listening_ports for this role.",
)
def listening_ports_approved(listeners: ListenerFacts, allowed_listening_ports: Mapping[str, Sequence[int | str]],
                             target: Target) -> Verdict:
    role = target.role.value
    if role not in allowed_listening_ports:
        return Verdict.not_applicable(f"No approved list for role {role} in the profile (allowed_listening_ports).")
    approved = [str(p) for p in allowed_listening_ports[role]]
    expected = {"allowed_listening_ports": approved}
    if not listeners.read:
        return Verdict.failed(f"The listening sockets could not be listed ({_reasons(listeners.unavailable)}).",
                              expected=expected)
    unapproved = [item for item in listeners.exposed() if not _approved(item, approved)]
    observed = {"exposed": _group(listeners.exposed()), "loopback_only": _group(i for i in listeners.listeners
                                                                                 if i.loopback),
                "not_approved": _group(unapproved)}
    hidden = " (some process names were not visible: ss shows them to root only, and never for processes " \
        "outside the scanned PID namespace)" if listeners.process_names_hidden else ""
    if unapproved:
        return Verdict.failed(f"{len(observed['not_approved'])} listening service(s) are not in the approved list "
                              f"for role {role}: {'; '.join(observed['not_approved'])}{hidden}.",
                              observed=observed, expected=expected)
    listed = "; ".join(observed["exposed"]) or "none"
    return Verdict.passed(f"Every service reachable from the network is approved for role {role} ({listed}); "
                          f"{len(observed['loopback_only'])} more listen on loopback only.", observed=observed,
                          expected=expected)


def _approved(listener: Listener, approved: Sequence[str]) -> bool:
    for entry in approved:
        port, _, protocol = entry.partition("/")
        if port == str(listener.port) and protocol in ("", listener.protocol):
            return True
    return False


def _group(listeners: Iterable[Listener]) -> list[str]:
    """One line per port/protocol: "22/tcp on 0.0.0.0, [::] (sshd)"."""
    hosts: dict[str, list[str]] = {}
    owners: dict[str, list[str]] = {}
    for item in listeners:
        key = f"{item.port}/{item.protocol}"
        host = f"[{item.address}]" if ":" in item.address else item.address
        hosts.setdefault(key, []).append(host + (f"%{item.interface}" if item.interface else ""))
        owners.setdefault(key, []).extend(item.processes)
    return [f"{key} on {', '.join(dict.fromkeys(hosts[key]))}"
            + (f" ({', '.join(dict.fromkeys(owners[key]))})" if owners[key] else "") for key in hosts]


def _reasons(unavailable: Mapping[str, str]) -> str:
    return "; ".join(f"{what}: {why}" for what, why in unavailable.items()) or "no answer"


@check(
    id="NET-0020",
    title="No plaintext remote-administration service listens on a network address",
    severity=Severity.HIGH,
    requirements=("R8",),
    controls=(ControlRef("iso27001-2022", "8.5"), ControlRef("iso27001-2022", "8.24"), ControlRef("cis-v8", "3.10"),
              ControlRef("cis-v8", "4.8")),
    platforms=(Platform.LINUX, Platform.WINDOWS, Platform.MACOS),
    remediation="Remove telnet, FTP, rsh/rlogin, TFTP and TCP X11 services and use SSH/SFTP instead; bind VNC to "
    "127.0.0.1 and reach it through an SSH tunnel or the VPN, or enable VeNCrypt/TLS.",
)
def no_plaintext_admin(listeners: ListenerFacts) -> Verdict:
    if not listeners.read:
        return Verdict.failed(f"The listening sockets could not be listed ({_reasons(listeners.unavailable)}).")
    plaintext = [f"{label}: {item}" for item in listeners.exposed() if (label := _match(item, _PLAINTEXT))]
    vnc = [str(item) for item in listeners.exposed() if _match(item, (_VNC,))]
    observed = {"plaintext": plaintext, "vnc": vnc,
                "loopback_only": [str(i) for i in listeners.listeners if i.loopback and _match(i, (*_PLAINTEXT, _VNC))]}
    expected: dict[str, Any] = {"plaintext_admin_services": []}
    hidden = " Some process names were not visible (ss shows them to root only), so those were judged by port " \
        "only." if listeners.process_names_hidden else ""
    if plaintext:
        vnc_note = f" Also VNC, usually unencrypted: {'; '.join(vnc)}." if vnc else ""
        return Verdict.failed(f"Plaintext remote-administration services listen on the network: "
                              f"{'; '.join(plaintext)}.{vnc_note}{hidden}", observed=observed, expected=expected)
    if vnc:
        return Verdict.warning(f"VNC usually unencrypted: verify it is tunnelled ({'; '.join(vnc)}).{hidden}",
                               observed=observed, expected=expected)
    return Verdict.passed(f"No telnet, FTP, r-services, TFTP, X11 or VNC service listens on a network address "
                          f"({len(listeners.exposed())} exposed listener(s) checked).{hidden}", observed=observed,
                          expected=expected)


def _match(listener: Listener, rules: Iterable[tuple[str, str, int, int, tuple[str, ...]]]) -> str:
    for label, protocol, first, last, names in rules:
        by_port = listener.protocol == protocol and first <= listener.port <= last
        by_name = bool(set(listener.processes) & set(names)) and listener.port not in _IMPLICIT_TLS_PORTS
        if by_port or by_name:
            return label
    return ""
