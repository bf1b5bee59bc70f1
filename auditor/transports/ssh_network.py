"""SSH seen from the network alone: banner, KEXINIT, host keys and offered authentication methods, no login.

Used for `auth: none` targets, when only network checks (SSH-0100, SSH-0110) run, and when a login failed after
its TCP connection was made (one that made none, a NoTcpConnection, is not tried again), unless a ProxyJump or
ProxyCommand is needed to reach the host (those need the full SSH transport). It answers
the pseudo-commands the SSH transport answers; anything that needs a login is refused as UnsupportedTarget.

Asked together (as the ssh_wire and ssh_auth collectors ask them), the banner, the KEXINIT and the first host key
come over one connection, and so do the authentication methods when they are asked: the "none" request
(_ssh_none) completes the key exchange that brings that host key. Without them, the key exchange is only begun,
as far as the server's reply that carries the key, which needs no cryptography (SSH-0100 alone). Each other
host-key type has its own connection, all at once. Nothing here imports paramiko (about 0.1 s: it imports
invoke); a login does.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import socket
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from auditor.errors import ConnectError, NoTcpConnection, TransportError, UnsupportedTarget
from auditor.transports._ssh_settings import Settings
from auditor.transports._ssh_wire import (
    AUTH_METHODS,
    HOSTKEY,
    HOSTKEYS,
    KEXINIT,
    ProbeError,
    _lists,
    _start,
    fetch_host_key,
    host_keys,
    key_groups,
    probe,
    probe_kex,
)
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


# What a target's earlier connections found, for a short while: a refusal, or a peer that let a reader wait for
# its first byte in vain. After a failed login the network probes of the same target connect again at once: a port
# that refused, or accepted and said nothing, is not waited for once more (a silent port cost 3 banner timeouts).
_REMEMBERED_SECONDS = 30.0
_SLACK = 0.2  # seconds: a reader's last recv times out a moment before the reader itself gives up
_FOUND: dict[tuple[str, str, int], tuple[float, float, str]] = {}  # (target, host, port) -> (when, waited, why)


def address(host: str, port: int) -> str:
    """host:port, an IPv6 address in brackets ([::1]:22), so that the port is not read as part of it."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Watched(socket.socket):
    """A TCP connection that notes in _FOUND how long its peer has let it wait without sending a byte."""

    key: tuple[str, str, int]
    opened: float
    heard = False

    def recv(self, bufsize: int, flags: int = 0, /) -> bytes:
        try:
            data = super().recv(bufsize, flags)
        except TimeoutError:
            if not self.heard:
                now = time.monotonic()
                _FOUND[self.key] = (now, now - self.opened, f"{address(*self.key[1:])} accepted TCP but sent no SSH "
                                    f"banner within {round(now - self.opened, 1):g} s")
            raise
        if data and not self.heard:
            self.heard = True
            _FOUND.pop(self.key, None)  # it speaks now
        return data


def abort_connections() -> None:
    """Shut down every connection tcp_connect opened that is still open: nothing more will be read from any."""
    with _OPEN_LOCK:
        open_now = list(_OPEN)
    for sock in open_now:
        with contextlib.suppress(OSError):  # closed already
            sock.shutdown(socket.SHUT_RDWR)


