"""Sealed bundles: a run folder as one AES-256-GCM file for X25519 recipients and/or a passphrase.

The format is specified in docs/bundle-format.md (STREAM construction with a final-chunk flag).
Sealing and opening stream through fixed-size chunks, so memory stays flat whatever the run's size.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import secrets
import shutil
import struct
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from auditor.bundle.keys import fingerprint, raw_public
from auditor.errors import AuditorError, InputError

MAGIC = b"AUDSEAL\x01"
CHUNK_SIZE = 1 << 20
_TAG = 16
_ZERO_NONCE = bytes(12)
_INFO = b"auditor-seal v1 x25519"
_SCRYPT = {"n": 1 << 15, "r": 8, "p": 1}
_MAX_HEADER = 1 << 20


class BundleError(AuditorError):
    """A sealed bundle cannot be opened: wrong key, tampered, truncated or not a bundle."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _kek_x25519(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=ephemeral + recipient, info=_INFO).derive(shared)


def _kek_scrypt(secret: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret)


def _recipients(file_key: bytes, public_keys: Sequence[bytes], secret: bytes | None) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for recipient in public_keys:
        ephemeral = X25519PrivateKey.generate()
        ephemeral_raw = raw_public(ephemeral.public_key())
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
        kek = _kek_x25519(shared, ephemeral_raw, recipient)
        entries.append({"type": "x25519", "fingerprint": fingerprint(recipient), "ephemeral": _b64(ephemeral_raw),
                        "wrapped_key": _b64(AESGCM(kek).encrypt(_ZERO_NONCE, file_key, None))})
    if secret is not None:
        salt = secrets.token_bytes(16)
        kek = _kek_scrypt(secret, salt, **_SCRYPT)
        entries.append({"type": "scrypt", "salt": _b64(salt), **_SCRYPT,
                        "wrapped_key": _b64(AESGCM(kek).encrypt(_ZERO_NONCE, file_key, None))})
    return entries


class _SealWriter(io.RawIOBase):
    """A write-only stream that encrypts what tarfile writes, one chunk at a time."""

    def __init__(self, out: IO[bytes], key: bytes, prefix: bytes, aad: bytes, chunk_size: int) -> None:
        super().__init__()
        self._out, self._aead, self._prefix, self._aad = out, AESGCM(key), prefix, aad
        self._size = chunk_size
        self._buffer = bytearray()
        self._counter = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        # Keep at least one byte back: the final chunk must be known as final when it is sealed.
        while len(self._buffer) > self._size:
            self._emit(bytes(self._buffer[: self._size]), last=False)
            del self._buffer[: self._size]
        return len(data)

    def finish(self) -> None:
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _emit(self, chunk: bytes, last: bool) -> None:
        nonce = self._prefix + struct.pack(">I", self._counter) + (b"\x01" if last else b"\x00")
        self._out.write(self._aead.encrypt(nonce, chunk, self._aad))
        self._counter += 1


def seal(run_dir: Path, out: Path, public_keys: Sequence[bytes], secret: bytes | None,
         chunk_size: int = CHUNK_SIZE) -> Path:
    """Pack `run_dir` into `out`, readable by each X25519 recipient and/or the passphrase."""
    if not public_keys and secret is None:
        raise InputError("a bundle needs at least one recipient", "--to", "give --to seal.pub and/or --passphrase")
    file_key = secrets.token_bytes(32)
    prefix = secrets.token_bytes(7)
    header = json.dumps({"version": 1, "cipher": "AES-256-GCM", "chunk_size": chunk_size,
                         "nonce_prefix": _b64(prefix), "content": "tar",
                         "recipients": _recipients(file_key, public_keys, secret)}, sort_keys=True).encode()
    preamble = MAGIC + struct.pack(">I", len(header)) + header
    aad = hashlib.sha256(preamble).digest()
    tmp = out.with_name(f".{out.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(preamble)
        writer = _SealWriter(handle, file_key, prefix, aad, chunk_size)
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT, bufsize=chunk_size) as archive:
            # tar copies file data in 16 KiB pieces by default; typeshed does not list the attribute.
            archive.copybufsize = chunk_size  # type: ignore[attr-defined]
            for path in sorted(run_dir.rglob("*")):
                archive.add(path, arcname=path.relative_to(run_dir).as_posix(), recursive=False)
        writer.finish()
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, out)
    return out


