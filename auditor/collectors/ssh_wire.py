"""What an SSH server shows on the wire, read without logging in: its identification string and KEXINIT, and
each host key it offers. (The authentication methods it offers are collectors/ssh_auth.py's: asking them takes a
whole key exchange, which a scan of SSH-0100 alone does not need.)

The SSH transports answer pseudo-commands with the raw bytes (base64) in JSON, so the bytes themselves are the
evidence and this module parses them: `auditor:ssh-kexinit` (RFC 4253 7.1), `auditor:ssh-hostkeys` (the key
blobs, RFC 4253 6.6, RFC 5656 3.1, RFC 8709). `auditor:ssh-hostkey` adds the host key the login verified and
the algorithms it agreed. A local target has no network address, so these pseudo-commands are "not found" there.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import struct
from typing import Any

from auditor.collectors.base import Requests
from auditor.errors import CollectorError, FactMissing
from auditor.models import SystemFacts
from auditor.records import record
from auditor.transports._ssh_wire import HOSTKEY, HOSTKEYS, KEXINIT
from auditor.transports.base import Command, CommandResult, Transport, cmd

NEEDS_LOGIN = False  # the server's handshake, seen from the network
KEXINIT_COMMAND = cmd(KEXINIT, timeout=30)
HOSTKEY_COMMAND = cmd(HOSTKEY)
HOSTKEYS_COMMAND = cmd(HOSTKEYS, timeout=30)
_CURVE_BITS = {"nistp256": 256, "nistp384": 384, "nistp521": 521}
MSG_KEXINIT = 20
NOT_PROBED = "the target is scanned locally, so there is no network address to read an SSH banner from; scan it as "\
    "an ssh target"
_LIST_NAMES = ("kex_algorithms", "server_host_key_algorithms", "encryption_client_to_server",
               "encryption_server_to_client", "mac_client_to_server", "mac_server_to_client",
               "compression_client_to_server", "compression_server_to_client", "languages_client_to_server",
               "languages_server_to_client")


@record
class Kexinit:
    """The ten name-lists of a KEXINIT message (RFC 4253 7.1), in the server's order of preference."""

    lists: dict[str, tuple[str, ...]]
    first_kex_packet_follows: bool


@record
class HostKey:
    """Attributes:
    offered_as: the host-key algorithms the server offers with this key (rsa-sha2-512, rsa-sha2-256, ssh-rsa).
    key_type: the key's own type ("ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-dss"); empty if unread.
    bits: its size (RSA modulus, DSA prime, the curve's size); 0 when unknown.
    sha256: OpenSSH's fingerprint of the key.
    problem: why the key could not be read ("" when it was).
    """

    offered_as: tuple[str, ...]
    key_type: str = ""
    bits: int = 0
    sha256: str = ""
    problem: str = ""


@record
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
    login_algorithms: what the login agreed (kex, host_key, cipher_out/in, mac_out/in); empty without a login.
    legacy_ssh: the target opted in to legacy algorithms for the login.
    host_keys: one per key the server offers (certificates are not fetched); host_keys_problem: why none were.
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
    login_algorithms: tuple[tuple[str, str], ...] = ()
    legacy_ssh: bool = False
    host_keys: tuple[HostKey, ...] = ()
    host_keys_problem: str = ""


def requests(_: SystemFacts) -> Requests:
    return (KEXINIT_COMMAND, HOSTKEY_COMMAND, HOSTKEYS_COMMAND), ()


def collect(host: Transport, _: SystemFacts) -> SshWireFacts:
    facts = banner_and_offer(host)
    if not facts.probed:
        return facts
    found: dict[str, Any] = {}
    key = host.run(HOSTKEY_COMMAND)
    if key.ok:
        found |= parse_hostkey(key.stdout)
    keys = answer(host, HOSTKEYS_COMMAND)
    found |= parse_host_keys(keys.stdout) if keys.ok else {"host_keys_problem": failure(keys)}
    return dataclasses.replace(facts, **found)


