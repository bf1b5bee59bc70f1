"""Read what an SSH server shows before any login (RFC 4253 4.2, 6, 7, 8): its identification string, its
KEXINIT, and each of its host keys, without paramiko and without logging in.

The server sends its KEXINIT in the clear before any key exchange, so this works against any SSH-2 server,
including ones that offer only algorithms paramiko refuses. A host key comes in the server's first key-exchange
reply, also in the clear: one connection per key type offers that one host-key algorithm, sends a key-exchange
init and reads the key from the reply, then hangs up (as ssh-audit does). Nothing here parses the lists or the
keys: the raw payloads are returned (base64) so that the evidence holds exactly what came off the wire, and the
collector parses them.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# Pseudo-commands the SSH transport answers itself (argv[0]); on any other transport they are "not found".
HOSTKEY = "auditor:ssh-hostkey"
KEXINIT = "auditor:ssh-kexinit"
HOSTKEYS = "auditor:ssh-hostkeys"
AUTH_METHODS = "auditor:ssh-auth-methods"

PROBE_BANNER = b"SSH-2.0-auditor_probe\r\n"
MSG_KEXINIT = 20
_MSG_IGNORE_LIKE = (2, 3, 4)  # IGNORE, UNIMPLEMENTED, DEBUG may come at any time
_MSG_KEX_INIT, _MSG_KEX_REPLY = 30, 31  # KEXDH_INIT / KEX_ECDH_INIT and their replies share these numbers
_MSG_GEX_GROUP, _MSG_GEX_INIT, _MSG_GEX_REPLY, _MSG_GEX_REQUEST = 31, 32, 33, 34
_MAX_LINE = 255  # RFC 4253 4.2: identification lines are at most 255 bytes
_MAX_PRE_LINES = 50
_MAX_PACKET = 35000  # RFC 4253 6.1: every implementation handles packets of this size
_MAX_LISTS = 4096  # a reply with a key (RSA 16384 bits), or a GEX group (8192 bits), fits well below this
_KEPT = 512  # the first bytes a server sends are kept, to say what it is when it is not SSH
_QUOTED = 60  # characters of a non-SSH answer quoted in a message

# The key behind each host-key algorithm: the RSA key is one key whichever hash signs with it.
KEY_OF_ALGORITHM = {"rsa-sha2-512": "ssh-rsa", "rsa-sha2-256": "ssh-rsa", "ssh-rsa": "ssh-rsa"}
# Key exchanges this probe can drive to the server's reply, in order of preference. Fixed DH groups take any
# public value 1 < e < p-1, and the key exchange is abandoned once the host key is read, so e needs no secret.
_ECDH_CURVES = {"ecdh-sha2-nistp256": "SECP256R1", "ecdh-sha2-nistp384": "SECP384R1",
                "ecdh-sha2-nistp521": "SECP521R1"}
_DH_FIXED = ("diffie-hellman-group14-sha256", "diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512",
             "diffie-hellman-group15-sha512", "diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1")
_DH_GEX = ("diffie-hellman-group-exchange-sha256", "diffie-hellman-group-exchange-sha1")
PROBE_KEX = ("curve25519-sha256", "curve25519-sha256@libssh.org", *_ECDH_CURVES, *_DH_FIXED, *_DH_GEX)


class ProbeError(Exception):
    """The peer is not an SSH server we could read, or it was too slow."""


class _Reader:
    def __init__(self, sock: Any, deadline: float) -> None:
        self._sock, self._deadline, self._buffer = sock, deadline, b""
        self.received = b""  # the first _KEPT bytes the server sent

    def _fill(self) -> None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise ProbeError("timed out waiting for the server")
        self._sock.settimeout(left)
        try:
            chunk = self._sock.recv(65536)
        except TimeoutError:
            raise ProbeError("timed out waiting for the server") from None
        if not chunk:
            raise ProbeError("the server closed the connection")
        self.received += chunk[:max(0, _KEPT - len(self.received))]
        self._buffer += chunk

    def line(self) -> bytes:
        while b"\n" not in self._buffer:
            if len(self._buffer) > _MAX_LINE:
                raise ProbeError("the server sent a line longer than 255 bytes before its identification")
            self._fill()
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.rstrip(b"\r")

    def exact(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def packet(self) -> bytes:
        """The payload of the next unencrypted packet (RFC 4253 6)."""
        packet_length, padding = struct.unpack(">IB", self.exact(5))
        if not 5 <= packet_length <= _MAX_PACKET or padding >= packet_length:
            raise ProbeError(f"implausible packet (length {packet_length}, padding {padding})")
        return self.exact(packet_length - 1)[: packet_length - 1 - padding]

    def message(self, wanted: int) -> bytes:
        """The next packet that is not IGNORE, UNIMPLEMENTED or DEBUG; it must be message `wanted`."""
        while True:
            payload = self.packet()
            if payload and payload[0] in _MSG_IGNORE_LIKE:
                continue
            if not payload or payload[0] != wanted:
                found = payload[:1].hex() or "empty"
                if payload[:1] == b"\x01":  # DISCONNECT: say why
                    found += f" (disconnect: {_field(payload, 5)[:120].decode('utf-8', 'replace')})"
                raise ProbeError(f"expected message {wanted}, the server sent message {found}")
            return payload


def _field(payload: bytes, offset: int) -> bytes:
    if offset + 4 > len(payload):
        raise ProbeError("the server's message ends before a field it should hold")
    (size,) = struct.unpack_from(">I", payload, offset)
    if size > len(payload) - offset - 4:
        raise ProbeError("a field runs past the end of the server's message")
    return payload[offset + 4: offset + 4 + size]


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _mpint(value: int) -> bytes:
    raw = value.to_bytes(value.bit_length() // 8 + 1, "big")  # a leading zero byte keeps it positive
    return _string(raw)


def _frame(payload: bytes) -> bytes:
    """An unencrypted packet: length, padding length, payload, at least 4 bytes of padding to a multiple of 8."""
    padding = 8 - (len(payload) + 5) % 8
    padding += 8 if padding < 4 else 0
    return struct.pack(">IB", len(payload) + padding + 1, padding) + payload + bytes(padding)


def read_banner_and_kexinit(sock: Any, timeout: float) -> tuple[str, bytes]:
    """(identification string, KEXINIT payload) from a freshly connected socket; raises ProbeError."""
    banner, payload, _ = _start(sock, timeout)
    return banner, payload


def _start(sock: Any, timeout: float) -> tuple[str, bytes, _Reader]:
    (getattr(sock, "sendall", None) or sock.send)(PROBE_BANNER)
    reader = _Reader(sock, time.monotonic() + timeout)
    try:
        for _ in range(_MAX_PRE_LINES):
            line = reader.line()
            if line.startswith(b"SSH-"):
                banner = line.decode("utf-8", errors="replace")
                break
        else:
            raise ProbeError("no SSH identification string in the first lines the server sent")
    except (ProbeError, OSError) as exc:
        said = what_came(reader.received)
        if not said and not isinstance(exc, ProbeError):
            raise
        raise ProbeError(f"{said} ({exc.strerror if isinstance(exc, OSError) else exc})" if said else str(exc)) \
            from None
    if not banner.startswith(("SSH-2.0-", "SSH-1.99-")):
        raise ProbeError(f"the server speaks {banner[:40]!r}, not SSH-2")
    payload = reader.packet()
    if not payload or payload[0] != MSG_KEXINIT:
        raise ProbeError(f"the first packet is message {payload[:1].hex() or 'empty'}, not KEXINIT")
    return banner, payload, reader


def what_came(data: bytes) -> str:
    """What a server that sent no SSH identification sent instead, in words ("" for nothing), its bytes quoted
    with control characters escaped: "answered HTTP, not SSH: 'HTTP/1.1 400 Bad Request'"."""
    if not data:
        return ""
    if data[:1] in (b"\x15", b"\x16") and data[1:2] == b"\x03":  # a TLS alert or handshake record
        return "answered TLS, not SSH"
    first = data.split(b"\n", 1)[0].rstrip(b"\r") if data.startswith(b"HTTP/") else data
    text = first.decode("utf-8", errors="replace")
    # repr() writes ESC, CR, NUL and the other characters a terminal would obey as escapes (\x1b...).
    quoted = repr(text[:_QUOTED] + ("…" if len(text) > _QUOTED else ""))
    if data.startswith(b"HTTP/"):
        return f"answered HTTP, not SSH: {quoted}"
    if data.lstrip()[:14].lower().startswith((b"<!doctype html", b"<html")):  # an HTTP/0.9 error page
        return f"answered with a web page, not SSH: {quoted}"
    return f"answered {len(data)}{'+' if len(data) >= _KEPT else ''} bytes that are not an SSH banner: {quoted}"


def peer_answer(open_socket: Callable[[str, int, float], Any], host: str, port: int, timeout: float) -> str:
    """What host:port says when spoken to as SSH, in words (`what_came`); "" when it says nothing within `timeout`.

    For the login's error message: paramiko only says it found no banner."""
    try:
        sock = open_socket(host, port, timeout)
    except Exception:  # only an error message is at stake, and the caller reports its own
        return ""
    reader = _Reader(sock, time.monotonic() + timeout)
    try:
        (getattr(sock, "sendall", None) or sock.send)(PROBE_BANNER)
        while len(reader.received) < _KEPT:  # until it has said enough, hung up, or the time is up
            reader.exact(1)
    except (ProbeError, OSError):
        pass
    finally:
        sock.close()
    return what_came(reader.received)


