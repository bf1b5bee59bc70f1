"""A database server's own answers, seen from the network: does it offer TLS, and does it refuse clients without it.

The TLS transport answers one more pseudo-command with this module:

    db-probe postgres HOST PORT [--user NAME] [--database NAME]
    db-probe mysql HOST PORT [--user NAME --password-env VARIABLE]

stdout is one JSON document (`auditor-db-probe/1`) of what the server answered; the collector
(auditor/collectors/databases/wire.py) reads it, so the evidence holds the server's own words.

PostgreSQL (protocol 3.0): one connection sends an SSLRequest and, after 'S', a TLS handshake and a startup
message; a second sends the same startup message in clear. A server that refuses clear text answers the second
with its own error ("no pg_hba.conf entry for host ..., no encryption"); one that accepts it asks for a password.
No password is ever sent: the first answer tells.

MySQL and MariaDB (handshake v10): the greeting is kept as it came off the wire (its CLIENT_SSL flag says whether
TLS is offered); an SSLRequest and a TLS handshake follow, then an empty login of an unknown account. A server
refuses clear text only after the password is checked (MariaDB even answers "Access denied"), so that proof needs
a login: with `--password-env` the same account logs in over TLS and then without it (PyMySQL), the password read
from the scanner's environment, never from the command line or the evidence.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import struct
import time
from collections.abc import Mapping, Sequence
from typing import Any

from auditor.records import record
from auditor.transports.base import TIMED_OUT, Command, CommandResult

PROBE = "db-probe"
ENGINES = ("postgres", "mysql")
DEFAULT_USER = "auditor-probe"  # an account no server has: a refusal must not depend on who asks
_FORMAT = "auditor-db-probe/1"
_USAGE = 2
_FLAGS = {"--user", "--database", "--password-env"}

_PG_PROTOCOL_3 = 196608
_PG_SSL_REQUEST = 80877103
_PG_MAX_MESSAGE = 64 * 1024
# AuthenticationRequest codes (protocol-flow docs) -> what the server asked for.
_PG_AUTH = {0: "none (trust)", 2: "Kerberos V5", 3: "cleartext password", 5: "MD5 password", 7: "GSSAPI",
            9: "SSPI", 10: "SASL"}
# Error and notice field codes we keep: severity, SQLSTATE code, message, detail, hint.
_PG_FIELDS = {"S": "severity", "C": "code", "M": "message", "D": "detail", "H": "hint"}

CLIENT_SSL = 0x0800
_CLIENT_LONG_PASSWORD, _CLIENT_PROTOCOL_41, _CLIENT_SECURE_CONNECTION, _CLIENT_PLUGIN_AUTH = 0x1, 0x200, 0x8000, \
    0x80000
_MYSQL_MAX_GREETING = 64 * 1024
_MYSQL_UTF8MB4 = 45


class ProbeFailed(Exception):
    """The endpoint could not be reached, or did not speak the protocol; `outcome` says which."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


@record
class ProbeRequest:
    """One `db-probe` command: the engine, the endpoint, and who asks (the password only by variable name)."""

    engine: str
    host: str
    port: int
    user: str = ""
    database: str = ""
    password_env: str = ""


def probe_command(request: ProbeRequest, timeout: float = 60.0) -> Command:
    """The pseudo-command that asks for this probe."""
    argv = [PROBE, request.engine, request.host, str(request.port)]
    for flag, value in (("--user", request.user), ("--database", request.database),
                        ("--password-env", request.password_env)):
        if value:
            argv += [flag, value]
    return Command(tuple(argv), timeout=timeout)


def parse_command(argv: Sequence[str]) -> ProbeRequest:
    """The ProbeRequest a `db-probe` argv names; ValueError when it is malformed."""
    usage = "usage: db-probe postgres|mysql HOST PORT [--user NAME] [--database NAME] [--password-env VARIABLE]"
    if len(argv) < 4 or argv[0] != PROBE or argv[1] not in ENGINES or not argv[3].isdigit() or len(argv) % 2:
        raise ValueError(usage)
    flags = dict(zip(argv[4::2], argv[5::2], strict=True))
    if set(flags) - _FLAGS:
        raise ValueError(f"db-probe: unknown options {sorted(set(flags) - _FLAGS)}; {usage}")
    return ProbeRequest(argv[1], argv[2], int(argv[3]), flags.get("--user", ""), flags.get("--database", ""),
                        flags.get("--password-env", ""))


