"""Facts about the host firewall: nftables, iptables (nf_tables and legacy backends), ufw and firewalld.

What decides inbound filtering is the kernel's input hook, so the facts are the base chains hooked
there (and, to explain Docker/libvirt rule sets, those hooked at forward), each with its policy and
whether its last rule drops everything that reached it. ufw and firewalld are read through their
own tools as well, because their wording is what an administrator recognises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from auditor.collectors.base import Requests
from auditor.collectors.native import NATIVE, native_collect, native_requests
from auditor.collectors.native_facts import MacosFirewall, WindowsFirewall
from auditor.models import SystemFacts
from auditor.records import record
from auditor.transports.base import Transport, cmd

NFT = cmd("nft", "-j", "list", "ruleset", sudo=True)
IPTABLES = cmd("iptables-save", sudo=True)
IP6TABLES = cmd("ip6tables-save", sudo=True)
IPTABLES_LEGACY = cmd("iptables-legacy-save", sudo=True)
IP6TABLES_LEGACY = cmd("ip6tables-legacy-save", sudo=True)
UFW = cmd("ufw", "status", "verbose", sudo=True)
FIREWALLD_STATE = cmd("firewall-cmd", "--state")
FIREWALLD_ZONE = cmd("firewall-cmd", "--list-all", sudo=True)

_BLOCKING = ("drop", "reject")
# nft statements that do not match anything: a rule made only of these applies to every packet.
_UNCONDITIONAL = frozenset({"counter", "log", "drop", "reject", "comment"})
# firewall-cmd's warning when a zone other than the default one holds connections or interfaces, e.g.
# "but your connections/interfaces are in zone 'home,public' (see --get-active-zones)".
_OTHER_ZONES = re.compile(r"your connections/interfaces are in zone '([^']*)'")
_WARNING_LINE = re.compile(r"^(?:You're performing an operation|but your connections/interfaces|You most likely need)")


@record
class BaseChain:
    """Attributes:
    source: "nftables" (every nf_tables table, iptables-nft's included) or "iptables-legacy".
    family: ip (IPv4), ip6 (IPv6) or inet (both).
    table / name: where the chain lives (e.g. inet filter input, ip filter INPUT).
    hook: "input" or "forward".
    policy: "accept" or "drop", as set on the chain.
    final_verdict: "drop" or "reject" when the chain's last rule blocks every packet, else "".
    rules: how many rules the chain holds.
    """

    source: str
    family: str
    table: str
    name: str
    hook: str
    policy: str
    final_verdict: str = ""
    rules: int = 0

    @property
    def default_deny(self) -> bool:
        """What no rule accepted is dropped or rejected."""
        return self.policy in _BLOCKING or self.final_verdict in _BLOCKING

    def __str__(self) -> str:
        return f"{self.source} {self.family} {self.table} {self.name}"


@record
class UfwStatus:
    """Attributes:
    active: "Status: active".
    incoming: the default for incoming traffic (deny, reject, allow), "" when inactive.
    rules: the rule lines of the table ("22/tcp ALLOW IN Anywhere").
    """

    active: bool
    incoming: str = ""
    rules: tuple[str, ...] = ()


@record
class FirewalldStatus:
    """Attributes:
    running: `firewall-cmd --state` said running.
    zone: the default zone (the first line of `--list-all`).
    target: the zone's target: default and %%REJECT%% reject, DROP drops, ACCEPT lets everything in.
    services / ports: what the zone lets in.
    other_zones: zones that firewall-cmd warned hold connections or interfaces although they are not the default
        zone (`--list-all` shows the default zone only, so their targets are not read).
    """

    running: bool
    zone: str = ""
    target: str = ""
    services: tuple[str, ...] = ()
    ports: tuple[str, ...] = ()
    other_zones: tuple[str, ...] = ()


@record
class FirewallFacts:
    """Attributes:
    chains: input and forward base chains of every netfilter rule set that could be read.
    nftables_read / legacy_read: whether those rule sets were read (an empty ruleset counts as read).
    ufw / firewalld: their status, None when the tool is absent or did not answer.
    unavailable: for each source that could not be read, why (CommandResult.failure: "`ufw` is not installed").

    Windows and macOS answer with WindowsFirewall and MacosFirewall (native_facts.py) instead.
    """

    chains: tuple[BaseChain, ...] = ()
    nftables_read: bool = False
    legacy_read: bool = False
    ufw: UfwStatus | None = None
    firewalld: FirewalldStatus | None = None
    unavailable: Mapping[str, str] = field(default_factory=dict)

    def input_chains(self) -> tuple[BaseChain, ...]:
        """The chains every inbound packet traverses."""
        return tuple(c for c in self.chains if c.hook == "input")


def requests(system: SystemFacts) -> Requests:
    if system.platform in NATIVE:
        return native_requests("firewall", system)
    return (NFT, IPTABLES, IP6TABLES, IPTABLES_LEGACY, IP6TABLES_LEGACY, UFW, FIREWALLD_STATE, FIREWALLD_ZONE), ()


def collect(host: Transport, system: SystemFacts) -> FirewallFacts | WindowsFirewall | MacosFirewall:
    if system.platform in NATIVE:
        return native_collect("firewall", host, system)  # type: ignore[no-any-return]
    unavailable: dict[str, str] = {}
    chains: list[BaseChain] = []
    nft = host.run(NFT)
    if nft.ok:
        chains += parse_nft_ruleset(nft.stdout)
    else:
        unavailable["nftables"] = nft.failure()
    legacy_read = False
    for legacy, default, family in ((IPTABLES_LEGACY, IPTABLES, "ip"), (IP6TABLES_LEGACY, IP6TABLES, "ip6")):
        # iptables-save is the legacy backend itself on systems without iptables-legacy-save (RHEL 7, old
        # Ubuntu); its nf_tables flavour only repeats what nft already listed.
        for command in (legacy, default):
            result = host.run(command)
            if result.ok and (command is legacy or "(nf_tables)" not in result.stdout):
                chains += parse_iptables_save(result.stdout, family)
                legacy_read = True
                break
            if not result.ok and not result.not_found:
                unavailable[command.argv[0]] = result.failure()
    ufw = host.run(UFW)
    ufw_status = parse_ufw_status(ufw.stdout) if ufw.ok else None
    if not ufw.ok:
        unavailable["ufw"] = ufw.failure()
    firewalld = _firewalld(host, unavailable)
    return FirewallFacts(tuple(dict.fromkeys(chains)), nft.ok, legacy_read, ufw_status, firewalld, unavailable)


def _firewalld(host: Transport, unavailable: dict[str, str]) -> FirewalldStatus | None:
    state = host.run(FIREWALLD_STATE)
    if state.not_found:
        unavailable["firewalld"] = state.failure()
        return None
    if state.stdout.strip() != "running":
        return FirewalldStatus(False)
    zone = host.run(FIREWALLD_ZONE)
    if not zone.ok:
        unavailable["firewalld"] = zone.failure()
        return FirewalldStatus(True)
    return parse_firewalld_list_all(zone.stdout, zone.stderr)


def parse_nft_ruleset(text: str) -> list[BaseChain]:
    """`nft -j list ruleset` (libnftables-json(5)): filter base chains at the input and forward hooks."""
    try:
        objects = json.loads(text).get("nftables", [])
    except (json.JSONDecodeError, AttributeError):
        return []
    chains: dict[tuple[str, str, str], dict[str, Any]] = {}
    rules: dict[tuple[str, str, str], list[list[Any]]] = {}
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        if isinstance(chain := obj.get("chain"), dict) and chain.get("hook") in ("input", "forward") \
                and chain.get("type", "filter") == "filter":
            chains[(chain.get("family", ""), chain.get("table", ""), chain.get("name", ""))] = chain
        elif isinstance(rule := obj.get("rule"), dict):
            key = (rule.get("family", ""), rule.get("table", ""), rule.get("chain", ""))
            rules.setdefault(key, []).append(rule.get("expr", []))
    found = []
    for key, chain in chains.items():
        exprs = rules.get(key, [])
        final = _nft_final_verdict(exprs[-1]) if exprs else ""
        found.append(BaseChain("nftables", key[0], key[1], key[2], str(chain["hook"]),
                               str(chain.get("policy", "accept")), final, len(exprs)))
    return found


def _nft_final_verdict(expr: list[Any]) -> str:
    keys = {key for statement in expr if isinstance(statement, dict) for key in statement}
    if keys and keys <= _UNCONDITIONAL:
        return next((verdict for verdict in _BLOCKING if verdict in keys), "")
    return ""


def parse_iptables_save(text: str, family: str = "ip") -> list[BaseChain]:
    """`iptables-save` / `ip6tables-save`: the filter table's INPUT and FORWARD chains."""
    policies: dict[str, str] = {}
    rules: dict[str, list[list[str]]] = {}
    table = ""
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif table == "filter" and line.startswith(":"):
            name, _, rest = line[1:].partition(" ")
            policies[name] = rest.split(" ")[0].lower()
        elif table == "filter" and line.startswith("-A "):
            words = line.split()
            rules.setdefault(words[1], []).append(words[2:])
    found = []
    for name, hook in (("INPUT", "input"), ("FORWARD", "forward")):
        if name in policies:
            chain_rules = rules.get(name, [])
            final = ""
            if chain_rules and chain_rules[-1][:1] == ["-j"] and chain_rules[-1][1].lower() in _BLOCKING:
                final = chain_rules[-1][1].lower()
            found.append(BaseChain("iptables-legacy", family, "filter", name, hook, policies[name], final,
                                   len(chain_rules)))
    return found


def parse_ufw_status(text: str) -> UfwStatus:
    """`ufw status verbose`: Status, the Default line, and the rule table after the dashes."""
    active = False
    incoming = ""
    rules: list[str] = []
    in_table = False
    for line in text.splitlines():
        if line.startswith("Status:"):
            active = line.split(":", 1)[1].strip() == "active"
        elif line.startswith("Default:"):
            for part in line.split(":", 1)[1].split(","):
                if part.strip().endswith("(incoming)"):
                    incoming = part.strip().split(" ")[0]
        elif line.startswith("--"):
            in_table = True
        elif in_table and line.strip():
            rules.append(" ".join(line.split()))
    return UfwStatus(active, incoming, tuple(rules))


def parse_firewalld_list_all(text: str, stderr: str = "") -> FirewalldStatus:
    """`firewall-cmd --list-all`: "public (active)" then indented "key: value" lines; before them, on either
    stream, the warning that names the zones holding the connections when the default zone does not."""
    others = [name.strip() for match in _OTHER_ZONES.finditer(f"{stderr}\n{text}")
              for name in match.group(1).split(",") if name.strip()]
    # The zone block is the first unindented line that is not part of the warning (it ends at a blank line).
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() and not line[0].isspace()
                  and not _WARNING_LINE.match(line)), len(lines))
    zone = lines[start].split(" ")[0].strip() if start < len(lines) else ""
    values: dict[str, str] = {}
    for line in lines[start + 1:]:
        key, found, value = line.strip().partition(":")
        if found:
            values[key.strip()] = value.strip()
    return FirewalldStatus(True, zone, values.get("target", ""), tuple(values.get("services", "").split()),
                           tuple(values.get("ports", "").split()),
                           tuple(z for z in dict.fromkeys(others) if z != zone))
