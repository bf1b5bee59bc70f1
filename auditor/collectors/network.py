"""Facts about interfaces, addresses, routes and policy-routing rules, from iproute2's JSON output.

`ip -j -d link` adds `linkinfo.info_kind` (wireguard, tun, veth...), which tells a tunnel from a NIC
whatever its name; routes are read from every table, because wg-quick puts its default route in a
table of its own (51820) and selects it with an fwmark rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from auditor.collectors.base import Requests
from auditor.collectors.native import NATIVE, native_collect, native_requests
from auditor.models import SystemFacts
from auditor.records import record
from auditor.transports.base import CommandResult, Transport, cmd

LINK = cmd("ip", "-j", "-d", "link")
ADDR = cmd("ip", "-j", "addr")
ROUTE4 = cmd("ip", "-j", "-4", "route", "show", "table", "all")
ROUTE6 = cmd("ip", "-j", "-6", "route", "show", "table", "all")
RULE = cmd("ip", "-j", "rule")

# Interface kinds that carry a VPN (ip-link(8) TYPE names); ppp devices have no kind, only link_type ppp.
TUNNEL_KINDS = frozenset({"wireguard", "tun", "tap", "xfrm", "vti", "vti6", "ipip", "gre", "ip6tnl", "sit"})


@record
class Address:
    """Attributes:
    family: "inet" or "inet6".
    local: the address as ip prints it.
    prefixlen: the prefix length.
    """

    family: str
    local: str
    prefixlen: int


@record
class Interface:
    """Attributes:
    name: ifname.
    kind: linkinfo.info_kind (wireguard, tun, veth, bridge...), "" for a plain NIC or loopback.
    link_type: ether, loopback, none (tunnels), ppp...
    flags: the kernel's IFF_* flags as ip prints them (UP, LOWER_UP, NO-CARRIER, POINTOPOINT...).
    operstate: UP, DOWN or UNKNOWN (tunnels and loopback report UNKNOWN while working).
    addresses: the addresses configured on it.
    """

    name: str
    kind: str = ""
    link_type: str = ""
    flags: tuple[str, ...] = ()
    operstate: str = ""
    addresses: tuple[Address, ...] = ()

    @property
    def up(self) -> bool:
        """Administratively up with a carrier (a tunnel without its daemon has NO-CARRIER)."""
        return "UP" in self.flags and "LOWER_UP" in self.flags and "NO-CARRIER" not in self.flags

    @property
    def tunnel(self) -> bool:
        return self.kind in TUNNEL_KINDS or self.link_type == "ppp"


@record
class Route:
    """Attributes:
    dst: "default" or a prefix ("0.0.0.0/1", "10.0.0.0/8", "192.0.2.1").
    dev: the outgoing interface ("" for blackhole/unreachable routes).
    family: "inet" or "inet6".
    table: "main" unless ip names another (local, 51820...).
    gateway: next hop, "" when on-link.
    metric: the route metric (0 when ip prints none).
    """

    dst: str
    dev: str
    family: str = "inet"
    table: str = "main"
    gateway: str = ""
    metric: int = 0


@record
class Rule:
    """Attributes:
    priority: the rule's preference (lower is consulted first).
    table: the table it looks up.
    fwmark: the firewall mark it matches, "" for none.
    inverted: the match is negated (`not fwmark 0xca6c`, as wg-quick adds).
    suppress_prefixlength: set when the rule ignores routes this short (wg-quick: 0, ignore defaults).
    """

    priority: int
    table: str
    fwmark: str = ""
    inverted: bool = False
    suppress_prefixlength: int | None = None


@record
class NetworkFacts:
    """Attributes:
    interfaces: every link, with its addresses.
    routes: unicast routes of every table, IPv4 and IPv6 (local/broadcast/multicast entries dropped).
    rules: IPv4 policy-routing rules.
    unavailable: for each ip command that did not answer, why (CommandResult.failure).
    """

    interfaces: tuple[Interface, ...] = ()
    routes: tuple[Route, ...] = ()
    rules: tuple[Rule, ...] = ()
    unavailable: Mapping[str, str] = field(default_factory=dict)

    def interface(self, name: str) -> Interface | None:
        """The interface called `name`, if there is one."""
        return next((i for i in self.interfaces if i.name == name), None)


def requests(system: SystemFacts) -> Requests:
    if system.platform in NATIVE:
        return native_requests("network", system)
    return (LINK, ADDR, ROUTE4, ROUTE6, RULE), ()


def collect(host: Transport, system: SystemFacts) -> NetworkFacts:
    if system.platform in NATIVE:
        return native_collect("network", host, system)  # type: ignore[no-any-return]
    unavailable: dict[str, str] = {}

    def answer(result: CommandResult) -> str:
        if result.ok:
            return result.stdout
        unavailable[result.command] = result.failure()
        return "[]"

    links, addrs = answer(host.run(LINK)), answer(host.run(ADDR))
    routes = parse_ip_route(answer(host.run(ROUTE4)), "inet") + parse_ip_route(answer(host.run(ROUTE6)), "inet6")
    rules = parse_ip_rule(answer(host.run(RULE)))
    return NetworkFacts(parse_ip_link(links, addrs), routes, rules, unavailable)


def _load_list(text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text or "[]")
    except json.JSONDecodeError:
        return []
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def parse_ip_link(link_json: str, addr_json: str = "[]") -> tuple[Interface, ...]:
    """`ip -j -d link` (kinds) merged with `ip -j addr` (addresses), keyed by ifname."""
    addresses: dict[str, tuple[Address, ...]] = {}
    entries = {item.get("ifname", ""): item for item in _load_list(addr_json)}
    for name, item in entries.items():
        addresses[name] = tuple(
            Address(str(a.get("family", "")), str(a.get("local", "")), int(a.get("prefixlen", 0)))
            for a in item.get("addr_info", []) if isinstance(a, dict) and a.get("local")
        )
    for item in _load_list(link_json):
        entries[item.get("ifname", "")] = {**entries.get(item.get("ifname", ""), {}), **item}
    interfaces = []
    for name, item in entries.items():
        info = item.get("linkinfo")
        linkinfo: dict[str, Any] = info if isinstance(info, dict) else {}
        interfaces.append(Interface(
            name=str(name), kind=str(linkinfo.get("info_kind", "")), link_type=str(item.get("link_type", "")),
            flags=tuple(str(f) for f in item.get("flags", [])), operstate=str(item.get("operstate", "")),
            addresses=addresses.get(name, ()),
        ))
    return tuple(interfaces)


def parse_ip_route(text: str, family: str) -> tuple[Route, ...]:
    """`ip -j route show table all`: unicast routes only; no "table" key means the main table."""
    routes = []
    for item in _load_list(text):
        if item.get("type", "unicast") != "unicast":
            continue
        routes.append(Route(
            dst=str(item.get("dst", "")), dev=str(item.get("dev", "")), family=family,
            table=str(item.get("table", "main")), gateway=str(item.get("gateway", "")),
            metric=int(item.get("metric", 0) or 0),
        ))
    return tuple(routes)


def parse_ip_rule(text: str) -> tuple[Rule, ...]:
    """`ip -j rule`: `"not": null` marks an inverted match; iproute2 spells suppress_prefixlen(gth) both ways."""
    rules = []
    for item in _load_list(text):
        suppress = item.get("suppress_prefixlen", item.get("suppress_prefixlength"))
        rules.append(Rule(
            priority=int(item.get("priority", 0)), table=str(item.get("table", "")),
            fwmark=str(item.get("fwmark", "")), inverted="not" in item,
            suppress_prefixlength=int(suppress) if suppress is not None else None,
        ))
    return tuple(rules)