def answer(command: Command, host: str, port: int, budget: float,
           environ: Mapping[str, str] = os.environ) -> CommandResult:
    """The TLS transport's answer to a `db-probe` command for its endpoint host:port, each step within `budget` s."""
    label = str(command)
    try:
        request = parse_command(command.argv)
    except ValueError as exc:
        return CommandResult(label, _USAGE, "", str(exc))
    if (request.host, request.port) != (host, port):
        return CommandResult(label, _USAGE, "", f"refused: {request.host}:{request.port} is not this target's "
                             f"endpoint ({host}:{port})")
    document = probe(request, budget, environ)
    text = json.dumps(document, indent=2) + "\n"
    if "outcome" not in document:
        return CommandResult(label, 0, text)
    status = TIMED_OUT if document["outcome"] == "silent" else 1
    return CommandResult(label, status, text, str(document["message"]))


def probe(request: ProbeRequest, budget: float, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """What the server answered, as the JSON document of the pseudo-command; never raises for network trouble."""
    started = time.monotonic()
    head: dict[str, Any] = {"probe": _FORMAT, "engine": request.engine, "host": request.host, "port": request.port,
                            "user": request.user or DEFAULT_USER}
    try:
        found = _postgres(request, budget) if request.engine == "postgres" else _mysql(request, budget, environ)
    except ProbeFailed as exc:
        found = {"outcome": exc.outcome, "message": str(exc)}
    return {**head, **found, "seconds": round(time.monotonic() - started, 3)}


# ---- the network -------------------------------------------------------------------------------------------

class _Connection:
    """One TCP connection with a deadline; every read is bounded in size and time."""

    def __init__(self, host: str, port: int, budget: float) -> None:
        self.where = f"{host}:{port}"
        self.budget = budget
        self.deadline = time.monotonic() + budget
        try:
            self.sock: socket.socket | ssl.SSLSocket = socket.create_connection((host, port), timeout=budget)
        except ConnectionRefusedError:
            raise ProbeFailed("closed", f"{self.where} refused the connection: nothing listens on that port") \
                from None
        except TimeoutError:
            raise ProbeFailed("unreachable", f"{self.where} did not accept a TCP connection within {budget:g} s") \
                from None
        except OSError as exc:  # name resolution, no route
            raise ProbeFailed("unreachable", f"{self.where} could not be reached ({exc.strerror or exc})") from None
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def __enter__(self) -> _Connection:
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        try:
            self.sock.settimeout(max(0.01, self.deadline - time.monotonic()))
            self.sock.sendall(data)
        except OSError as exc:
            raise ProbeFailed("closed_by_peer", f"{self.where} dropped the connection ({exc})") from None

    def exact(self, size: int, what: str) -> bytes:
        while len(self._buffer) < size:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise ProbeFailed("silent", f"{self.where} sent no {what} within {self.budget:g} s")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                raise ProbeFailed("silent", f"{self.where} sent no {what} within {self.budget:g} s") from None
            except OSError as exc:
                raise ProbeFailed("closed_by_peer", f"{self.where} dropped the connection before its {what} "
                                  f"({exc})") from None
            if not chunk:
                raise ProbeFailed("closed_by_peer", f"{self.where} closed the connection before its {what}")
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def start_tls(self, context: ssl.SSLContext) -> dict[str, Any]:
        """A TLS handshake on this connection: the negotiated version and suite, or why it failed."""
        if self._buffer:
            raise ProbeFailed("not_db", f"{self.where} sent data before the TLS handshake")
        self.sock.settimeout(max(0.01, self.deadline - time.monotonic()))
        try:
            self.sock = context.wrap_socket(self.sock)
        except (ssl.SSLError, OSError) as exc:
            return {"handshake": False, "error": getattr(exc, "reason", None) or str(exc) or type(exc).__name__}
        cipher = self.sock.cipher()
        return {"handshake": True, "version": self.sock.version() or "", "cipher": cipher[0] if cipher else "",
                "cipher_bits": cipher[2] if cipher else 0}


def _tls_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # certificates are judged by the TLS checks; this asks "TLS or not"
    return context


# ---- PostgreSQL --------------------------------------------------------------------------------------------

def _pg_startup(user: str, database: str) -> bytes:
    pairs = (("user", user), ("database", database), ("application_name", "auditor-probe"))
    body = struct.pack(">I", _PG_PROTOCOL_3) + b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in pairs)
    body += b"\0"
    return struct.pack(">I", len(body) + 4) + body


