"""The sealed bundle's header (format 2): written, read back strictly, and authenticated under the file key.

Nothing in a header is acted on before it is checked. Its length is bounded; its JSON must have exactly the
expected keys, types and sizes; the scrypt cost must be the one setting auditor writes, so a crafted header
cannot make opening cost seconds of CPU or gigabytes of memory; and once the file key is unwrapped, the header's
HMAC under that key must match before its chunk size or nonce prefix is used. Layout: docs/bundle-format.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import struct
from collections.abc import Sequence
from typing import IO, Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from auditor.errors import AuditorError
from auditor.records import record

MAGIC = b"AUDSEAL\x02"
_FORMAT_1 = b"AUDSEAL\x01"
VERSION = 2
MAC_SIZE = 32
MAX_HEADER = 1 << 16  # 64 recipients take about 12 KiB
MAX_RECIPIENTS = 64
CHUNK_SIZES = frozenset(1 << bits for bits in range(12, 25))  # 4 KiB to 16 MiB: a chunk is held in memory
SCRYPT = {"n": 1 << 15, "r": 8, "p": 1}  # 32 MiB and about 0.1 s; the only cost a header may ask for
_MAC_INFO = b"auditor-seal v2 header mac"
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")
_TOP = {"version", "cipher", "chunk_size", "nonce_prefix", "content", "recipients"}
_FIELDS = {"x25519": {"type", "fingerprint", "ephemeral", "wrapped_key"},
           "scrypt": {"type", "salt", "n", "r", "p", "wrapped_key"}}
_WRAPPED = 32 + 16  # the file key and its GCM tag


class BundleError(AuditorError):
    """A sealed bundle cannot be opened: wrong key, tampered, truncated, malformed or not a bundle."""


@record
class Recipient:
    """One way to unwrap the file key: an X25519 recipient (fingerprint, ephemeral key) or a passphrase (salt)."""

    kind: str
    wrapped_key: bytes
    fingerprint: str = ""
    ephemeral: bytes = b""
    salt: bytes = b""


@record
class Header:
    """A header that passed every structural check; `preamble` is what its MAC covers (magic, length, JSON)."""

    chunk_size: int
    nonce_prefix: bytes
    recipients: tuple[Recipient, ...]
    preamble: bytes


def b64(data: bytes) -> str:
    """Base64 text, as the header holds binary values."""
    return base64.b64encode(data).decode()


def encode(chunk_size: int, nonce_prefix: bytes, recipients: Sequence[dict[str, Any]]) -> bytes:
    """The preamble a sealer writes before the MAC: magic, header length, header JSON."""
    header = json.dumps({"version": VERSION, "cipher": "AES-256-GCM", "chunk_size": chunk_size,
                         "nonce_prefix": b64(nonce_prefix), "content": "tar", "recipients": list(recipients)},
                        sort_keys=True).encode()
    return MAGIC + struct.pack(">I", len(header)) + header


def mac(file_key: bytes, preamble: bytes) -> bytes:
    """HMAC-SHA256 of the preamble under a key derived from the file key: only a recipient can make it."""
    key = HKDF(hashes.SHA256(), 32, salt=None, info=_MAC_INFO).derive(file_key)
    return hmac.new(key, preamble, hashlib.sha256).digest()


def check_mac(header: Header, file_key: bytes, tag: bytes) -> None:
    """Refuse a header whose MAC does not match: it was altered after sealing."""
    if not hmac.compare_digest(mac(file_key, header.preamble), tag):
        raise BundleError("the bundle header was altered (its MAC does not match): refused before use")


def read(handle: IO[bytes]) -> tuple[Header, bytes]:
    """The header and its MAC tag, read within bounds and checked for shape; nothing is derived yet."""
    magic = handle.read(len(MAGIC))
    if magic == _FORMAT_1:
        raise BundleError("this bundle is format 1, whose header is not authenticated before use; this auditor "
                          "opens format 2 only: ask the sender to seal the run again")
    if magic != MAGIC:
        raise BundleError("not an auditor sealed bundle (wrong magic bytes)")
    raw_length = handle.read(4)
    if len(raw_length) != 4:
        raise BundleError("the bundle is truncated inside its header")
    (length,) = struct.unpack(">I", raw_length)
    if not 0 < length <= MAX_HEADER:
        raise BundleError(f"the bundle header claims {length} bytes (at most {MAX_HEADER} are allowed)")
    raw = handle.read(length)
    tag = handle.read(MAC_SIZE)
    if len(raw) != length or len(tag) != MAC_SIZE:
        raise BundleError("the bundle is truncated inside its header")
    return _parse(raw, magic + raw_length + raw), tag


def _parse(raw: bytes, preamble: bytes) -> Header:
    try:
        document = json.loads(raw, object_pairs_hook=_no_duplicates)
        return _header(document, preamble)
    except _Malformed as exc:
        raise BundleError(f"the bundle header is malformed: {exc}") from None
    except (ValueError, RecursionError):
        raise BundleError("the bundle header is malformed: not JSON") from None


class _Malformed(Exception):
    """One reason a header is refused, in a few words."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _Malformed(f"a key appears twice ({sorted(k for k in keys if keys.count(k) > 1)[0]!r})")
    return dict(pairs)


