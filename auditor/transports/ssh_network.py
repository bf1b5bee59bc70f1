"""SSH seen from the network alone: the server's banner and KEXINIT, without logging in and without paramiko.

Used for `auth: none` targets and when only network checks (SSH-0100) run, unless a ProxyJump or
ProxyCommand is needed to reach the host (those need the full SSH transport). It answers the two
pseudo-commands the SSH transport answers; anything that needs a login is refused as UnsupportedTarget.
Importing paramiko costs about 0.1 s (it imports invoke), a third of such a scan.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from auditor.errors import ConnectError, TransportError, UnsupportedTarget
from auditor.transports._ssh_settings import Settings
from auditor.transports._ssh_wire import HOSTKEY, KEXINIT, ProbeError, probe
from auditor.transports.base import Command, CommandResult, FileContent

if TYPE_CHECKING:
    from auditor.transports._ssh_auth import HostKeyInfo

NETWORK_COMMANDS = (HOSTKEY, KEXINIT)
NO_LOGIN = ("auth: none: nothing is logged into on this target, so only network checks (SSH-0100) can run; "
            "host checks need a login")


def tcp_connect(target: str, host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection with TCP_NODELAY; every failure is a ConnectError that says why."""
    where = f"{host}:{port}"
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror as exc:
        raise ConnectError(target, f"cannot resolve {host!r} ({exc.strerror})") from exc
    except ConnectionRefusedError as exc:
        raise ConnectError(target, f"connection refused by {where} (is sshd listening?)") from exc
    except TimeoutError as exc:
        raise ConnectError(target, f"no TCP connection to {where} within {timeout:g} s") from exc
    except OSError as exc:
        raise ConnectError(target, f"cannot connect to {where} ({exc.strerror or exc})") from exc
    # paramiko leaves Nagle on, which delays every small packet of a batch by a round trip.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def network_answer(command: Command, settings: Settings, host_key: HostKeyInfo | None,
                   open_socket: Callable[[str, int, float], Any]) -> CommandResult:
    """The answer to a pseudo-command: the verified host key, or the banner and KEXINIT read afresh."""
    s = settings
    if command.argv[0] == HOSTKEY:
        if host_key is None:
            return CommandResult(str(command), 1, "", "not logged in (auth: none): no host key was verified")
        return CommandResult(str(command), 0, json.dumps({
            "host": s.host, "port": s.port, "type": host_key.key_type, "sha256": host_key.sha256,
            "status": host_key.status, "known_hosts": host_key.known_hosts}) + "\n")
    try:
        return CommandResult(str(command), 0, probe(s.host, s.port, s.connect_timeout + s.banner_timeout,
                                                    open_socket) + "\n")
    except (ProbeError, TransportError, OSError) as exc:
        return CommandResult(str(command), 1, "", f"reading the SSH banner of {s.host}:{s.port} failed: {exc}")


class SshNetworkTransport:
    """An SSH target reached only over TCP: each network pseudo-command opens its own connection."""

    def __init__(self, target: str, settings: Settings) -> None:
        self.target = target
        self.settings = settings

    def _open_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return tcp_connect(self.target, host, port, timeout)

    def run(self, command: Command) -> CommandResult:
        if not command.argv or command.argv[0] not in NETWORK_COMMANDS:
            raise UnsupportedTarget(self.target, NO_LOGIN)
        return network_answer(command, self.settings, None, self._open_socket)

    def read_file(self, path: str) -> FileContent:
        raise UnsupportedTarget(self.target, NO_LOGIN)

    def run_many(self, commands: Sequence[Command]) -> list[CommandResult]:
        return [self.run(command) for command in commands]

    def read_many(self, paths: Sequence[str]) -> list[FileContent]:
        if paths:
            raise UnsupportedTarget(self.target, NO_LOGIN)
        return []

    def close(self) -> None:
        """Nothing stays open between commands."""