def _pg_first_answer(conn: _Connection) -> dict[str, Any]:
    """The server's first message after a startup: an authentication request or an error."""
    kind = conn.exact(1, "answer to the startup message")
    if kind not in (b"R", b"E"):
        raise ProbeFailed("not_db", f"{conn.where} answered the startup message with {kind!r}, not as PostgreSQL")
    (length,) = struct.unpack(">I", conn.exact(4, "message length"))
    if not 4 <= length <= _PG_MAX_MESSAGE:
        raise ProbeFailed("not_db", f"{conn.where} sent a message of implausible length {length}")
    body = conn.exact(length - 4, "message")
    if kind == b"E":
        fields = {_PG_FIELDS[chr(part[0])]: part[1:].decode("utf-8", "replace")
                  for part in body.split(b"\0") if part and chr(part[0]) in _PG_FIELDS}
        return {"answer": "error", **fields}
    (code,) = struct.unpack(">I", body[:4].ljust(4, b"\0"))
    method = _PG_AUTH.get(code, f"authentication code {code}")
    if code == 10:
        mechanisms = [m.decode("ascii", "replace") for m in body[4:].split(b"\0") if m]
        method = f"SASL ({', '.join(mechanisms)})"
    return {"answer": "authentication", "method": method}


def _postgres(request: ProbeRequest, budget: float) -> dict[str, Any]:
    user = request.user or DEFAULT_USER
    startup = _pg_startup(user, request.database or user)
    with _Connection(request.host, request.port, budget) as conn:
        conn.send(struct.pack(">II", 8, _PG_SSL_REQUEST))
        reply = conn.exact(1, "answer to the SSLRequest")
        encrypted: dict[str, Any] = {"answer": reply.decode("latin-1")}
        if reply == b"S":
            encrypted |= conn.start_tls(_tls_context())
            if encrypted["handshake"]:
                conn.send(startup)
                encrypted["startup"] = _pg_first_answer(conn)
        elif reply != b"N":
            raise ProbeFailed("not_db", f"{conn.where} answered the PostgreSQL SSLRequest with {reply!r}, not S or N")
    with _Connection(request.host, request.port, budget) as conn:
        conn.send(startup)
        plaintext = _pg_first_answer(conn)
    return {"database": request.database or user, "ssl_request": encrypted, "plaintext_startup": plaintext}


# ---- MySQL and MariaDB -------------------------------------------------------------------------------------

def _mysql_packet(conn: _Connection, what: str) -> bytes:
    header = conn.exact(4, what)
    length = int.from_bytes(header[:3], "little")
    if length > _MYSQL_MAX_GREETING:
        raise ProbeFailed("not_db", f"{conn.where} sent a {what} of implausible length {length}")
    return conn.exact(length, what)


@record
class Greeting:
    """A MySQL/MariaDB initial handshake packet (protocol 10), or the error a server greets with instead."""

    protocol: int
    server_version: str = ""
    capabilities: int = 0
    auth_plugin: str = ""
    error_code: int = 0
    error_message: str = ""

    @property
    def offers_tls(self) -> bool:
        return bool(self.capabilities & CLIENT_SSL)


def parse_greeting(payload: bytes) -> Greeting:
    """The first packet a MySQL-protocol server sends; ValueError when it is not one."""
    if payload[:1] == b"\xff" and len(payload) >= 3:  # ERR_Packet: e.g. 1130 "Host ... is not allowed to connect"
        code = int.from_bytes(payload[1:3], "little")
        message = payload[3:].decode("utf-8", "replace")
        return Greeting(0, error_code=code, error_message=message[6:] if message.startswith("#") else message)
    if payload[:1] != b"\x0a":
        raise ValueError(f"not a MySQL handshake (protocol byte {payload[:1].hex() or 'missing'})")
    version, found, rest = payload[1:].partition(b"\0")
    if not found or len(rest) < 4 + 8 + 1 + 2:
        raise ValueError("the MySQL handshake ends before its capability flags")
    low = int.from_bytes(rest[13:15], "little")
    high = int.from_bytes(rest[18:20], "little") if len(rest) >= 20 else 0
    plugin = b""
    if len(rest) > 31:
        scramble_length = max(13, rest[20] - 8) if rest[20] else 13
        plugin = rest[31 + scramble_length:].split(b"\0")[0]
    # MariaDB puts "5.5.5-" before its version, for clients that once parsed only MySQL's.
    shown = version.decode("utf-8", "replace").removeprefix("5.5.5-")
    return Greeting(10, shown, low | (high << 16), plugin.decode("ascii", "replace"))


def _client_hello(capabilities: int) -> bytes:
    """The fixed part of an SSLRequest and of a HandshakeResponse41: flags, maximum packet, character set."""
    return struct.pack("<IIB", capabilities, 1 << 24, _MYSQL_UTF8MB4) + b"\0" * 23