def _header(document: Any, preamble: bytes) -> Header:
    _keys(document, _TOP, "the header")
    if _int(document, "version") != VERSION:
        raise _Malformed(f"version {document['version']!r} is not {VERSION}")
    if document["cipher"] != "AES-256-GCM" or document["content"] != "tar":
        raise _Malformed("only AES-256-GCM over a tar stream is opened")
    chunk_size = _int(document, "chunk_size")
    if chunk_size not in CHUNK_SIZES:
        raise _Malformed(f"chunk_size {chunk_size} is not a power of two from 4 KiB to 16 MiB")
    entries = document["recipients"]
    if not isinstance(entries, list) or not 0 < len(entries) <= MAX_RECIPIENTS:
        raise _Malformed(f"recipients must be a list of 1 to {MAX_RECIPIENTS}")
    recipients = tuple(_recipient(entry) for entry in entries)
    if sum(r.kind == "scrypt" for r in recipients) > 1:
        raise _Malformed("more than one passphrase entry")
    return Header(chunk_size, _bytes(document, "nonce_prefix", 7), recipients, preamble)


def _recipient(entry: Any) -> Recipient:
    kind = entry.get("type") if isinstance(entry, dict) else None
    if kind not in _FIELDS:
        raise _Malformed(f"recipient type {kind!r} is not x25519 or scrypt")
    _keys(entry, _FIELDS[kind], f"a {kind} recipient")
    wrapped = _bytes(entry, "wrapped_key", _WRAPPED)
    if kind == "scrypt":
        # Checked before any key is derived: the cost is auditor's one setting, never what a header asks for.
        cost = {k: _int(entry, k) for k in SCRYPT}
        if cost != SCRYPT:
            raise _Malformed(f"scrypt cost {cost} is not the allowed {SCRYPT}")
        return Recipient(kind, wrapped, salt=_bytes(entry, "salt", 16))
    fingerprint = entry["fingerprint"]
    if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
        raise _Malformed("an x25519 fingerprint is not SHA256:<43 base64 characters>")
    return Recipient(kind, wrapped, fingerprint=fingerprint, ephemeral=_bytes(entry, "ephemeral", 32))


def _keys(document: Any, expected: set[str], what: str) -> None:
    if not isinstance(document, dict):
        raise _Malformed(f"{what} is not a JSON object")
    if set(document) != expected:
        wrong = sorted(set(document) ^ expected)
        raise _Malformed(f"{what} has missing or unknown keys: {', '.join(wrong)}")


def _int(document: dict[str, Any], key: str) -> int:
    value = document[key]
    if type(value) is not int:  # JSON true is an int to Python, 8.0 is a float: both refused
        raise _Malformed(f"{key} is not an integer")
    return value


def _bytes(document: dict[str, Any], key: str, size: int) -> bytes:
    value = document[key]
    try:
        data = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except ValueError:  # binascii.Error, or a str that is not ASCII
        data = b""
    if len(data) != size:
        raise _Malformed(f"{key} is not {size} bytes of base64")
    return data
