"""`Match` conditions: whether one applies to a connection (sshd's rules), and a connection that triggers it.

Patterns follow OpenSSH's match.c: `*` and `?` wildcards, comma-separated lists where a negated entry (`!p`)
that matches vetoes the list; host names are compared in lower case. Addresses follow addrmatch.c: an entry is
a network in CIDR notation (host bits must be zero) or else a wildcard pattern on the address text. All
criteria of one Match line must hold. sshd has no `Match Exec` (ssh_config has): it refuses a file with one,
and so does the scanner's reading.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache

from auditor.records import record

PROBE_USER, PROBE_HOST, PROBE_ADDRESS = "auditor-probe", "probe.invalid", "192.0.2.1"  # RFC 5737 address
_WITH_ARGUMENT = ("user", "group", "host", "address", "localaddress", "localport", "rdomain", "version")


@record
class Connection:
    """A client connection as `sshd -T -C` describes it; `groups` are the user's groups when known."""

    user: str = PROBE_USER
    host: str = PROBE_HOST
    addr: str = PROBE_ADDRESS
    laddr: str = ""
    lport: int = 0
    rdomain: str = ""
    groups: frozenset[str] = frozenset()
    invalid_user: bool = False

    def spec(self) -> str:
        """The `-C` argument of `sshd -T` for this connection."""
        parts = [f"user={self.user}", f"host={self.host}", f"addr={self.addr}"]
        parts += [f"laddr={self.laddr}"] if self.laddr else []
        parts += [f"lport={self.lport}"] if self.lport else []
        parts += [f"rdomain={self.rdomain}"] if self.rdomain else []
        parts += ["invalid-user"] if self.invalid_user else []
        return ",".join(parts)


@record
class Criterion:
    """One `Attribute value` pair of a Match line (`all` and `invalid-user` have no value)."""

    attribute: str
    value: str = ""


def parse_condition(args: Sequence[str]) -> tuple[Criterion, ...]:
    """A Match line's arguments -> criteria. Raises ValueError for what sshd rejects."""
    criteria: list[Criterion] = []
    words = list(args)
    while words:
        word = words.pop(0)
        name, equals, inline = word.partition("=")
        attribute = name.lower()
        if attribute in ("all", "invalid-user") and not equals:
            criteria.append(Criterion(attribute))
            continue
        if attribute == "exec":  # servconf.c match_cfg_line: this and anything else unknown stops sshd
            raise ValueError(f"Unsupported Match attribute {name} (Match Exec is ssh_config's, not sshd_config's)")
        if attribute not in _WITH_ARGUMENT:
            raise ValueError(f"Unsupported Match attribute {name}")
        value = inline if equals else (words.pop(0) if words else "")
        if not value:
            raise ValueError(f"Missing Match criteria for {name}")
        if attribute == "localport" and not _may_be_a_port(value):
            raise ValueError(f"Invalid LocalPort '{value}' on Match line")
        criteria.append(Criterion(attribute, value))
    if any(c.attribute == "all" for c in criteria) and len(criteria) > 1:
        raise ValueError("'all' cannot be combined with other Match attributes")
    return tuple(criteria)


def port_number(text: str) -> int | None:
    """The number a port argument names, as misc.c `a2port` reads it: signed digits (strtonum; the caller checks
    the range), or 22 for `ssh`, the one service name sshd configs use. None for another name, which only the
    target's services database knows, or for what is no port at all."""
    if re.fullmatch(r"[+-]?[0-9]+", text):
        return int(text)
    return 22 if text == "ssh" else None


def _may_be_a_port(text: str) -> bool:
    """`a2port` as sshd checks a Match LocalPort when it loads the file: one number from 0 to 65535, or a name
    the target's services database may know (which is the target's to say). A list (`22,2222`), a range or a
    pattern is no port: sshd refuses the file."""
    number = port_number(text)
    if number is not None:
        return 0 <= number <= 65535
    return re.fullmatch(r"[A-Za-z][A-Za-z0-9._-]*", text) is not None


def not_evaluable(criteria: Sequence[Criterion]) -> str:
    """Why a block is not evaluated ("" when it can be): criteria sshd does not know (it refuses the file)."""
    for criterion in criteria:
        if criterion.attribute == "refused":  # what parse_condition raised for the line
            return f"sshd refuses this Match line ({criterion.value}), so this block was not evaluated"
        if criterion.attribute not in (*_WITH_ARGUMENT, "all", "invalid-user"):
            return f"sshd knows no Match criterion {criterion.attribute!r}, so this block was not evaluated"
        if criterion.attribute == "version":
            return "Match Version depends on the sshd build, so this block was not evaluated"
    return ""


def applies(criteria: Sequence[Criterion], connection: Connection | None) -> bool:
    """Whether a Match line applies to the connection; `None` (no connection: the global pass) only `all`."""
    if connection is None:
        return any(c.attribute == "all" for c in criteria)
    return all(_holds(c, connection) for c in criteria)


def _holds(criterion: Criterion, c: Connection) -> bool:
    attribute, value = criterion.attribute, criterion.value
    if attribute == "all":
        return True
    if attribute == "invalid-user":
        return c.invalid_user
    if attribute == "user":
        return pattern_list(c.user, value) == 1
    if attribute == "group":
        results = [pattern_list(group, value) for group in c.groups]
        return -1 not in results and 1 in results
    if attribute == "host":
        return pattern_list(c.host.lower(), value, lower=True) == 1
    if attribute in ("address", "localaddress"):
        address = c.addr if attribute == "address" else c.laddr
        return bool(address) and address_list(address, value) == 1
    if attribute == "localport":
        return c.lport != 0 and value.isdigit() and int(value) == c.lport
    if attribute == "rdomain":
        return bool(c.rdomain) and pattern_list(c.rdomain, value) == 1
    return False


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern),
                      re.DOTALL)