def tcp_connect(target: str, host: str, port: int, timeout: float, silent_for: float | None = None) -> socket.socket:
    """A TCP connection with TCP_NODELAY; every failure is a ConnectError that says why, a NoTcpConnection when
    TCP itself did not connect.

    A refusal, or a silence of at least `silent_for` seconds (default: `timeout`), that an earlier connection of
    the same target found in the last _REMEMBERED_SECONDS is that failure again at once, without connecting.
    """
    where, key = address(host, port), (target, host, port)
    found = _FOUND.get(key)
    if found is not None:
        ago = time.monotonic() - found[0]
        if ago < _REMEMBERED_SECONDS and found[1] >= (timeout if silent_for is None else silent_for) - _SLACK:
            error = NoTcpConnection if math.isinf(found[1]) else ConnectError  # refused, or silent after TCP
            raise error(target, f"{found[2]} (found {ago:.0f} s ago by an earlier connection; not tried again)")
    # An ASCII name or address is passed as bytes, which getaddrinfo takes as they are: a str is IDNA-encoded
    # first, and importing Python's idna codec for it costs 3 ms of a short scan's start (typeshed lists str only).
    name = host.encode("ascii") if host.isascii() else host
    try:
        plain = socket.create_connection((name, port), timeout=timeout)  # type: ignore[arg-type]
    except socket.gaierror as exc:
        raise NoTcpConnection(target, f"cannot resolve {host!r} ({exc.strerror})") from exc
    except ConnectionRefusedError as exc:
        why = f"connection refused by {where} (is sshd listening?)"
        _FOUND[key] = (time.monotonic(), math.inf, why)
        raise NoTcpConnection(target, why) from exc
    except TimeoutError as exc:
        raise NoTcpConnection(target, f"no TCP connection to {where} within {timeout:g} s") from exc
    except OSError as exc:
        raise NoTcpConnection(target, f"cannot connect to {where} ({exc.strerror or exc})") from exc
    sock = _Watched(plain.family, plain.type, plain.proto, plain.detach())
    sock.key, sock.opened = key, time.monotonic()
    sock.settimeout(timeout)
    # paramiko leaves Nagle on, which delays every small packet of a batch by a round trip.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with _OPEN_LOCK:
        _OPEN.add(sock)
    return sock


# Called with what made the first contact with the port fail (it refused, stayed silent, or did not speak SSH);
# it may raise instead of letting that failure become the failed answer of each probe.
Unreachable = Callable[[Exception], None]


def network_answer(command: Command, settings: Settings, host_key: HostKeyInfo | None,
                   open_socket: Callable[[str, int, float], Any],
                   login_algorithms: Mapping[str, str] | None = None,
                   unreachable: Unreachable | None = None) -> CommandResult:
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
        # The KEXINIT is the first thing read: its failure means no SSH server answers there. So does a connection
        # that could not be opened, whatever was asked.
        if unreachable is not None and (command.argv[0] == KEXINIT or isinstance(exc, ConnectError)):
            unreachable(exc)
        return CommandResult(str(command), 1, "", f"probing the SSH server at {address(s.host, s.port)} failed: "
                             f"{exc}")
    return CommandResult(str(command), 0, answer + "\n")


def _auth_methods(s: Settings, open_socket: Callable[[str, int, float], Any]) -> dict[str, Any]:
    """The "none" probe over a connection of its own."""
    from auditor.transports._ssh_none import ask_auth_methods

    with contextlib.closing(open_socket(s.host, s.port, s.connect_timeout)) as sock:
        try:
            found = ask_auth_methods(sock, s.user, s.banner_timeout + s.auth_timeout)
        except ProbeError as exc:
            raise ProbeError(_auth_failed(s, exc)) from exc
    return {k: found[k] for k in _AUTH_FIELDS}


_AUTH_FIELDS = ("user", "methods", "none_accepted", "host_key", "algorithms")


def _auth_failed(s: Settings, exc: Exception) -> str:
    return f"the authentication probe (an SSH \"none\" request as {s.user!r}) failed: {exc or type(exc).__name__}"


def network_answers(commands: Sequence[Command], settings: Settings, host_key: HostKeyInfo | None,
                    open_socket: Callable[[str, int, float], Any],
                    login_algorithms: Mapping[str, str] | None = None,
                    unreachable: Unreachable | None = None) -> list[CommandResult]:
    """The answers to a batch of pseudo-commands. KEXINIT and host keys (and authentication methods) asked
    together share one connection (see the module's docstring); otherwise each is read over its own, all at
    once."""
    names = {command.argv[0] for command in commands}
    shared = _shared_view(commands, settings, open_socket, unreachable) if {KEXINIT, HOSTKEYS} <= names else {}
    rest = [command for command in commands if str(command) not in shared]

    def answer(command: Command) -> CommandResult:
        return network_answer(command, settings, host_key, open_socket, login_algorithms, unreachable)

    if len(rest) > 1:
        with ThreadPoolExecutor(max_workers=len(rest), thread_name_prefix=f"net-{settings.host}") as pool:
            shared.update(zip((str(c) for c in rest), pool.map(answer, rest), strict=True))
    else:
        shared.update((str(c), answer(c)) for c in rest)
    return [shared[str(command)] for command in commands]


