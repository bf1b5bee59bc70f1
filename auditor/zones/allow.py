"""A worker's allow-list: the target names (globs) and networks (CIDRs) it may scan, and nothing else, so a
compromised broker cannot turn a worker holding SSH keys against arbitrary hosts."""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
from collections.abc import Sequence

from auditor.errors import InputError
from auditor.models import Target, TargetKind
from auditor.records import record

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@record
class AllowList:
    """Names are globs over a target's name and host; a network admits a host whose every address is in it."""

    names: tuple[str, ...]
    networks: tuple[Network, ...]

    @classmethod
    def parse(cls, entries: Sequence[str]) -> AllowList:
        """--allow values: a CIDR (10.40.0.0/16), an address, or a name glob (db-*)."""
        names: list[str] = []
        networks: list[Network] = []
        for entry in entries:
            if not entry.strip():
                raise InputError("an empty allow-list entry", "--allow", "write e.g. --allow 10.40.0.0/16")
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                if "/" in entry:
                    raise InputError(f"{entry!r} is not a network", "--allow", "write e.g. 10.40.0.0/16") from None
                names.append(entry)
        if not names and not networks:
            raise InputError("a worker needs an allow-list", "--allow",
                             "name the zone's networks or targets, e.g. --allow 10.40.0.0/16 --allow 'db-*'")
        return cls(tuple(names), tuple(networks))

    def refusal(self, target: Target) -> str:
        """Why this worker may not scan `target` ("" when it may)."""
        host = str(target.options.get("host", "")) if target.kind is not TargetKind.LOCAL else ""
        if any(fnmatch.fnmatchcase(target.name, n) or (host and fnmatch.fnmatchcase(host, n)) for n in self.names):
            return ""
        if host and self.networks:
            addresses = _addresses(host)
            if addresses and all(any(a in net for net in self.networks) for a in addresses):
                return ""
        return (f"target {target.name!r} ({host or target.kind.value}) is not in this worker's allow-list; "
                "add it with --allow on the zone's worker, or move the target to its own zone")


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