def probe(host: str, port: int, timeout: float,
          open_socket: Callable[[str, int, float], Any] | None = None) -> str:
    """Connect, read, close; the JSON document the `ssh-kexinit` pseudo-command prints."""
    started = time.monotonic()
    sock = (open_socket or _tcp)(host, port, timeout)
    try:
        banner, payload = read_banner_and_kexinit(sock, timeout)
    finally:
        sock.close()
    return json.dumps({
        "host": host, "port": port, "banner": banner,
        "kexinit_base64": base64.b64encode(payload).decode("ascii"),
        "seconds": round(time.monotonic() - started, 3),
    })


# -- host keys ---------------------------------------------------------------------------------------------

def _lists(kexinit: bytes) -> list[list[str]]:
    """The first eight name-lists of a KEXINIT (kex, host key, ciphers, MACs, compression; both directions)."""
    offset, lists = 17, []
    for _ in range(8):
        raw = _field(kexinit, offset)
        offset += 4 + len(raw)
        lists.append([name for name in raw.decode("ascii", errors="replace").split(",") if name])
    return lists


def key_groups(host_key_algorithms: Sequence[str]) -> dict[str, list[str]]:
    """Offered host-key algorithms grouped by the key behind them, first algorithm first; certificates apart."""
    groups: dict[str, list[str]] = {}
    for algorithm in host_key_algorithms:
        if "-cert-" not in algorithm:
            groups.setdefault(KEY_OF_ALGORITHM.get(algorithm, algorithm), []).append(algorithm)
    return groups


