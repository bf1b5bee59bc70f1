"""What an SSH server offers on the wire: its identification string and KEXINIT, read without logging in.

The SSH transport answers the pseudo-command `auditor:ssh-kexinit` by connecting a second time and
returning the raw KEXINIT payload (base64) as JSON, so the bytes themselves are the evidence; this
module parses them (RFC 4253 7.1). `auditor:ssh-hostkey` adds the host key the login verified.
A local target has no network address, so both pseudo-commands are "not found" there.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from dataclasses import dataclass

from auditor.collectors.base import Requests
from auditor.errors import CollectorError
from auditor.models import SystemFacts
from auditor.transports._ssh_wire import HOSTKEY, KEXINIT
from auditor.transports.base import Transport, cmd

NEEDS_LOGIN = False  # the server's handshake, seen from the network
KEXINIT_COMMAND = cmd(KEXINIT, timeout=30)
HOSTKEY_COMMAND = cmd(HOSTKEY)
MSG_KEXINIT = 20
_LIST_NAMES = ("kex_algorithms", "server_host_key_algorithms", "encryption_client_to_server",
               "encryption_server_to_client", "mac_client_to_server", "mac_server_to_client",
               "compression_client_to_server", "compression_server_to_client", "languages_client_to_server",
               "languages_server_to_client")


@dataclass(frozen=True)
class Kexinit:
    """The ten name-lists of a KEXINIT message (RFC 4253 7.1), in the server's order of preference."""

    lists: dict[str, tuple[str, ...]]
    first_kex_packet_follows: bool


@dataclass(frozen=True)
class SshWireFacts:
    """Attributes:
    probed: False when there is no network address to probe (a local target); `problem` says why.
    host / port: where the banner was read.
    banner: the identification string, e.g. "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10".
    kex / host_key_algorithms / ciphers / macs / compression: what the server offers (ciphers and MACs
        are the union of both directions, in the server's order); markers such as ext-info-s and
        kex-strict-s-v00@openssh.com are kept in `kex` as sent.
    host_key_type / host_key_sha256 / host_key_status: the key verified at login ("known" in known_hosts or
        "trusted-new" with --trust-new-host-keys); empty when not logged in.
    """

    probed: bool
    problem: str = ""
    host: str = ""
    port: int = 0
    banner: str = ""
    kex: tuple[str, ...] = ()
    host_key_algorithms: tuple[str, ...] = ()
    ciphers: tuple[str, ...] = ()
    macs: tuple[str, ...] = ()
    compression: tuple[str, ...] = ()
    host_key_type: str = ""
    host_key_sha256: str = ""
    host_key_status: str = ""


def requests(_: SystemFacts) -> Requests:
    return (KEXINIT_COMMAND, HOSTKEY_COMMAND), ()


def collect(host: Transport, _: SystemFacts) -> SshWireFacts:
    probe = host.run(KEXINIT_COMMAND)
    if probe.not_found:
        return SshWireFacts(probed=False, problem="the target is scanned locally, so there is no network "
                            "address to read an SSH banner from; scan it as an ssh target")
    probe.raise_for_status()
    facts = parse_probe(probe.stdout)
    key = host.run(HOSTKEY_COMMAND)
    if key.ok:
        found = parse_hostkey(key.stdout)
        facts = SshWireFacts(**{**facts.__dict__, **found})
    return facts


def _union(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(first + second))


def parse_probe(text: str) -> SshWireFacts:
    """The transport's JSON (host, port, banner, kexinit_base64) -> facts."""
    try:
        document = json.loads(text)
        payload = base64.b64decode(document["kexinit_base64"], validate=True)
        banner, host, port = str(document["banner"]), str(document["host"]), int(document["port"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise CollectorError(f"the SSH banner probe returned something unreadable ({exc})") from exc
    kexinit = parse_kexinit(payload)
    lists = kexinit.lists
    return SshWireFacts(
        probed=True, host=host, port=port, banner=banner, kex=lists["kex_algorithms"],
        host_key_algorithms=lists["server_host_key_algorithms"],
        ciphers=_union(lists["encryption_server_to_client"], lists["encryption_client_to_server"]),
        macs=_union(lists["mac_server_to_client"], lists["mac_client_to_server"]),
        compression=_union(lists["compression_server_to_client"], lists["compression_client_to_server"]),
    )


def parse_hostkey(text: str) -> dict[str, str]:
    """The transport's `ssh-hostkey` JSON -> the host_key_* fields."""
    try:
        document = json.loads(text)
        return {"host_key_type": str(document["type"]), "host_key_sha256": str(document["sha256"]),
                "host_key_status": str(document["status"])}
    except (ValueError, KeyError, TypeError) as exc:
        raise CollectorError(f"the host key record is unreadable ({exc})") from exc


def parse_kexinit(payload: bytes) -> Kexinit:
    """A KEXINIT payload (message byte, 16-byte cookie, ten name-lists, a boolean, a reserved uint32)."""
    if len(payload) < 17 or payload[0] != MSG_KEXINIT:
        raise CollectorError("not a KEXINIT message")
    offset = 17
    lists: dict[str, tuple[str, ...]] = {}
    for name in _LIST_NAMES:
        if offset + 4 > len(payload):
            raise CollectorError(f"KEXINIT ends before its {name} list")
        (size,) = struct.unpack_from(">I", payload, offset)
        offset += 4
        if offset + size > len(payload):
            raise CollectorError(f"KEXINIT {name} list runs past the end of the message")
        raw = payload[offset:offset + size]
        offset += size
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise CollectorError(f"KEXINIT {name} list is not ASCII") from exc
        lists[name] = tuple(item for item in text.split(",") if item)
    if offset + 5 > len(payload):
        raise CollectorError("KEXINIT ends before first_kex_packet_follows")
    return Kexinit(lists, payload[offset] != 0)