def _read_header(handle: IO[bytes]) -> tuple[dict[str, Any], bytes]:
    magic = handle.read(len(MAGIC))
    if magic != MAGIC:
        raise BundleError("not an auditor sealed bundle (wrong magic bytes)")
    raw_length = handle.read(4)
    if len(raw_length) != 4:
        raise BundleError("the bundle is truncated inside its header")
    (length,) = struct.unpack(">I", raw_length)
    if length > _MAX_HEADER:
        raise BundleError("the bundle header is implausibly large")
    header = handle.read(length)
    if len(header) != length:
        raise BundleError("the bundle is truncated inside its header")
    try:
        document = json.loads(header)
    except ValueError:
        raise BundleError("the bundle header is not valid") from None
    if document.get("version") != 1:
        raise BundleError(f"bundle version {document.get('version')!r} is not supported")
    return document, hashlib.sha256(magic + raw_length + header).digest()


def _file_key(header: dict[str, Any], private: X25519PrivateKey | None, secret: bytes | None) -> bytes:
    own = fingerprint(raw_public(private.public_key())) if private else ""
    for entry in header["recipients"]:
        try:
            if entry["type"] == "x25519" and private is not None and entry["fingerprint"] == own:
                ephemeral = _unb64(entry["ephemeral"])
                shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral))
                kek = _kek_x25519(shared, ephemeral, raw_public(private.public_key()))
            elif entry["type"] == "scrypt" and secret is not None:
                kek = _kek_scrypt(secret, _unb64(entry["salt"]), int(entry["n"]), int(entry["r"]), int(entry["p"]))
            else:
                continue
            return AESGCM(kek).decrypt(_ZERO_NONCE, _unb64(entry["wrapped_key"]), None)
        except (InvalidTag, KeyError, ValueError):
            continue
    what = "key" if private is not None else "passphrase"
    raise BundleError(f"the bundle is not sealed to this {what} (or the {what} is wrong)")


class _OpenReader(io.RawIOBase):
    """A read-only stream of authenticated plaintext; raises BundleError on any tampering or truncation."""

    def __init__(self, source: IO[bytes], key: bytes, prefix: bytes, aad: bytes, chunk_size: int) -> None:
        super().__init__()
        self._src, self._aead, self._prefix, self._aad = source, AESGCM(key), prefix, aad
        self._size = chunk_size + _TAG
        self._plain = b""
        self._counter = 0
        self._done = False
        self._pending = source.read(self._size)

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._plain and not self._done:
            self._next_chunk()
        count = min(len(target), len(self._plain))
        target[:count] = self._plain[:count]
        self._plain = self._plain[count:]
        return count

    def _next_chunk(self) -> None:
        chunk = self._pending
        if not chunk:
            raise BundleError("the bundle is truncated: its final chunk is missing")
        following = self._src.read(self._size)
        last = not following
        nonce = self._prefix + struct.pack(">I", self._counter) + (b"\x01" if last else b"\x00")
        try:
            self._plain = self._aead.decrypt(nonce, chunk, self._aad)
        except InvalidTag:
            if last:
                raise BundleError("the bundle is truncated or its last chunk was altered") from None
            raise BundleError(f"chunk {self._counter} of the bundle was altered") from None
        self._counter += 1
        self._pending = following
        self._done = last


def open_bundle(bundle: Path, out: Path, private: X25519PrivateKey | None, secret: bytes | None) -> Path:
    """Decrypt and authenticate `bundle`, and extract the run into `out` (only when everything checks)."""
    if out.exists() and any(out.iterdir()):
        raise InputError("is not empty; auditor never overwrites evidence", f"--out {out}", "name a new folder")
    staging = out.with_name(f".{out.name}.opening")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with open(bundle, "rb") as handle:
            header, aad = _read_header(handle)
            key = _file_key(header, private, secret)
            reader = _OpenReader(handle, key, _unb64(header["nonce_prefix"]), aad, int(header["chunk_size"]))
            buffered = io.BufferedReader(reader, CHUNK_SIZE)
            with tarfile.open(fileobj=buffered, mode="r|", bufsize=CHUNK_SIZE) as archive:
                archive.extractall(staging, filter="data")  # no absolute paths, '..', links out or devices
            # tar's end-of-archive padding follows: read on, so every chunk up to the final one is checked.
            while buffered.read(CHUNK_SIZE):
                pass
    except FileNotFoundError:
        raise InputError("bundle file not found", str(bundle), "check the path") from None
    except (tarfile.TarError, OSError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BundleError(f"the bundle's content is damaged ({exc})") from None
    except BundleError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out.exists():
        out.rmdir()
    os.replace(staging, out)
    return out
