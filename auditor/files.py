"""Small file helpers every stage shares: JSON as auditor writes it, atomic writes, SHA-256."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

try:
    import orjson
except ImportError:  # an optional speed-up (the `fast` extra); the home kit's pure-Python install goes without
    orjson = None  # type: ignore[assignment]

# orjson writes the same bytes as json.dumps(indent=2, ensure_ascii=False, default=str), 14 times faster:
# indenting forces the standard library onto its pure-Python encoder, and a 200-target run writes 19,000 files.
# Dataclasses and datetimes go through default=str as they do with json; what orjson refuses (an integer past
# 64 bits) falls back to json. One difference is left on purpose: NaN is written as null, which is JSON.
_ORJSON_OPTIONS = 0 if orjson is None else (
    orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_APPEND_NEWLINE)


# How an input file is opened: never blocking on a FIFO nor taking a terminal (POSIX flags), and as bytes
# exactly (Windows' O_BINARY: its C library would otherwise turn CRLF into LF and stop at a Ctrl-Z byte).
READ_INPUT_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


def dump_json(document: Any) -> bytes:
    """Indented UTF-8 JSON with a final newline; values JSON does not know are written as str()."""
    if orjson is not None:
        try:
            return orjson.dumps(document, default=str, option=_ORJSON_OPTIONS)
        except TypeError:
            pass
    return (json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n").encode()


def load_json(data: bytes | str) -> Any:
    """json.loads, with orjson when it is installed (a 19 MB results.json: a third of the time and no decoded
    copy of the text); what orjson refuses and json accepts (NaN, a lone surrogate escape) still reads as json
    reads it, and what neither accepts raises json's ValueError."""
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)


def write_atomic(path: Path | str, data: bytes, *, durable: bool = True) -> None:
    """Write to a temporary name, fsync, rename: a reader never sees half a file.

    durable=False leaves the fsync to the caller, who flushes many files at once (a run's files: one flush before
    its manifest is written, instead of one per file).
    """
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        if durable:
            os.fsync(handle.fileno())
    os.replace(tmp, path)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path | str) -> str:
    return sha256_and_size(path)[0]


def sha256_and_size(path: Path | str) -> tuple[str, int]:
    """The file's SHA-256 and size, from one open (the size of the very bytes hashed)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest(), os.fstat(handle.fileno()).st_size


def flush_to_disk(folder: Path, names: Iterable[str]) -> None:
    """Make the files `names` (relative to `folder`), written without fsync, durable: in one flush where the system
    has one.

    Linux: syncfs() of the folder's own filesystem. sync() would also wait for every other filesystem's writes,
    a busy database's or a stale NFS mount's (forever). Other POSIX systems: sync(). Windows has neither, so each
    file is flushed on its own.
    """
    if sys.platform.startswith("linux"):
        import ctypes  # here: only a run's end needs it

        syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)  # glibc 2.14+, musl
        if syncfs is not None:
            fd = os.open(folder, os.O_RDONLY)
            try:
                if syncfs(fd) != 0:
                    error = ctypes.get_errno()
                    raise OSError(error, f"syncfs: {os.strerror(error)}", str(folder))
            finally:
                os.close(fd)
            return
    if hasattr(os, "sync"):
        os.sync()
        return
    for name in names:
        with open(Path(folder, name), "rb+") as handle:  # Windows flushes a file through a handle that may write
            os.fsync(handle.fileno())
