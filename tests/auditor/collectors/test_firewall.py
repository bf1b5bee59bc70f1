"""firewall collector: recorded nft, iptables-save, ufw and firewall-cmd outputs become base chains and states."""

from __future__ import annotations

import json

import pytest

from auditor.collectors.firewall import (
    FIREWALLD_STATE,
    FIREWALLD_ZONE,
    IP6TABLES,
    IPTABLES,
    IPTABLES_LEGACY,
    NFT,
    UFW,
    collect,
    parse_firewalld_list_all,
    parse_nft_ruleset,
)
from auditor.models import Platform, SystemFacts
from auditor.transports.base import Command, CommandResult
from tests.auditor.fake_host import FakeHost
from tests.conftest import FIXTURES

OUTPUTS = FIXTURES / "outputs" / "network"
LINUX = SystemFacts(Platform.LINUX)


def text(name: str) -> str:
    return (OUTPUTS / name).read_text()


def ok(command: Command, stdout: str) -> tuple[str, CommandResult]:
    return str(command), CommandResult(str(command), 0, stdout)


def failed(command: Command, status: int, stderr: str) -> tuple[str, CommandResult]:
    return str(command), CommandResult(str(command), status, "", stderr)


def chains(facts):
    return {(c.family, c.table, c.name, c.hook, c.policy, c.final_verdict) for c in facts.chains}


def test_debian_server_with_nftables_policy_drop():
    facts = collect(FakeHost(dict([ok(NFT, text("debian12-nft-server-drop.json"))])), LINUX)
    assert chains(facts) == {("inet", "filter", "input", "input", "drop", ""),
                             ("inet", "filter", "forward", "forward", "drop", "")}
    (chain,) = facts.input_chains()
    assert chain.default_deny and chain.rules == 7
    # The output chain is no inbound filter and is not listed
    assert all(c.hook != "output" for c in facts.chains)


def test_debian_shipped_nftables_conf_accepts():
    facts = collect(FakeHost(dict([ok(NFT, text("debian12-nft-default-accept.json"))])), LINUX)
    (chain,) = facts.input_chains()
    assert (chain.policy, chain.rules, chain.default_deny) == ("accept", 0, False)


def test_firewalld_ruleset_denies_by_its_final_reject_and_firewall_cmd_is_read():
    host = FakeHost(dict([
        ok(NFT, text("rhel9-firewalld-nft.json")),
        ok(FIREWALLD_STATE, text("rhel9-firewall-cmd-state.txt")),
        ok(FIREWALLD_ZONE, text("rhel9-firewall-cmd-list-all.txt")),
    ]))
    facts = collect(host, LINUX)
    (chain,) = facts.input_chains()
    assert (chain.table, chain.name, chain.policy, chain.final_verdict) == ("firewalld", "filter_INPUT", "accept",
                                                                             "reject")
    assert chain.default_deny
    assert facts.firewalld is not None and facts.firewalld.running
    assert (facts.firewalld.zone, facts.firewalld.target) == ("public", "default")
    assert facts.firewalld.services == ("cockpit", "dhcpv6-client", "ssh") and facts.firewalld.ports == ()


def test_this_container_empty_ruleset_and_inactive_ufw():
    host = FakeHost(dict([ok(NFT, text("debian12-container-nft-empty.json")),
                          ok(UFW, text("debian12-ufw-status-inactive.txt"))]))
    facts = collect(host, LINUX)
    assert facts.chains == () and facts.nftables_read
    assert facts.ufw is not None and not facts.ufw.active
    assert facts.unavailable == {"firewalld": "`firewall-cmd` is not installed"}


def test_ufw_active_status_and_its_iptables_nft_chains():
    host = FakeHost(dict([ok(NFT, text("debian12-ufw-active-nft.json")),
                          ok(UFW, text("debian12-ufw-status-active.txt"))]))
    facts = collect(host, LINUX)
    assert facts.ufw is not None and facts.ufw.active and facts.ufw.incoming == "deny"
    assert facts.ufw.rules == ("22/tcp ALLOW IN Anywhere", "22/tcp (v6) ALLOW IN Anywhere (v6)")
    inputs = {(c.family, c.name, c.policy) for c in facts.input_chains()}
    assert inputs == {("ip", "INPUT", "drop"), ("ip6", "INPUT", "drop")}


def test_legacy_docker_tables_touch_only_forward():
    # Given Docker's legacy tables (INPUT ACCEPT), seen by iptables-legacy-save, while iptables-save (nf_tables)
    # only warns that legacy tables exist
    host = FakeHost(dict([
        ok(NFT, text("debian12-container-nft-empty.json")),
        ok(IPTABLES_LEGACY, text("debian12-iptables-legacy-save-docker.txt")),
        ok(IPTABLES, text("debian12-iptables-save-legacy-warning.txt")),
    ]))
    facts = collect(host, LINUX)
    assert chains(facts) == {("ip", "filter", "INPUT", "input", "accept", ""),
                             ("ip", "filter", "FORWARD", "forward", "drop", "")}
    assert facts.legacy_read and not facts.input_chains()[0].default_deny
    assert all(c.source == "iptables-legacy" for c in facts.chains)