def _shared_view(commands: Sequence[Command], s: Settings, open_socket: Callable[[str, int, float], Any],
                 unreachable: Unreachable | None = None) -> dict[str, CommandResult]:
    """KEXINIT and host keys (and authentication methods, when asked): the first host key (and the methods) over
    the connection that read the KEXINIT."""
    by_name = {command.argv[0]: str(command) for command in commands}
    asked = [name for name in (KEXINIT, HOSTKEYS, AUTH_METHODS) if name in by_name]
    timeout = s.connect_timeout + s.banner_timeout
    began = time.monotonic()

    def failed(exc: Exception) -> dict[str, CommandResult]:
        why = f"probing the SSH server at {address(s.host, s.port)} failed: {exc}"
        return {by_name[n]: CommandResult(by_name[n], 1, "", why) for n in asked}

    try:
        sock = open_socket(s.host, s.port, s.connect_timeout)
    except (TransportError, OSError) as exc:
        if unreachable is not None:
            unreachable(exc)
        return failed(exc)
    with contextlib.closing(sock):
        try:
            started = _start(sock, timeout)
            banner, kexinit = started[:2]
        except (ProbeError, OSError) as exc:
            if unreachable is not None:
                unreachable(exc)
            return failed(exc)
        kexinit_answer = {"host": s.host, "port": s.port, "banner": banner,
                          "kexinit_base64": base64.b64encode(kexinit).decode("ascii"),
                          "seconds": round(time.monotonic() - began, 3)}
        kex_offered, algorithms = _lists(kexinit)[:2]
        groups = key_groups(algorithms)
        first = next(iter(groups.values()), [""])[0]
        with ThreadPoolExecutor(max_workers=max(1, len(groups)), thread_name_prefix=f"net-{s.host}") as pool:
            others = {algs[0]: pool.submit(_key_alone, s, open_socket, algs[0], kex_offered)
                      for algs in list(groups.values())[1:]}
            auth: dict[str, Any] | str | None = None  # None: not asked
            if AUTH_METHODS in by_name:
                keys, auth = _first_key_and_methods(sock, started, s, open_socket, first, kex_offered)
            else:  # the key exchange only begun: the reply that carries the key is all that is read
                keys = {first: _attempt_key(lambda: fetch_host_key(sock, timeout, first, probe_kex(kex_offered),
                                                                   started), kex_offered)} if first else {}
            keys.update((algorithm, future.result()) for algorithm, future in others.items())
    host_keys_answer: dict[str, Any] = {"host": s.host, "port": s.port}
    if probe_kex(kex_offered):
        host_keys_answer |= {"keys": [{"offered_as": algs, **keys[algs[0]]} for algs in groups.values()],
                             "seconds": round(time.monotonic() - began, 3)}
    else:
        host_keys_answer |= {"keys": [], "seconds": 0, "problem": "no key exchange this probe can drive is offered "
                             f"({', '.join(kex_offered)})"}
    answers = {by_name[KEXINIT]: CommandResult(by_name[KEXINIT], 0, json.dumps(kexinit_answer) + "\n"),
               by_name[HOSTKEYS]: CommandResult(by_name[HOSTKEYS], 0, json.dumps(host_keys_answer) + "\n")}
    if isinstance(auth, str):
        answers[by_name[AUTH_METHODS]] = CommandResult(by_name[AUTH_METHODS], 1, "", auth)
    elif auth is not None:
        answers[by_name[AUTH_METHODS]] = CommandResult(by_name[AUTH_METHODS], 0,
                                                       json.dumps({"host": s.host, "port": s.port, **auth}) + "\n")
    return answers


