"""Facts about listening TCP and UDP sockets, from `ss -H -tulpn` (process names need root).

ss prints the local address as ADDRESS[%INTERFACE]:PORT: `0.0.0.0:22`, `[::]:22`, `*:22` (an IPv6
socket that also accepts IPv4), `127.0.0.53%lo:53` (bound to a device), `[::ffff:127.0.0.1]:631`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import field

from auditor.collectors.base import Requests
from auditor.collectors.native import NATIVE, native_collect, native_requests
from auditor.models import SystemFacts
from auditor.records import record
from auditor.transports.base import Transport, cmd

SS = cmd("ss", "-H", "-tulpn", sudo=True)

_PROCESS = re.compile(r'\("([^"]*)",pid=(\d+)')


@record
class Listener:
    """Attributes:
    protocol: "tcp" or "udp".
    address: the bound address without brackets: "0.0.0.0", "::", "*" (IPv6 and IPv4), "127.0.0.53".
    port: the port number.
    interface: the device the socket is bound to ("lo" for `127.0.0.53%lo`), "" for none.
    processes: names of the processes holding the socket (empty when ss could not see them).
    """

    protocol: str
    address: str
    port: int
    interface: str = ""
    processes: tuple[str, ...] = ()

    @property
    def loopback(self) -> bool:
        """Reachable only from this host: a loopback address (also IPv4-mapped) or bound to lo."""
        if self.interface == "lo":
            return True
        try:
            ip = ipaddress.ip_address(self.address)
        except ValueError:
            return False
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        return ip.is_loopback or bool(mapped and mapped.is_loopback)

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        device = f"%{self.interface}" if self.interface else ""
        owner = f" ({', '.join(self.processes)})" if self.processes else ""
        return f"{self.port}/{self.protocol} on {host}{device}{owner}"


@record
class ListenerFacts:
    """Attributes:
    listeners: every listening TCP socket and bound UDP socket, in ss order.
    read: ss answered (False: `unavailable` says why and `listeners` is empty).
    process_names_hidden: some sockets came without a process name (ss needs root to see other users').
    unavailable: why the sockets could not be listed, keyed by the tool ("ss", "lsof", "Get-NetTCPConnection").
    """

    listeners: tuple[Listener, ...] = ()
    read: bool = True
    process_names_hidden: bool = False
    unavailable: Mapping[str, str] = field(default_factory=dict)

    def exposed(self) -> tuple[Listener, ...]:
        """Listeners reachable from other hosts."""
        return tuple(item for item in self.listeners if not item.loopback)


def requests(system: SystemFacts) -> Requests:
    if system.platform in NATIVE:
        return native_requests("listeners", system)
    return (SS,), ()


def collect(host: Transport, system: SystemFacts) -> ListenerFacts:
    if system.platform in NATIVE:
        return native_collect("listeners", host, system)  # type: ignore[no-any-return]
    result = host.run(SS)
    if not result.ok:
        return ListenerFacts((), False, False, {"ss": result.failure()})
    listeners = parse_ss(result.stdout)
    return ListenerFacts(listeners, True, any(not item.processes for item in listeners))


def parse_ss(text: str) -> tuple[Listener, ...]:
    """`ss -H -tulpn` lines: Netid State Recv-Q Send-Q Local Peer [users:((...))]; a header line is skipped."""
    listeners = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 6 or fields[0] not in ("tcp", "udp"):
            continue
        parsed = parse_local_address(fields[4])
        if parsed is None:
            continue
        address, interface, port = parsed
        names = tuple(dict.fromkeys(match.group(1) for match in _PROCESS.finditer(" ".join(fields[6:]))))
        listeners.append(Listener(fields[0], address, port, interface, names))
    return tuple(listeners)


def parse_local_address(text: str) -> tuple[str, str, int] | None:
    """`[::1]:631` -> ("::1", "", 631); `127.0.0.53%lo:53` -> ("127.0.0.53", "lo", 53); None if unreadable."""
    host, _, port = text.rpartition(":")
    if not port.isdigit():
        return None
    interface = ""
    if "%" in host:
        host, _, interface = host.rpartition("%")
    return host.strip("[]"), interface, int(port)