def probe_kex(kex_offered: Sequence[str]) -> str:
    """The key exchange this probe drives to read host keys: the first of PROBE_KEX the server offers, or ""."""
    return next((k for k in PROBE_KEX if k in kex_offered), "")


def _random_bits(bits: int) -> int:
    """A random number of `bits` bits from the system, as secrets.randbits gives it (secrets imports the random
    module: 1 ms of every start)."""
    return int.from_bytes(os.urandom((bits + 7) // 8), "big") >> (-bits % 8)


def _kex_start(kex: str) -> tuple[bytes, int]:
    """The client's first key-exchange message for `kex`, and the message number of the reply with the key."""
    if kex.startswith("curve25519-sha256"):
        return bytes([_MSG_KEX_INIT]) + _string(os.urandom(32)), _MSG_KEX_REPLY
    if kex in _ECDH_CURVES:
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        point = ec.generate_private_key(getattr(ec, _ECDH_CURVES[kex])()).public_key()
        return bytes([_MSG_KEX_INIT]) + _string(point.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)), \
            _MSG_KEX_REPLY
    if kex in _DH_FIXED:  # below the 1024-bit group's prime, so valid in every group
        return bytes([_MSG_KEX_INIT]) + _mpint(_random_bits(1000) | 1 << 1000), _MSG_KEX_REPLY
    return bytes([_MSG_GEX_REQUEST]) + struct.pack(">III", 2048, 3072, 8192), _MSG_GEX_GROUP


def fetch_host_key(sock: Any, timeout: float, algorithm: str, kex: str, started: tuple[str, bytes, _Reader]
                   | None = None) -> bytes:
    """The host key blob the server signs with under `algorithm`, from its key-exchange reply."""
    _, server_kexinit, reader = started or _start(sock, timeout)
    lists = _lists(server_kexinit)
    # Offer what the server offers first for everything but kex and host key, so only those two decide.
    ours = [[kex], [algorithm]] + [server[:1] for server in lists[2:]]
    kexinit = bytes([MSG_KEXINIT]) + os.urandom(16) + b"".join(_string(",".join(x).encode()) for x in ours) \
        + _string(b"") * 2 + b"\0" + bytes(4)
    first, reply = _kex_start(kex)
    send = getattr(sock, "sendall", None) or sock.send
    send(_frame(kexinit) + _frame(first))
    payload = reader.message(reply)
    if kex in _DH_GEX:
        prime = int.from_bytes(_field(payload, 1), "big")
        if prime.bit_length() < 1024:
            raise ProbeError(f"the server offered a {prime.bit_length()}-bit group for the key exchange")
        send(_frame(bytes([_MSG_GEX_INIT]) + _mpint(_random_bits(prime.bit_length() - 8) | 3)))
        payload = reader.message(_MSG_GEX_REPLY)
    return _field(payload, 1)


def host_keys(host: str, port: int, timeout: float, open_socket: Callable[[str, int, float], Any] | None = None,
              ) -> str:
    """One host key per key type the server offers; the JSON document the `ssh-hostkeys` pseudo-command prints.

    The first connection reads the offer and fetches the first key; the other keys are fetched at once, each
    over its own connection.
    """
    began = time.monotonic()
    connect = open_socket or _tcp
    sock = connect(host, port, timeout)
    try:
        started = _start(sock, timeout)
        kex_offered, algorithms = _lists(started[1])[:2]
        kex = probe_kex(kex_offered)
        if not kex:
            return json.dumps({"host": host, "port": port, "keys": [], "seconds": 0, "problem": "no key exchange "
                               f"this probe can drive is offered ({', '.join(kex_offered)})"})
        groups = key_groups(algorithms)
        first = next(iter(groups.values()), None)
        answers = {first[0]: _attempt(lambda: fetch_host_key(sock, timeout, first[0], kex, started))} if first else {}
    finally:
        sock.close()

    def fetch_alone(algorithm: str) -> bytes:
        own = connect(host, port, timeout)
        try:
            return fetch_host_key(own, timeout, algorithm, kex)
        finally:
            own.close()

    rest = [algs[0] for algs in groups.values() if algs[0] not in answers]
    if rest:
        with ThreadPoolExecutor(max_workers=len(rest)) as pool:
            answers.update(zip(rest, pool.map(lambda a: _attempt(lambda: fetch_alone(a)), rest), strict=True))
    keys = [{"offered_as": algs, "kex": kex, **answers[algs[0]]} for algs in groups.values()]
    return json.dumps({"host": host, "port": port, "keys": keys, "seconds": round(time.monotonic() - began, 3)})


def _attempt(fetch: Callable[[], bytes]) -> dict[str, str]:
    try:
        return {"key_base64": base64.b64encode(fetch()).decode("ascii")}
    except (ProbeError, OSError) as exc:
        return {"error": str(exc) or type(exc).__name__}


def _tcp(host: str, port: int, timeout: float) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
