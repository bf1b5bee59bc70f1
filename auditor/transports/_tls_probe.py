"""The pre-probe of a TLS endpoint: resolve, connect, send one ClientHello, all under one short budget.

sslyze's own connectivity test retries for about 55 s on a port that accepts TCP and never answers, and
reports plain HTTP as "could not find a TLS version". This probe tells those cases apart in a few seconds and
says which one it is, so that only endpoints that speak TLS are handed to a (killable) sslyze worker.
"""

from __future__ import annotations

import select
import socket
import ssl
import time
from dataclasses import asdict
from typing import Protocol

from auditor.records import record

# A TLS record starts with a content type from 20 (change_cipher_spec) to 24 (heartbeat).
_TLS_RECORD_TYPES = range(20, 25)
_ALERT = 21
# Protocols whose server speaks first: a silent one is caught by waiting for its greeting.
_SERVER_SPEAKS_FIRST = {"smtp": "220", "imap": "* ", "pop3": "+OK", "ftp": "220"}
# Outcomes where something answered on the port: TLS, or a service in clear. The others are unreachable.
REACHED = frozenset({"tls", "plain_http", "not_tls"})
# A line protocol that never answers a ClientHello (Redis: the NUL bytes in it stop its inline parser) answers a
# plain PING line: Redis with +PONG, or -ERR / -NOAUTH. It is sent on a second connection in the last part of the
# budget (at most _PING_SECONDS), while the ClientHello's connection is still watched, so the budget stays the same.
_PING = b"PING\r\n"
_PING_SECONDS = 1.0


@record
class ProbeResult:
    """What the probe found; `outcome` is "tls" when a TLS (or STARTTLS) service answered.

    Attributes:
        outcome: tls, unresolvable, closed, unreachable, silent, plain_http, not_tls, or closed_by_peer.
        message: one sentence for the report, naming the address and what answered (or did not).
        ip_address: the address the name resolved to ("" when it did not resolve).
        ca_file: the target's private CA bundle, passed on to the scan ("" for the system store).
        seconds: how long the probe took.
        first_bytes: the start of what a non-TLS service sent back, for the evidence.
    """

    host: str
    port: int
    server_name: str
    starttls: str
    ca_file: str
    outcome: str
    message: str
    ip_address: str = ""
    seconds: float = 0.0
    first_bytes: str = ""

    def to_json(self) -> dict[str, object]:
        """The probe as a plain JSON document (the pseudo-command's stdout)."""
        return {"probe": "auditor-tls-probe/1", **asdict(self)}


def resolve(host: str, port: int) -> str:
    """One address for host, IPv4 first (as sslyze does); raises socket.gaierror."""
    infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    ipv4 = [info[4][0] for info in infos if info[0] == socket.AF_INET]
    return str(ipv4[0] if ipv4 else infos[0][4][0])


def probe(host: str, port: int, server_name: str, starttls: str, budget: float, ca_file: str = "") -> ProbeResult:
    """Resolve, connect and say hello within `budget` seconds; never raises for network trouble."""
    started = time.monotonic()
    deadline = started + budget

    def done(outcome: str, message: str, ip: str = "", first: bytes = b"") -> ProbeResult:
        shown = first[:80].decode("latin-1").encode("unicode_escape").decode("ascii")
        return ProbeResult(host, port, server_name, starttls, ca_file, outcome, message, ip,
                           round(time.monotonic() - started, 3), shown)

    try:
        ip = resolve(host, port)
    except (socket.gaierror, UnicodeError) as exc:
        return done("unresolvable", f"the name {host!r} could not be resolved ({_why(exc)})")
    where = f"{ip}:{port}" if ip == host else f"{host}:{port} ({ip})"
    try:
        sock = socket.create_connection((ip, port), timeout=max(0.1, deadline - time.monotonic()))
    except ConnectionRefusedError:
        return done("closed", f"{where} refused the connection: nothing listens on that port", ip)
    except TimeoutError:
        return done("unreachable", f"{where} did not accept a TCP connection within {budget:g} s "
                    "(a firewall drops it, or the host is down)", ip)
    except OSError as exc:
        return done("unreachable", f"{where} could not be reached ({_why(exc)})", ip)
    with sock:
        if starttls:
            return _greeting(sock, starttls, where, budget, deadline, done, ip)
        return _hello(sock, where, budget, deadline, done, ip, server_name, port)


