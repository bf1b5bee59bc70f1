"""What a TLS endpoint's plaintext counterpart answers, seen from the network: the TLS transport's `plaintext-probe`.

    plaintext-probe http HOST PORT --server-name NAME   GET / in clear; redirects are followed on that host and
                                                         port only, never off it
    plaintext-probe smtp|imap|pop3 HOST PORT            the commands that carry mail or a login, before STARTTLS

stdout is one JSON document (`auditor-plaintext-probe/1`): the outcome (answered, closed, unreachable, silent,
unresolvable) and every exchange as sent and as received, escaped. Everything happens within the target's connect
budget. Nothing a server could take for a credential is sent: AUTH (SMTP, IMAP's AUTHENTICATE, POP3) goes
without an initial response and is cancelled with "*" if the server asks for one; POP3's USER names an account no
server has; IMAP's LOGIN is never sent: a server that refuses it says so with the LOGINDISABLED capability.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import socket
import time
from collections.abc import Callable
from typing import Any

from auditor.transports.base import Command, CommandResult

PROBE = "plaintext-probe"
FORMAT = "auditor-plaintext-probe/1"
MAIL = ("smtp", "imap", "pop3")
HTTP_PORT = 80
PROBE_USER = "auditor-probe"  # POP3 USER: an account no server has
MAX_HOPS = 5  # same-host redirects followed before giving up
MAX_BODY = 64 * 1024  # bytes of a page read; a page is content whatever its size past that
_MAX_REPLY = 16 * 1024
_SHOWN = 200  # characters of a body kept as evidence
_USAGE = 2
# Implicit-TLS mail ports, and the port a client would otherwise use in clear (with STARTTLS).
_MAIL_COUNTERPARTS = {993: ("imap", 143), 995: ("pop3", 110), 465: ("smtp", 587)}


def counterpart(port: int, starttls: str, plain_port: int | None = None) -> tuple[str, int] | None:
    """The protocol and port of an endpoint's plaintext counterpart; None when there is none to probe.

    A STARTTLS mail service is its own counterpart (the same port, before STARTTLS); an implicit-TLS mail port
    has its STARTTLS port; anything else is taken for HTTPS, with port 80. `plain_port` overrides the port.
    """
    if starttls:
        return (starttls, plain_port or port) if starttls in MAIL else None
    protocol, default = _MAIL_COUNTERPARTS.get(port, ("http", HTTP_PORT))
    return protocol, plain_port or default


def probe_command(protocol: str, host: str, port: int, server_name: str = "", timeout: float = 60.0) -> Command:
    """The pseudo-command that asks what the counterpart answers."""
    argv = [PROBE, protocol, host, str(port)]
    if protocol == "http":
        argv += ["--server-name", server_name or host]
    return Command(tuple(argv), timeout=timeout)


def answer(command: Command, host: str, allowed: tuple[str, int] | None, budget: float) -> CommandResult:
    """The TLS transport's answer: probe `allowed` (this target's counterpart) on `host`, and nothing else."""
    label = str(command)
    argv = command.argv
    usage = "usage: plaintext-probe http|smtp|imap|pop3 HOST PORT [--server-name NAME]"
    if len(argv) not in (4, 6) or argv[1] not in ("http", *MAIL) or not argv[3].isdigit() or \
            (len(argv) == 6) != (argv[1] == "http") or (len(argv) == 6 and argv[4] != "--server-name"):
        return CommandResult(label, _USAGE, "", usage)
    protocol, target_host, port = argv[1], argv[2], int(argv[3])
    if target_host != host or (protocol, port) != allowed:
        return CommandResult(label, _USAGE, "", f"refused: {protocol} on {target_host}:{port} is not this target's "
                             "plaintext counterpart")
    document = probe(protocol, host, port, argv[5] if len(argv) == 6 else "", budget)
    return CommandResult(label, 0, json.dumps(document, indent=2) + "\n")


def probe(protocol: str, host: str, port: int, server_name: str, budget: float) -> dict[str, Any]:
    """What the counterpart answered, as the pseudo-command's JSON document; never raises for network trouble."""
    started = time.monotonic()
    head = {"probe": FORMAT, "protocol": protocol, "host": host, "port": port}
    try:
        talk = _http if protocol == "http" else _mail
        found = talk(protocol, _Connection.opener(host, port, started + budget), server_name or host)
    except _Unanswered as exc:
        found = {"outcome": exc.outcome, "message": str(exc)}
    return {**head, **found, "seconds": round(time.monotonic() - started, 3)}


# ---- the network -------------------------------------------------------------------------------------------

