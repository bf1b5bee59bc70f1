"""Read an SSH server's identification string and its first KEXINIT without logging in (RFC 4253 4.2, 6, 7.1).

The server sends its KEXINIT in the clear before any key exchange, so this works against any SSH-2 server,
including ones that offer only algorithms paramiko refuses. Nothing here parses the lists: the raw payload
is returned (base64) so that the evidence holds exactly what came off the wire, and the collector parses it.
"""

from __future__ import annotations

import base64
import json
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

# Pseudo-commands the SSH transport answers itself (argv[0]); on any other transport they are "not found".
HOSTKEY = "auditor:ssh-hostkey"
KEXINIT = "auditor:ssh-kexinit"

PROBE_BANNER = b"SSH-2.0-auditor_probe\r\n"
MSG_KEXINIT = 20
_MAX_LINE = 255  # RFC 4253 4.2: identification lines are at most 255 bytes
_MAX_PRE_LINES = 50
_MAX_PACKET = 35000  # RFC 4253 6.1: every implementation handles packets of this size


class ProbeError(Exception):
    """The peer is not an SSH server we could read, or it was too slow."""


class _Reader:
    def __init__(self, sock: Any, deadline: float) -> None:
        self._sock, self._deadline, self._buffer = sock, deadline, b""

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


def read_banner_and_kexinit(sock: Any, timeout: float) -> tuple[str, bytes]:
    """(identification string, KEXINIT payload) from a freshly connected socket; raises ProbeError."""
    (getattr(sock, "sendall", None) or sock.send)(PROBE_BANNER)
    reader = _Reader(sock, time.monotonic() + timeout)
    for _ in range(_MAX_PRE_LINES):
        line = reader.line()
        if line.startswith(b"SSH-"):
            banner = line.decode("utf-8", errors="replace")
            break
    else:
        raise ProbeError("no SSH identification string in the first lines the server sent")
    if not banner.startswith(("SSH-2.0-", "SSH-1.99-")):
        raise ProbeError(f"the server speaks {banner[:40]!r}, not SSH-2")
    packet_length, padding = struct.unpack(">IB", reader.exact(5))
    if not 5 <= packet_length <= _MAX_PACKET or padding >= packet_length:
        raise ProbeError(f"implausible first packet (length {packet_length}, padding {padding})")
    payload = reader.exact(packet_length - 1)[: packet_length - 1 - padding]
    if not payload or payload[0] != MSG_KEXINIT:
        raise ProbeError(f"the first packet is message {payload[:1].hex() or 'empty'}, not KEXINIT")
    return banner, payload


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


def _tcp(host: str, port: int, timeout: float) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