def _greeting(sock: socket.socket, starttls: str, where: str, budget: float, deadline: float, done: _Done,
              ip: str) -> ProbeResult:
    expected = _SERVER_SPEAKS_FIRST.get(starttls)
    if expected is None:  # the client speaks first (ldap, xmpp, postgres, rdp): sslyze's helper does that part
        return done("tls", f"{where} accepted a TCP connection ({starttls.upper()} with STARTTLS)", ip)
    data = _receive(sock, deadline)
    if data is None:
        return done("silent", f"no {starttls.upper()} greeting from {where} within {budget:g} s", ip)
    if not data:
        return done("closed_by_peer", f"{where} closed the connection without a {starttls.upper()} greeting", ip)
    if not data.decode("latin-1").startswith(expected):
        return done("not_tls", f"{where} did not greet as a {starttls.upper()} server: {_first_line(data)!r}",
                    ip, data)
    return done("tls", f"{where} greeted as a {starttls.upper()} server", ip, data)


def _hello(sock: socket.socket, where: str, budget: float, deadline: float, done: _Done, ip: str,
           server_name: str, port: int) -> ProbeResult:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # validation is sslyze's job; the probe only asks "is this TLS?"
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.set_ciphers("ALL:@SECLEVEL=0")
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=server_name or None)
    received = b""
    while True:
        try:
            tls.do_handshake()
            return done("tls", f"{where} completed a TLS handshake", ip)
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as exc:
            return _classify(where, received, exc, done, ip)
        try:
            sock.sendall(outgoing.read())
        except OSError as exc:
            return done("closed_by_peer", f"{where} dropped the connection during the TLS handshake ({_why(exc)})",
                        ip, received)
        if received:
            data = _receive(sock, deadline)
        else:  # silence to the ClientHello: near the end of the budget, a plain PING asks for a service in clear
            data = _receive(sock, deadline - min(_PING_SECONDS, budget / 4))
            if data is None:
                data, plain = _await_or_ping(sock, (ip, port), deadline)
                if plain:
                    return done("not_tls", f"the service on {where} never answered a TLS ClientHello and answered "
                                "a plaintext PING: it speaks in clear, not in TLS", ip, plain)
        if data is None:
            if received:
                return _classify(where, received, None, done, ip)
            return done("silent", f"no TLS service answered on {where} within {budget:g} s "
                        "(the port accepts connections but never replies)", ip)
        if not data:
            if received:
                return _classify(where, received, None, done, ip)
            return done("closed_by_peer", f"{where} accepted the connection and closed it without answering the "
                        "TLS handshake (a TLS service refusing us, or not a TLS service)", ip)
        received += data
        incoming.write(data)


def _classify(where: str, received: bytes, error: ssl.SSLError | None, done: _Done, ip: str) -> ProbeResult:
    if received and received[0] in _TLS_RECORD_TYPES:
        # A TLS alert is still TLS: sslyze tries every version and suite and reports what is accepted.
        reason = f" ({error.reason})" if error is not None and error.reason else ""
        kind = "refused our first handshake" if received[0] == _ALERT else "answered in TLS"
        return done("tls", f"{where} {kind}{reason}", ip, received)
    text = received.decode("latin-1")
    # An HTTP/0.9-style reply to a request line it cannot parse is a bare HTML page (Python's http.server).
    if text.startswith("HTTP/") or text.lstrip().lower().startswith(("<!doctype html", "<html")):
        return done("plain_http", f"a plain HTTP server answered on {where} instead of TLS", ip, received)
    hint = ""
    if text.startswith("220") and "SMTP" in text.upper():
        hint = "; if this is a mail server, set starttls: smtp for the target"
    return done("not_tls", f"the service on {where} answered in clear, not in TLS{hint}", ip, received)


def _await_or_ping(sock: socket.socket, address: tuple[str, int], deadline: float) -> tuple[bytes | None, bytes]:
    """Until the deadline: (what the ClientHello's connection got at last, b"") or (None, a reply in clear to a
    PING sent on a second connection). A reply that is TLS, or none, leaves the first connection's answer."""
    try:
        other = socket.create_connection(address, timeout=max(0.05, deadline - time.monotonic()))
        other.sendall(_PING)
    except OSError:
        return _receive(sock, deadline), b""
    with other:
        watched = [sock, other]
        while (remaining := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select(watched, [], [], remaining)
            if sock in readable:
                return _receive(sock, deadline), b""
            if other in readable:
                reply = _receive(other, deadline)
                if reply and reply[0] not in _TLS_RECORD_TYPES:
                    return None, reply
                watched.remove(other)  # closed, or TLS after all: only the first connection can still tell
    return None, b""


def _receive(sock: socket.socket, deadline: float) -> bytes | None:
    """Bytes from the peer, b"" at end of stream, None when the deadline passed first."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return None
    sock.settimeout(remaining)
    try:
        return sock.recv(16384)
    except TimeoutError:
        return None
    except ConnectionResetError:
        return b""


def _first_line(data: bytes) -> str:
    return data.decode("latin-1").splitlines()[0][:80] if data.strip() else data[:16].hex()


def _why(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


class _Done(Protocol):
    """The signature of probe()'s `done` helper, for the private functions it is passed to."""

    def __call__(self, outcome: str, message: str, ip: str = "", first: bytes = b"") -> ProbeResult: ...