def banner_and_offer(host: Transport) -> SshWireFacts:
    """The banner and KEXINIT (probed=False on a local target, which has no network address)."""
    probe = host.run(KEXINIT_COMMAND)
    if probe.not_found:
        return SshWireFacts(probed=False, problem=NOT_PROBED)
    probe.raise_for_status()
    return parse_probe(probe.stdout)


def answer(host: Transport, command: Command) -> CommandResult:
    """The probe's answer; evidence recorded before auditor asked this probe answers "not recorded", so that an
    older run can still be replayed (the KEXINIT, which every run holds, is judged as before)."""
    try:
        return host.run(command)
    except FactMissing:
        return CommandResult(str(command), 1, "", f"not in this evidence: `{command}` was not recorded")


def failure(result: CommandResult) -> str:
    """Why a probe gave no answer, in one line."""
    return result.stderr.strip().splitlines()[0] if result.stderr.strip() else result.failure()


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


def parse_hostkey(text: str) -> dict[str, Any]:
    """The transport's `ssh-hostkey` JSON -> the host_key_*, login_algorithms and legacy_ssh fields."""
    try:
        document = json.loads(text)
        agreed = document.get("algorithms") or {}
        return {"host_key_type": str(document["type"]), "host_key_sha256": str(document["sha256"]),
                "host_key_status": str(document["status"]),
                "login_algorithms": tuple((str(k), str(v)) for k, v in agreed.items()),
                "legacy_ssh": bool(document.get("legacy_ssh", False))}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CollectorError(f"the host key record is unreadable ({exc})") from exc


def parse_host_keys(text: str) -> dict[str, Any]:
    """The transport's `ssh-hostkeys` JSON -> host_keys (type, size, fingerprint of each key blob)."""
    try:
        document = json.loads(text)
        keys = tuple(_host_key(tuple(map(str, k["offered_as"])), k.get("key_base64"), str(k.get("error", "")))
                     for k in document["keys"])
        return {"host_keys": keys, "host_keys_problem": str(document.get("problem", ""))}
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise CollectorError(f"the host keys probe returned something unreadable ({exc})") from exc


def _host_key(offered_as: tuple[str, ...], blob_base64: str | None, error: str) -> HostKey:
    if not blob_base64:
        return HostKey(offered_as, problem=error or "no key was returned")
    blob = base64.b64decode(blob_base64, validate=True)
    fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
    try:
        key_type, bits = key_size(blob)
    except (CollectorError, struct.error) as exc:
        return HostKey(offered_as, sha256=fingerprint, problem=f"the key could not be parsed ({exc})")
    return HostKey(offered_as, key_type, bits, fingerprint)


def key_size(blob: bytes) -> tuple[str, int]:
    """(key type, size in bits) of an SSH public key blob; size 0 for a type whose size is not known here."""
    fields = _strings(blob)
    key_type = fields[0].decode("ascii", errors="replace")
    if key_type == "ssh-rsa":  # string type, mpint e, mpint n
        return key_type, int.from_bytes(fields[2], "big").bit_length()
    if key_type == "ssh-dss":  # string type, mpint p, q, g, y
        return key_type, int.from_bytes(fields[1], "big").bit_length()
    if key_type.startswith("ecdsa-sha2-"):
        return key_type, _CURVE_BITS.get(fields[1].decode("ascii", errors="replace"), 0)
    return key_type, {"ssh-ed25519": 256, "ssh-ed448": 456}.get(key_type, 0)


def _strings(blob: bytes) -> list[bytes]:
    """The length-prefixed strings (and mpints) a key blob is made of."""
    fields, offset = [], 0
    while offset < len(blob):
        (size,) = struct.unpack_from(">I", blob, offset)
        if offset + 4 + size > len(blob):
            raise CollectorError("a field runs past the end of the key")
        fields.append(blob[offset + 4: offset + 4 + size])
        offset += 4 + size
    if len(fields) < 2:
        raise CollectorError("too few fields for a public key")
    return fields


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