def test_iptables_save_is_the_legacy_backend_when_no_legacy_variant_exists():
    # Given an older system where iptables-save itself is legacy (no "(nf_tables)" in its header)
    legacy = text("debian12-iptables-legacy-save-docker.txt").replace(":INPUT ACCEPT", ":INPUT DROP")
    facts = collect(FakeHost(dict([ok(IPTABLES, legacy)])), LINUX)
    assert [(c.name, c.policy) for c in facts.input_chains()] == [("INPUT", "drop")]


# Real messages of nft 1.0.6, iptables 1.8.9 and ufw 0.36.2 run as an unprivileged user (Debian 12).
NON_ROOT = [
    failed(NFT, 1, "Operation not permitted (you must be root)\n"
                   "netlink: Error: cache initialization failed: Operation not permitted\n"),
    failed(IPTABLES, 4, "iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission "
                        "denied (you must be root)\n"),
    failed(IPTABLES_LEGACY, 1, "Failed to list table names in /proc/net/ip_tables_names: Permission denied\n"),
    failed(UFW, 1, "ERROR: You need to be root to run this script\n"),
]


def test_without_root_each_source_says_why():
    facts = collect(FakeHost(dict(NON_ROOT)), LINUX)
    assert not facts.nftables_read and not facts.legacy_read and facts.ufw is None
    assert facts.unavailable["nftables"] == \
        "`nft -j list ruleset` needs root: Operation not permitted (you must be root)"
    assert facts.unavailable["iptables-save"].startswith("`iptables-save` needs root: iptables-save v1.8.9 (nf_tables)")
    assert facts.unavailable["iptables-legacy-save"].startswith("`iptables-legacy-save` needs root: Failed to list")
    assert facts.unavailable["ufw"] == "`ufw status verbose` needs root: ERROR: You need to be root to run this script"
    # ip6tables-save is absent from this host (exit 127): absent tools are not an error
    assert str(IP6TABLES) not in facts.unavailable


@pytest.mark.parametrize(("expr", "final"), [
    ([{"reject": {"type": "icmpx", "expr": "admin-prohibited"}}], "reject"),
    ([{"counter": {"packets": 0, "bytes": 0}}, {"drop": None}], "drop"),
    ([{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 23}},
      {"drop": None}], ""),
    ([{"jump": {"target": "filter_INPUT_ZONES"}}], ""),
])
def test_only_an_unconditional_last_rule_blocks_everything(expr, final):
    ruleset = {"nftables": [
        {"chain": {"family": "inet", "table": "t", "name": "in", "type": "filter", "hook": "input",
                   "policy": "accept"}},
        {"rule": {"family": "inet", "table": "t", "chain": "in", "expr": expr}},
    ]}
    (chain,) = parse_nft_ruleset(json.dumps(ruleset))
    assert chain.final_verdict == final


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_firewall_cmd_warning_names_the_zones_the_interfaces_are_in(stream):
    # Given firewalld whose default zone public holds no interface, and firewall-cmd's warning (on a terminal the
    # two streams mix; either is read) that the connections/interfaces are in zone 'trusted'
    zone, warning = text("rhel9-firewall-cmd-list-all-trusted-zone.txt"), \
        text("rhel9-firewall-cmd-list-all-trusted-zone.stderr.txt")
    answer = CommandResult(str(FIREWALLD_ZONE), 0, warning + zone if stream == "stdout" else zone,
                           warning if stream == "stderr" else "")
    facts = collect(FakeHost({**dict([ok(NFT, text("rhel9-firewalld-nft.json")),
                                      ok(FIREWALLD_STATE, text("rhel9-firewall-cmd-state.txt"))]),
                              str(FIREWALLD_ZONE): answer}), LINUX)
    # Then the default zone is still read as public, and the other zone is named
    assert facts.firewalld is not None
    assert (facts.firewalld.zone, facts.firewalld.target) == ("public", "default")
    assert facts.firewalld.other_zones == ("trusted",)


def test_firewall_cmd_without_warning_names_no_other_zone():
    assert parse_firewalld_list_all(text("rhel9-firewall-cmd-list-all.txt")).other_zones == ()


def test_nftables_1_1_json_with_metainfo_and_named_policy():
    # Given nft 1.1's JSON (metainfo first, an inet table with input and forward policy drop)
    facts = collect(FakeHost(dict([ok(NFT, text("debian13-nft-1.1-drop.json"))])), LINUX)
    # Then both base chains are read, and the input chain drops by default
    (chain,) = facts.input_chains()
    assert (chain.family, chain.policy, chain.rules, chain.default_deny) == ("inet", "drop", 3, True)


def test_firewall_cmd_warning_on_a_docker_host_names_the_docker_zone():
    status = parse_firewalld_list_all(text("rhel9-firewall-cmd-list-all.txt"),
                                      text("rhel9-firewall-cmd-list-all-docker-zone.stderr.txt"))
    assert (status.zone, status.target, status.other_zones) == ("public", "default", ("docker",))