_CAPABILITIES = _CLIENT_LONG_PASSWORD | _CLIENT_PROTOCOL_41 | _CLIENT_SECURE_CONNECTION | _CLIENT_PLUGIN_AUTH | \
    CLIENT_SSL


def _mysql_send(conn: _Connection, sequence: int, payload: bytes) -> None:
    conn.send(len(payload).to_bytes(3, "little") + bytes([sequence]) + payload)


def _mysql_tls(request: ProbeRequest, budget: float) -> tuple[bytes, dict[str, Any]]:
    """(greeting, TLS handshake result) of one connection; the handshake only when the greeting offers TLS.

    After the handshake the probe account logs in with no password and is refused: a connection dropped in the
    middle of the handshake would count towards the server's max_connect_errors and, scan after scan, block the
    scanner's address; a refused login does not count.
    """
    with _Connection(request.host, request.port, budget) as conn:
        greeting = _mysql_packet(conn, "MySQL greeting")
        try:
            parsed = parse_greeting(greeting)
        except ValueError as exc:
            raise ProbeFailed("not_db", f"{conn.where} does not greet as a MySQL server ({exc})") from None
        if not parsed.offers_tls:
            return greeting, {"handshake": False, "error": "the greeting does not offer TLS"}
        _mysql_send(conn, 1, _client_hello(_CAPABILITIES))
        found = conn.start_tls(_tls_context())
        if found["handshake"]:
            plugin = (parsed.auth_plugin or "mysql_native_password").encode()
            _mysql_send(conn, 2, _client_hello(_CAPABILITIES) + DEFAULT_USER.encode() + b"\0\0" + plugin + b"\0")
            found["probe_login"] = _mysql_login_answer(conn)
        return greeting, found


def _mysql_login_answer(conn: _Connection) -> dict[str, Any]:
    """The server's answer to the probe account's empty login (a request for more is answered empty, twice)."""
    for sequence in (4, 6):
        try:
            reply = _mysql_packet(conn, "answer to the login")
        except ProbeFailed as exc:
            return {"answer": "closed", "message": str(exc)}
        if reply[:1] == b"\xff" and len(reply) >= 3:
            message = reply[3:].decode("utf-8", "replace")
            return {"answer": "error", "code": int.from_bytes(reply[1:3], "little"),
                    "message": message[6:] if message.startswith("#") else message}
        if reply[:1] == b"\x00":
            return {"answer": "accepted"}
        if reply[:1] == b"\xfe":  # authentication switch: answer with an empty password
            _mysql_send(conn, sequence, b"")
        elif reply[:1] == b"\x01":  # caching_sha2_password asks for the password itself (over TLS): empty
            _mysql_send(conn, sequence, b"\0")
        else:
            break
    return {"answer": "unexpected"}


def _login(request: ProbeRequest, password: str, budget: float, tls: bool) -> dict[str, Any]:
    """One login attempt with PyMySQL, over TLS or in clear: accepted, or the server's refusal."""
    from auditor.extras import require

    require("databases")
    import pymysql  # only a MySQL probe with a password needs it

    security: dict[str, Any] = {"ssl": _tls_context()} if tls else {"ssl_disabled": True}
    try:
        connection = pymysql.connect(host=request.host, port=request.port, user=request.user, password=password,
                                     connect_timeout=budget, read_timeout=budget, write_timeout=budget, **security)
    except pymysql.err.MySQLError as exc:
        code, message = (*exc.args, "")[:2] if exc.args else (0, str(exc))
        return {"tls": tls, "answer": "refused", "code": code if isinstance(code, int) else 0,
                "message": str(message).replace(password, "***") if password else str(message)}
    except (OSError, ValueError) as exc:
        return {"tls": tls, "answer": "failed", "message": str(exc) or type(exc).__name__}
    connection.close()
    return {"tls": tls, "answer": "accepted"}


def _mysql(request: ProbeRequest, budget: float, environ: Mapping[str, str]) -> dict[str, Any]:
    greeting, handshake = _mysql_tls(request, budget)
    found: dict[str, Any] = {"greeting_base64": base64.b64encode(greeting).decode("ascii"), "tls": handshake}
    if request.password_env:
        password = environ.get(request.password_env)
        if password is None:
            found["login"] = {"password_env": request.password_env,
                              "error": f"the environment variable {request.password_env} is not set"}
        else:
            found["login"] = {"password_env": request.password_env,
                              "attempts": [_login(request, password, budget, tls=True),
                                           _login(request, password, budget, tls=False)]}
    return found