def pattern(text: str, wildcard: str) -> bool:
    """match.c `match_pattern`: `*` any string, `?` one character, the rest literal."""
    return _regex(wildcard).fullmatch(text) is not None


def pattern_list(text: str, patterns: str, lower: bool = False) -> int:
    """match.c `match_pattern_list`: 1 a pattern matched, -1 a negated one matched (it wins), 0 none."""
    found = 0
    for entry in patterns.split(","):
        negated = entry.startswith("!")
        entry = entry[1:] if negated else entry
        if pattern(text, entry.lower() if lower else entry):
            if negated:
                return -1
            found = 1
    return found


def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(entry, strict=True)
    except ValueError:
        return None


def address_list(address: str, entries: str) -> int:
    """addrmatch.c `addr_match_list`: 1 matched, -1 a negated entry matched, 0 none (or not an address)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return 0
    found = 0
    for entry in entries.split(","):
        negated = entry.startswith("!")
        entry = entry[1:] if negated else entry
        network = _network(entry)
        hit = (ip in network) if network is not None and network.version == ip.version else \
            network is None and pattern(address, entry)
        if hit:
            if negated:
                return -1
            found = 1
    return found


def _samples(wildcard: str) -> list[str]:
    """Concrete texts a wildcard pattern matches: `*` as nothing or "x", `?` as "x"."""
    return list(dict.fromkeys(wildcard.replace("*", fill).replace("?", "x") for fill in ("", "x", "1")))


def _address_samples(entries: str) -> list[str]:
    samples: list[str] = []
    for entry in entries.split(","):
        if entry.startswith("!"):
            continue
        network = _network(entry)
        if network is not None:  # its first and last host too: a negated subnet may hold the first one
            samples += [str(network.network_address)] + ([str(next(network.hosts())), str(network[-2])]
                                                         if network.num_addresses > 2 else [])
            continue
        # `*` may stand for one octet or a whole address (`Match Address *,!10.0.0.0/8`), of either family
        for fill in ("1", "1.1", "1.1.1", "0", "1.1.1.1", "2001:db8::1"):
            samples.append(entry.replace("*", fill).replace("?", "1"))
    return samples


def may_match_an_address(patterns: str) -> bool:
    """Whether a `Match Host` pattern list matches some client address's text (UseDNS no: sshd compares the address,
    not a name): `10.*` may, `*.example.org` never does."""
    for entry in patterns.split(","):
        if entry.startswith("!"):
            continue
        for fill in ("1", "1.1", "1.1.1", "1.1.1.1", "0", "1:1", "::1"):
            sample = entry.replace("*", fill).replace("?", "1")
            try:
                ipaddress.ip_address(sample)
            except ValueError:
                continue
            if pattern_list(sample, patterns.lower(), lower=True) == 1:
                return True
    return False


def trigger(criteria: Sequence[Criterion], members: Mapping[str, Sequence[str]] | None = None,
            base: Connection | None = None) -> Connection | str:
    """A connection this Match line applies to, or why none could be made.

    `members` maps group names to accounts in them (from the target): a Group criterion then needs a real
    member, as `sshd -T -C` looks the user's groups up; without `members` the connection just carries the group.
    """
    connection = base or Connection()
    for criterion in criteria:
        attribute, value = criterion.attribute, criterion.value
        if attribute in ("user", "host", "rdomain"):
            text = value.lower() if attribute == "host" else value
            options = [s for p in text.split(",") if not p.startswith("!") for s in _samples(p)]
            chosen = next((s for s in options if s and pattern_list(s, text, attribute == "host") == 1), None)
            if chosen is None:
                return f"no {attribute} name matches {value!r}"
            connection = replace(connection, user=chosen) if attribute == "user" else \
                replace(connection, host=chosen) if attribute == "host" else replace(connection, rdomain=chosen)
        elif attribute in ("address", "localaddress"):
            options = [s for s in _address_samples(value) if address_list(s, value) == 1]
            if not options:
                return f"no address matches {value!r}"
            connection = replace(connection, addr=options[0]) if attribute == "address" else \
                replace(connection, laddr=options[0])
        elif attribute == "localport":
            if not value.isdigit() or not 0 < int(value) < 65536:
                return f"LocalPort {value!r} is not a port"
            connection = replace(connection, lport=int(value))
        elif attribute == "invalid-user":
            connection = replace(connection, invalid_user=True)
    groups = [c.value for c in criteria if c.attribute == "group"]
    if groups:
        made = _with_group(connection, groups, criteria, members)
        if isinstance(made, str):
            return made
        connection = made
    return connection if applies(criteria, connection) else "no connection matches every criterion of this line"


def _with_group(connection: Connection, groups: Sequence[str], criteria: Sequence[Criterion],
                members: Mapping[str, Sequence[str]] | None) -> Connection | str:
    wanted = [s for g in groups for p in g.split(",") if not p.startswith("!") for s in _samples(p) if s]
    if members is None:
        return replace(connection, groups=frozenset(wanted[:1]))
    for group in wanted:
        for user in members.get(group, ()):
            candidate = replace(connection, user=user, groups=frozenset({group}))
            if applies(criteria, candidate):
                return candidate
    return (f"no account on the host is a listed member of group {' or '.join(wanted) or groups[0]!r}, so sshd "
            "cannot be asked about this block")