def _first_key_and_methods(sock: Any, started: Any, s: Settings, open_socket: Callable[[str, int, float], Any],
                           first: str, kex_offered: list[str],
                           ) -> tuple[dict[str, dict[str, str]], dict[str, Any] | str]:
    """The first host key and the "none" probe's answer (or why it failed), over the connection already open."""
    from auditor.transports._ssh_none import Unsupported, ask_auth_methods

    try:
        found = ask_auth_methods(sock, s.user, s.banner_timeout + s.auth_timeout, first or None, started)
    except Unsupported as exc:  # nothing was sent: this connection still brings the key
        timeout = s.connect_timeout + s.banner_timeout
        keys = {first: _attempt_key(lambda: fetch_host_key(sock, timeout, first, probe_kex(kex_offered), started),
                                    kex_offered)} if first else {}
        return keys, _auth_failed(s, exc)
    except (ProbeError, OSError) as exc:  # the connection is spent: the key comes over a new one
        return ({first: _key_alone(s, open_socket, first, kex_offered)} if first else {}), _auth_failed(s, exc)
    return ({first: {"kex": found["algorithms"]["kex"], "key_base64": found["host_key_base64"]}} if first else {},
            {k: found[k] for k in _AUTH_FIELDS})


def _key_alone(s: Settings, open_socket: Callable[[str, int, float], Any], algorithm: str,
               kex_offered: list[str]) -> dict[str, str]:
    def fetch() -> bytes:
        timeout = s.connect_timeout + s.banner_timeout
        with contextlib.closing(open_socket(s.host, s.port, s.connect_timeout)) as own:
            return fetch_host_key(own, timeout, algorithm, probe_kex(kex_offered))

    return _attempt_key(fetch, kex_offered)


def _attempt_key(fetch: Callable[[], bytes], kex_offered: list[str]) -> dict[str, str]:
    kex = probe_kex(kex_offered)
    if not kex:
        return {"kex": "", "error": "no key exchange this probe can drive is offered"}
    try:
        return {"kex": kex, "key_base64": base64.b64encode(fetch()).decode("ascii")}
    except (ProbeError, TransportError, OSError) as exc:
        return {"kex": kex, "error": str(exc) or type(exc).__name__}


class SshNetworkTransport:
    """An SSH target reached only over TCP: each network pseudo-command opens its own connection."""

    def __init__(self, target: str, settings: Settings) -> None:
        self.target = target
        self.settings = settings
        self._unreachable: ConnectError | None = None

    def _open_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # A port the login found silent for its banner_timeout is not waited for again (see _FOUND).
        return tcp_connect(self.target, host, port, timeout, silent_for=self.settings.banner_timeout)

    def _no_ssh_server(self, exc: Exception) -> None:
        """No SSH server answers: a ConnectError, so that the target is one connection error without findings,
        as a target scanned with a login is (docs/targets.md), rather than 'assessed' with an error per check.
        Kept, so that the collectors that ask again are answered at once, without connecting again."""
        if not isinstance(exc, ConnectError):
            where = address(self.settings.host, self.settings.port)
            found = _FOUND.get((self.target, self.settings.host, self.settings.port))
            text = str(exc) or type(exc).__name__
            if isinstance(exc, TimeoutError) and found is not None:  # a silent port: "accepted TCP but sent no..."
                text = found[2]
            elif text.startswith("answered"):  # what_came: "answered HTTP, not SSH: '...'", as the login says it
                text = f"{where} {text}"
            else:
                text = f"{where}: {text}"
            exc = ConnectError(self.target, text)
        self._unreachable = exc
        raise exc

    def run(self, command: Command) -> CommandResult:
        if not command.argv or command.argv[0] not in NETWORK_COMMANDS:
            raise UnsupportedTarget(self.target, NO_LOGIN)
        if self._unreachable is not None and command.argv[0] != HOSTKEY:
            raise self._unreachable
        return network_answer(command, self.settings, None, self._open_socket, unreachable=self._no_ssh_server)

    def read_file(self, path: str) -> FileContent:
        raise UnsupportedTarget(self.target, NO_LOGIN)

    def run_many(self, commands: Sequence[Command]) -> list[CommandResult]:
        for command in commands:
            if not command.argv or command.argv[0] not in NETWORK_COMMANDS:
                raise UnsupportedTarget(self.target, NO_LOGIN)
        if self._unreachable is not None and any(command.argv[0] != HOSTKEY for command in commands):
            raise self._unreachable
        return network_answers(commands, self.settings, None, self._open_socket, unreachable=self._no_ssh_server)

    def read_many(self, paths: Sequence[str]) -> list[FileContent]:
        if paths:
            raise UnsupportedTarget(self.target, NO_LOGIN)
        return []

    def close(self) -> None:
        """Nothing stays open between commands."""
