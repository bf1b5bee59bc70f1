"""network collector: recorded `ip -j` outputs (iproute2 6.1, Debian 12) become interfaces, routes and rules."""

from __future__ import annotations

from auditor.collectors.network import ADDR, LINK, ROUTE4, ROUTE6, RULE, collect, parse_ip_link, parse_ip_route
from auditor.models import Platform, SystemFacts
from auditor.transports.base import Command, CommandResult
from tests.auditor.fake_host import FakeHost
from tests.conftest import FIXTURES

OUTPUTS = FIXTURES / "outputs" / "network"
LINUX = SystemFacts(Platform.LINUX)


def recorded(case: str) -> FakeHost:
    """A host answering the five ip commands with the recordings of one case (a missing file: exit 127)."""
    answers: dict[str, CommandResult] = {}
    names: dict[Command, str] = {LINK: "ip-link", ADDR: "ip-addr", ROUTE4: "ip-route4", ROUTE6: "ip-route6",
                                 RULE: "ip-rule"}
    for command, name in names.items():
        path = OUTPUTS / f"{case}-{name}.json"
        if path.exists():
            answers[str(command)] = CommandResult(str(command), 0, path.read_text())
    return FakeHost(answers)


def test_wireguard_full_tunnel_by_policy_routing():
    # Given wg-quick's interface, its table 51820 and its two rules
    facts = collect(recorded("debian12-wg"), LINUX)
    # Then wg0 is a tunnel that is up with its address
    wg0 = facts.interface("wg0")
    assert wg0 is not None and wg0.kind == "wireguard" and wg0.tunnel and wg0.up
    assert [a.local for a in wg0.addresses if a.family == "inet"] == ["10.8.0.2"]
    # And the default route of table 51820 goes through it, while main keeps the DHCP default on eth0
    assert [(r.dev, r.table) for r in facts.routes if r.dst == "default"] == [("wg0", "51820"), ("eth0", "main")]
    # And the rules say "not fwmark 0xca6c lookup 51820" and "lookup main suppress_prefixlength 0"
    fwmark = next(r for r in facts.rules if r.table == "51820")
    assert (fwmark.priority, fwmark.fwmark, fwmark.inverted) == (32765, "0xca6c", True)
    assert [r.suppress_prefixlength for r in facts.rules if r.table == "main"] == [0, None]
    # And local/broadcast entries of the local table are not routes
    assert all(r.table != "local" for r in facts.routes)
    assert facts.unavailable == {}


def test_openvpn_split_default_routes():
    facts = collect(recorded("debian12-openvpn"), LINUX)
    tun0 = facts.interface("tun0")
    assert tun0 is not None and tun0.kind == "tun" and tun0.up and tun0.operstate == "UNKNOWN"
    halves = {r.dst: r.dev for r in facts.routes if r.dst in ("0.0.0.0/1", "128.0.0.0/1")}
    assert halves == {"0.0.0.0/1": "tun0", "128.0.0.0/1": "tun0"}
    # ip -6 route was not recorded for this case: exit 127 is reported, not raised
    assert facts.unavailable == {str(ROUTE6): "`ip` is not installed"}


def test_this_container_recording():
    facts = collect(recorded("debian12-container"), LINUX)
    assert [i.name for i in facts.interfaces] == ["lo", "ifb0", "ifb1", "eth0"]
    ifb0 = facts.interface("ifb0")
    assert ifb0 is not None and not ifb0.up and not ifb0.tunnel
    assert {(r.family, r.dst, r.dev, r.metric) for r in facts.routes if r.dst == "default"} == {
        ("inet", "default", "eth0", 0), ("inet6", "default", "eth0", 1024)}


def test_tun_without_daemon_is_not_up():
    # Given a tun device that is administratively up but has no process attached (NO-CARRIER)
    link = '[{"ifname":"tun0","flags":["NO-CARRIER","POINTOPOINT","MULTICAST","NOARP","UP"],"operstate":"DOWN",' \
           '"link_type":"none","linkinfo":{"info_kind":"tun"}}]'
    (tun0,) = parse_ip_link(link)
    assert tun0.tunnel and not tun0.up


def test_unreadable_json_gives_nothing():
    assert parse_ip_route("Error: ipv4: FIB table does not exist.", "inet") == ()
    assert parse_ip_link("{}", "") == ()
