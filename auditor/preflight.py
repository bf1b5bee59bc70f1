"""Checks made before any work starts: a folder or file auditor will write can be written, a file it will read is
a file. Each failure is one InputError naming the flag; nothing is left behind (a probe file is removed at once).

Permissions are tried, not inferred from mode bits: root ignores them, while a read-only mount, an immutable
folder or a file where a folder should be stops root as well.
"""

from __future__ import annotations

import os
from pathlib import Path

from auditor.errors import InputError


def _nearest_existing(path: Path) -> Path:
    """The path itself, or its nearest ancestor that exists (what `mkdir -p` would build on)."""
    current = path
    while True:
        try:
            if current.exists() or current.is_symlink():
                return current
        except OSError:  # a folder on the way that cannot be searched: the probe below names it
            return current
        if current.parent == current:
            return current
        current = current.parent


def writable_folder(folder: Path, flag: str) -> None:
    """Refuse a folder auditor could not create, or not write into; creates nothing."""
    _check_folder(folder, flag, folder)


def writable_parent(path: Path, flag: str) -> None:
    """Refuse a path (a file or folder to be made) whose folder auditor could not create or write into."""
    _check_folder(path.parent, flag, path)


def _check_folder(folder: Path, flag: str, named: Path) -> None:
    """`folder` can be created or written into; errors name `flag` and the path the user `named`."""
    where = f"{flag} {named}"
    base = _nearest_existing(folder)
    if not base.is_dir():
        what = "exists and is not a folder" if base == named else f"cannot be created: {base} is not a folder"
        raise InputError(what, where, "choose another path")
    probe = base / f".auditor-probe-{os.getpid()}-{os.urandom(6).hex()}"  # what mkstemp does, without tempfile
    try:
        handle = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise InputError(f"cannot be written: {base} refuses new files ({exc.strerror})", where,
                         "choose a folder you can write to") from None
    os.close(handle)
    os.unlink(probe)


def writable_file(path: Path, flag: str) -> None:
    """Refuse a file auditor could not create or update (its folder too: SQLite writes a journal beside it)."""
    where = f"{flag} {path}"
    if path.is_dir():
        raise InputError("is a folder, not a file", where, "name a file")
    if path.exists():
        if not path.is_file():
            raise InputError("is not a regular file", where, "name a regular file")
        try:
            with open(path, "ab"):
                pass
        except OSError as exc:
            raise InputError(f"cannot be written ({exc.strerror})", where, "choose a file you can write to") from None
    _check_folder(path.parent, flag, path)


def existing_file(path: Path, flag: str, fix: str) -> Path:
    """A regular file that is there: refuses a missing path, a folder and a device or pipe, each in its words."""
    where = f"{flag} {path}" if flag else str(path)
    if path.is_dir():
        raise InputError("is a folder, not a file", where, fix)
    if not path.exists():
        raise InputError("no such file", where, fix)
    if not path.is_file():
        raise InputError("is not a regular file", where, fix)
    return path