class _Unanswered(Exception):
    """The counterpart did not answer (closed, unreachable, silent, unresolvable): `outcome` says which."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


class _Connection:
    """One TCP connection under the probe's one deadline; every read is bounded in size and time."""

    def __init__(self, host: str, address: str, port: int, deadline: float) -> None:
        self.origin = (host, port)
        self.where = f"{host}:{port}" if address == host else f"{host}:{port} ({address})"
        self.deadline = deadline
        where = self.where
        try:
            self.sock = socket.create_connection((address, port), timeout=max(0.1, deadline - time.monotonic()))
        except ConnectionRefusedError:
            raise _Unanswered("closed", f"{where} refused the connection: nothing listens there") from None
        except TimeoutError:
            raise _Unanswered("unreachable", f"{where} accepted no TCP connection in time (filtered, or down)") \
                from None
        except OSError as exc:
            raise _Unanswered("unreachable", f"{where} could not be reached ({exc.strerror or exc})") from None
        self.buffer = b""

    @classmethod
    def opener(cls, host: str, port: int, deadline: float) -> Callable[[], _Connection]:
        """Resolve once; the returned function opens a new connection to that address (one per HTTP hop)."""
        try:
            address = str(socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM)[0][4][0])
        except (OSError, UnicodeError) as exc:
            raise _Unanswered("unresolvable", f"the name {host!r} could not be resolved ({exc})") from None
        return lambda: cls(host, address, port, deadline)

    def send(self, line: str) -> None:
        with contextlib.suppress(OSError):  # a closed connection shows as the missing reply
            self.sock.sendall(line.encode("ascii") + b"\r\n")

    def receive(self, complete: Callable[[bytes], bool], limit: int = _MAX_REPLY) -> bytes:
        """Bytes until `complete` says the reply is whole, the peer closes, `limit` is reached or time is up."""
        while not complete(self.buffer) and len(self.buffer) < limit:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                break
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(16384)
            except (TimeoutError, OSError):
                break
            if not chunk:
                break
            self.buffer += chunk
        reply, self.buffer = self.buffer, b""
        return reply

    def close(self) -> None:
        self.sock.close()


def _lines(data: bytes) -> list[str]:
    """Received bytes as escaped lines (control and non-ASCII characters as Python escapes)."""
    return [_escaped(line) for line in data.split(b"\r\n" if b"\r\n" in data else b"\n") if line]


def _escaped(data: bytes) -> str:
    return data.decode("latin-1").encode("unicode_escape").decode("ascii")


# ---- HTTP --------------------------------------------------------------------------------------------------

def _http(_: str, connect: Callable[[], _Connection], server_name: str) -> dict[str, Any]:
    hops: list[dict[str, Any]] = []
    path = "/"
    while path and len(hops) < MAX_HOPS:
        connection = connect()
        try:
            hop = _get(connection, server_name, path)
        finally:
            connection.close()
        hops.append(hop)
        path = _same_origin(hop.get("location", ""), server_name, connection.origin) \
            if 300 <= hop["status"] < 400 else ""
    return {"outcome": "answered", "message": f"{connection.where} answered HTTP in clear", "hops": hops}


def _get(connection: _Connection, server_name: str, path: str) -> dict[str, Any]:
    """One GET in clear, read until the server closes (Connection: close), at most MAX_BODY of the page."""
    import http.client  # here: this module is imported by every scan, an HTTP probe runs in few

    connection.send(f"GET {path} HTTP/1.1\r\nHost: {server_name}\r\nUser-Agent: auditor-plaintext-probe\r\n"
                    "Accept: */*\r\nConnection: close\r\n")
    raw = connection.receive(_http_done, limit=MAX_BODY + _MAX_REPLY)
    if not raw:
        raise _Unanswered("silent", f"{connection.where} accepted a connection but did not answer GET {path}")
    hop: dict[str, Any] = {"request": f"GET {path}", "host_header": server_name}
    response = http.client.HTTPResponse(_Received(raw))  # type: ignore[arg-type]
    try:
        response.begin()
    except (http.client.HTTPException, ValueError):
        return {**hop, "status": 0, "not_http": _lines(raw[:_SHOWN])}
    try:
        body = response.read(MAX_BODY)
    except http.client.IncompleteRead as exc:
        body = exc.partial
    except (http.client.HTTPException, ValueError, OSError):
        body = b""
    headers = {name.lower(): _escaped(value.encode("latin-1", "replace")) for name, value in response.getheaders()}
    return {**hop, "status": response.status, "reason": _escaped(response.reason.encode("latin-1", "replace")),
            "location": headers.get("location", ""), "headers": headers, "body_bytes": len(body),
            "body_truncated": len(body) >= MAX_BODY, "body_start": _escaped(body[:_SHOWN])}


def _http_done(data: bytes) -> bool:
    """A whole response: its Content-Length is read, or its last chunk; else it ends when the server closes."""
    head, found, body = data.partition(b"\r\n\r\n")
    if not found:
        return False
    length = re.search(rb"(?im)^content-length:[ \t]*(\d+)[ \t]*$", head)
    if length:
        return len(body) >= int(length.group(1))
    return bool(re.search(rb"(?im)^transfer-encoding:.*chunked", head)) and body.endswith(b"0\r\n\r\n")


