"""Small file helpers every stage shares: JSON as auditor writes it, atomic writes, SHA-256."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def dump_json(document: Any) -> bytes:
    """Indented UTF-8 JSON with a final newline; values JSON does not know are written as str()."""
    return (json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n").encode()


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write to a temporary name, fsync, rename: a reader never sees half a file.

    durable=False leaves the fsync to the caller, who flushes many files at once (the evidence store: one
    flush before its index is written, instead of one per fact).
    """
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        if durable:
            os.fsync(handle.fileno())
    os.replace(tmp, path)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
