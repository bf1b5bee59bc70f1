"""Sealed bundles: a run folder as one AES-256-GCM file for X25519 recipients and/or a passphrase.

The format (version 2) is specified in docs/bundle-format.md: a bounded, strictly parsed header authenticated
under the file key (_seal_header.py), then chunks in the STREAM construction with a final-chunk flag.
Sealing and opening stream through fixed-size chunks, so memory stays flat whatever the run's size. Opening
restores the run's manifest.json last, once every chunk is authenticated: a folder left by an interrupted
open has no manifest, so it never verifies.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import secrets
import shutil
import struct
import tarfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from auditor.bundle import _seal_header as header_format
from auditor.bundle._seal_header import MAGIC, SCRYPT, BundleError, Header, b64
from auditor.bundle.keys import fingerprint, raw_public
from auditor.bundle.layout import RUN_MANIFEST
from auditor.errors import InputError
from auditor.preflight import writable_parent

__all__ = ["CHUNK_SIZE", "MAGIC", "BundleError", "NotABundle", "check_bundle", "open_bundle", "seal"]

CHUNK_SIZE = 1 << 20
_TAG = 16
_ZERO_NONCE = bytes(12)
_INFO = b"auditor-seal v2 x25519"
_HELD_BACK = f".{RUN_MANIFEST}.opening"  # the run manifest's name until every chunk is authenticated


def _kek_x25519(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=ephemeral + recipient, info=_INFO).derive(shared)


def _kek_scrypt(secret: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret)


def _recipients(file_key: bytes, public_keys: Sequence[bytes], secret: bytes | None) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for recipient in public_keys:
        ephemeral = X25519PrivateKey.generate()
        ephemeral_raw = raw_public(ephemeral.public_key())
        try:
            shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
        except ValueError:  # a key of low order, such as 32 zero bytes: nobody could open the bundle
            raise InputError("is not a usable X25519 public key", fingerprint(recipient),
                             "give the recipient's seal.pub made by `auditor keys init`") from None
        kek = _kek_x25519(shared, ephemeral_raw, recipient)
        entries.append({"type": "x25519", "fingerprint": fingerprint(recipient), "ephemeral": b64(ephemeral_raw),
                        "wrapped_key": b64(AESGCM(kek).encrypt(_ZERO_NONCE, file_key, None))})
    if secret is not None:
        salt = secrets.token_bytes(16)
        kek = _kek_scrypt(secret, salt, **SCRYPT)
        entries.append({"type": "scrypt", "salt": b64(salt), **SCRYPT,
                        "wrapped_key": b64(AESGCM(kek).encrypt(_ZERO_NONCE, file_key, None))})
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
    if chunk_size not in header_format.CHUNK_SIZES:
        raise ValueError(f"chunk_size {chunk_size} is not a power of two from 4 KiB to 16 MiB")
    if len(public_keys) + (secret is not None) > header_format.MAX_RECIPIENTS:
        raise InputError(f"a bundle has at most {header_format.MAX_RECIPIENTS} recipients", "--to",
                         "seal to fewer recipients, or seal twice")
    if out.is_dir():
        raise InputError("is a folder; a bundle is one file", f"--out {out}", "name a file, e.g. RUN.auditor-bundle")
    writable_parent(out, "--out")
    file_key = secrets.token_bytes(32)
    prefix = secrets.token_bytes(7)
    preamble = header_format.encode(chunk_size, prefix, _recipients(file_key, public_keys, secret))
    preamble += header_format.mac(file_key, preamble)
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


def _file_key(header: Header, private: X25519PrivateKey | None, secret: bytes | None) -> bytes:
    own = fingerprint(raw_public(private.public_key())) if private else ""
    for entry in header.recipients:
        try:
            if entry.kind == "x25519" and private is not None and entry.fingerprint == own:
                # A crafted ephemeral key of low order makes the exchange fail: a refusal like any wrong key.
                shared = private.exchange(X25519PublicKey.from_public_bytes(entry.ephemeral))
                kek = _kek_x25519(shared, entry.ephemeral, raw_public(private.public_key()))
            elif entry.kind == "scrypt" and secret is not None:
                kek = _kek_scrypt(secret, entry.salt, **SCRYPT)  # the header's cost was checked to equal SCRYPT
            else:
                continue
            return AESGCM(kek).decrypt(_ZERO_NONCE, entry.wrapped_key, None)
        except (InvalidTag, ValueError):
            continue
    what = "key" if private is not None else "passphrase"
    raise BundleError(f"the bundle is not sealed to this {what} (or the {what} is wrong, or its header was altered)")


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


class NotABundle(InputError, BundleError):
    """The file given is not a sealed bundle at all (a folder, a YAML file): bad input, not a damaged bundle."""


_WHAT_OPENS = "give the .auditor-bundle file that `auditor seal` or `scan --seal-to` wrote (a run folder is " \
              "checked with `auditor verify RUN_DIR`)"


def check_bundle(bundle: Path) -> None:
    """Refuse, before any key is asked for, a path that is not a sealed bundle file (by its first bytes)."""
    if bundle.is_dir():
        raise NotABundle("is a folder, not a sealed bundle", str(bundle), _WHAT_OPENS)
    if not bundle.exists():
        raise InputError("bundle file not found", str(bundle), "check the path")
    if not bundle.is_file():
        raise NotABundle("is not a regular file, so not a sealed bundle", str(bundle), _WHAT_OPENS)
    try:
        with open(bundle, "rb") as handle:
            start = handle.read(len(MAGIC) - 1)
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", str(bundle), "check the file's permissions") from None
    if start != MAGIC[:-1]:  # the last byte is the format version: _seal_header names an old one
        raise NotABundle("is not an auditor sealed bundle (it does not begin with AUDSEAL)", str(bundle), _WHAT_OPENS)


def open_bundle(bundle: Path, out: Path, private: X25519PrivateKey | None, secret: bytes | None) -> Path:
    """Decrypt and authenticate `bundle`, and restore the run into `out`; its manifest.json is put in place last."""
    check_bundle(bundle)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError("exists and is not an empty folder; auditor never overwrites evidence", f"--out {out}",
                         "name a new folder")
    writable_parent(out, "--out")
    staging = out.with_name(f".{out.name}.opening")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with open(bundle, "rb") as handle:
            header, tag = header_format.read(handle)
            key = _file_key(header, private, secret)
            header_format.check_mac(header, key, tag)  # before its chunk size or nonce prefix is used
            aad = hashlib.sha256(header.preamble + tag).digest()
            reader = _OpenReader(handle, key, header.nonce_prefix, aad, header.chunk_size)
            buffered = io.BufferedReader(reader, CHUNK_SIZE)
            with tarfile.open(fileobj=buffered, mode="r|", bufsize=CHUNK_SIZE) as archive:
                _extract(archive, staging)
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
    held = out / _HELD_BACK
    if held.exists():
        os.replace(held, out / RUN_MANIFEST)  # last: a folder without it is an unfinished run to `verify`
    return out


def _extract(archive: tarfile.TarFile, staging: Path) -> None:
    """Each member into `staging`, as it streams by: folders and regular files only (all auditor seals), at relative
    paths inside it, and the run manifest under another name until the whole bundle is authenticated.

    The files are written here rather than by tarfile's extraction: its safety filters came with Python 3.11.4,
    and Debian 12's Python is 3.11.2. This is stricter than its `data` filter (no links at all).
    """
    staging.mkdir(parents=True)
    for member in archive:
        name = member.name.rstrip("/") if member.isdir() else member.name
        parts = name.split("/")
        # A backslash is a separator on Windows, where a bundle may be opened; auditor writes no name with one.
        if PurePosixPath(name).is_absolute() or PureWindowsPath(name).drive or "\\" in name or any(
                p in ("", ".", "..") for p in parts):
            raise BundleError(f"the bundle holds a path outside its run folder ({member.name[:80]!r})")
        if name == _HELD_BACK:
            raise BundleError(f"the bundle holds a file named {_HELD_BACK}, which auditor never seals")
        target = staging / _HELD_BACK if name == RUN_MANIFEST else staging.joinpath(*parts)
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        source = archive.extractfile(member) if member.isfile() else None
        if source is None:
            raise BundleError(f"the bundle holds {member.name[:80]!r}, which is neither a file nor a folder "
                              "(auditor seals only those)")
        target.parent.mkdir(parents=True, exist_ok=True)
        with source, open(target, "xb") as out:
            shutil.copyfileobj(source, out, CHUNK_SIZE)
        with contextlib.suppress(OverflowError, ValueError, OSError):  # a time no file system holds: keep today's
            os.utime(target, (member.mtime, member.mtime))
