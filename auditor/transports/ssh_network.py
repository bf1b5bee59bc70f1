"""SSH seen from the network alone: banner, KEXINIT, host keys and offered authentication methods, no login.

Used for `auth: none` targets, when only network checks (SSH-0100, SSH-0110) run, and when a login failed,
unless a ProxyJump or ProxyCommand is needed to reach the host (those need the full SSH transport). It answers
the pseudo-commands the SSH transport answers, each over its own connection and all at once; anything that
needs a login is refused as UnsupportedTarget. Only the authentication probe imports paramiko (about 0.1 s:
it imports invoke); the banner, KEXINIT and host keys are read by _ssh_wire alone.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from auditor.errors import ConnectError, TransportError, UnsupportedTarget
from auditor.transports._ssh_settings import Settings
from auditor.transports._ssh_wire import AUTH_METHODS, HOSTKEY, HOSTKEYS, KEXINIT, ProbeError, host_keys, probe
from auditor.transports.base import Command, CommandResult, FileContent

if TYPE_CHECKING:
    from auditor.transports._ssh_auth import HostKeyInfo

NETWORK_COMMANDS = (HOSTKEY, KEXINIT, HOSTKEYS, AUTH_METHODS)
NO_LOGIN = ("not logged in: only network checks (SSH-0100, SSH-0110) can run on this target; host checks need a "
            "login")


# Every connection tcp_connect made that may still be open: on Ctrl-C the runner shuts them all down, so that a
# thread waiting for a silent host's banner returns at once instead of after its banner_timeout.
_OPEN: weakref.WeakSet[socket.socket] = weakref.WeakSet()
_OPEN_LOCK = threading.Lock()


def abort_connections() -> None:
    """Shut down every connection tcp_connect opened that is still open: nothing more will be read from any."""
    with _OPEN_LOCK:
        open_now = list(_OPEN)
    for sock in open_now:
        with contextlib.suppress(OSError):  # closed already
            sock.shutdown(socket.SHUT_RDWR)


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
    with _OPEN_LOCK:
        _OPEN.add(sock)
    return sock


def network_answer(command: Command, settings: Settings, host_key: HostKeyInfo | None,
                   open_socket: Callable[[str, int, float], Any],
                   login_algorithms: Mapping[str, str] | None = None) -> CommandResult:
    """The answer to a pseudo-command: the verified host key and the algorithms the login agreed, or what the
    server shows the network (banner and KEXINIT, host keys, authentication methods), read afresh."""
    s = settings
    if command.argv[0] == HOSTKEY:
        if host_key is None:
            return CommandResult(str(command), 1, "", "not logged in: no host key was verified")
        return CommandResult(str(command), 0, json.dumps({
            "host": s.host, "port": s.port, "type": host_key.key_type, "sha256": host_key.sha256,
            "status": host_key.status, "known_hosts": host_key.known_hosts,
            "algorithms": dict(login_algorithms or {}), "legacy_ssh": s.legacy}) + "\n")
    timeout = s.connect_timeout + s.banner_timeout
    try:
        if command.argv[0] == KEXINIT:
            answer = probe(s.host, s.port, timeout, open_socket)
        elif command.argv[0] == HOSTKEYS:
            answer = host_keys(s.host, s.port, timeout, open_socket)
        else:
            answer = json.dumps({"host": s.host, "port": s.port, **_auth_methods(s, open_socket)})
    except (ProbeError, TransportError, OSError) as exc:
        return CommandResult(str(command), 1, "", f"probing the SSH server at {s.host}:{s.port} failed: {exc}")
    return CommandResult(str(command), 0, answer + "\n")


def _auth_methods(s: Settings, open_socket: Callable[[str, int, float], Any]) -> dict[str, Any]:
    import paramiko

    from auditor.transports._ssh_paramiko import offered_auth_methods

    sock = open_socket(s.host, s.port, s.connect_timeout)
    try:
        return offered_auth_methods(sock, s.user, s.banner_timeout + s.auth_timeout)
    except (paramiko.SSHException, EOFError) as exc:
        raise ProbeError(f"the authentication probe (an SSH \"none\" request as {s.user!r}) failed: "
                         f"{exc or type(exc).__name__}") from exc


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
        if len(commands) < 2:
            return [self.run(command) for command in commands]
        # Each probe waits on its own connection: all at once.
        with ThreadPoolExecutor(max_workers=len(commands), thread_name_prefix=f"net-{self.target}") as pool:
            return list(pool.map(self.run, commands))

    def read_many(self, paths: Sequence[str]) -> list[FileContent]:
        if paths:
            raise UnsupportedTarget(self.target, NO_LOGIN)
        return []

    def close(self) -> None:
        """Nothing stays open between commands."""