class _Received:
    """Bytes already read off the wire, as the socket that http.client parses a response from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self._data)


def _same_origin(location: str, server_name: str, origin: tuple[str, int]) -> str:
    """The path to follow when `location` stays in clear on this host and port; "" when it leaves them."""
    from urllib.parse import urlsplit

    parts = urlsplit(location)
    if not parts.scheme and not parts.netloc:
        return location if location.startswith("/") else ""
    try:
        port = parts.port or (HTTP_PORT if parts.scheme == "http" else 0)
    except ValueError:
        return ""
    if parts.scheme != "http" or port != origin[1] or \
            (parts.hostname or "").lower() not in (server_name.lower(), origin[0].lower()):
        return ""
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


# ---- SMTP, IMAP, POP3 --------------------------------------------------------------------------------------

_Ask = Callable[[str, Callable[[bytes], bool]], list[str]]


def _mail(protocol: str, connect: Callable[[], _Connection], _: str) -> dict[str, Any]:
    connection = connect()
    exchanges: list[dict[str, Any]] = []

    def ask(line: str, complete: Callable[[bytes], bool]) -> list[str]:
        if line:
            connection.send(line)
        received = _lines(connection.receive(complete))
        exchanges.append({"sent": line, "received": received})
        return received

    try:
        greeting = ask("", _smtp_done if protocol == "smtp" else _line_done)
        # A server that greets with a refusal (SMTP 554, POP3 -ERR, IMAP BYE) has given its answer.
        if greeting and greeting[0].upper().startswith(("220", "+OK", "* OK", "* PREAUTH")):
            {"smtp": _smtp, "imap": _imap, "pop3": _pop3}[protocol](ask)
    finally:
        connection.close()
    if not greeting:
        raise _Unanswered("silent", f"{connection.where} accepted a connection but sent no {protocol.upper()} "
                          "greeting in time")
    return {"outcome": "answered", "message": f"{connection.where} answered {protocol.upper()} in clear",
            "exchanges": exchanges}


def _smtp(ask: _Ask) -> None:
    ehlo = ask("EHLO auditor-probe.invalid", _smtp_done)
    if _reply(ask("MAIL FROM:<>", _smtp_done)).startswith("2"):
        ask("RSET", _smtp_done)  # the null sender and no recipient: nothing is ever delivered
    offered = [word for line in ehlo if line[4:9].upper() == "AUTH " for word in line[9:].split()]
    if _reply(ask(f"AUTH {(offered or ['PLAIN'])[0]}", _smtp_done)).startswith("334"):
        ask("*", _smtp_done)
    ask("QUIT", _smtp_done)


def _imap(ask: _Ask) -> None:
    capabilities = ask("a1 CAPABILITY", _tagged("a1"))
    offered = [word[5:] for line in capabilities for word in line.split() if word.upper().startswith("AUTH=")]
    if _reply(ask(f"a2 AUTHENTICATE {(offered or ['PLAIN'])[0]}", _tagged("a2"))).startswith("+"):
        ask("*", _tagged("a2"))
    ask("a3 LOGOUT", _tagged("a3"))


def _pop3(ask: _Ask) -> None:
    capabilities = ask("CAPA", _pop3_list_done)
    offered = [word for line in capabilities if line.upper().startswith("SASL ") for word in line[5:].split()]
    reply = _reply(ask(f"AUTH {(offered or ['PLAIN'])[0]}", _line_done))
    if reply == "+" or reply.startswith("+ "):
        ask("*", _line_done)
    ask(f"USER {PROBE_USER}", _line_done)
    ask("QUIT", _line_done)


def _reply(lines: list[str]) -> str:
    """The line of a reply that answers the command: SMTP's and IMAP's last, POP3's only one."""
    return lines[-1] if lines else ""


def _line_done(data: bytes) -> bool:
    return data.endswith(b"\n")


def _smtp_done(data: bytes) -> bool:
    """A whole SMTP reply: its last line has a space (or nothing) after the code."""
    lines = data.split(b"\r\n")
    return data.endswith(b"\r\n") and re.fullmatch(rb"\d{3}( .*)?", lines[-2]) is not None


def _tagged(tag: str) -> Callable[[bytes], bool]:
    """An IMAP reply is whole at its tagged line, or at a continuation request ("+ ...")."""
    marks = (tag.encode() + b" ", b"+")
    return lambda data: data.endswith(b"\n") and data.rstrip(b"\r\n").split(b"\n")[-1].startswith(marks)


def _pop3_list_done(data: bytes) -> bool:
    return (data.startswith(b"-") and data.endswith(b"\n")) or data.endswith(b"\r\n.\r\n")
