"""The tool's own audit trail: every scan, report, seal, open, verify and key operation, one JSON line each.

Each entry holds the SHA-256 of the previous line, so an edited, removed or reordered entry breaks the
chain and `auditor log verify` names the first line where it breaks. (Cutting entries off the end
leaves a valid shorter chain; each run's manifest records the head of the chain when it was signed,
which pins everything before it.) No secret is ever written: the CLI takes secrets only from the
environment or a prompt, and only argument names and values that are not secrets are logged.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.clock import Clock, iso

GENESIS = "0" * 64


def default_log_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(os.environ.get("AUDITOR_AUDIT_LOG") or Path(base) / "auditor" / "audit.log")


def _last_line(path: Path) -> bytes:
    if not path.is_file() or path.stat().st_size == 0:
        return b""
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - 65536))
        lines = handle.read().splitlines()
    return lines[-1] if lines else b""


def head(path: Path) -> str:
    """SHA-256 of the last entry (the value the next entry will carry as `prev`)."""
    last = _last_line(path)
    return hashlib.sha256(last).hexdigest() if last else GENESIS


def append(path: Path, command: str, argv: Sequence[str], outcome: int, *, clock: Clock, run_id: str = "",
           targets: Sequence[str] = (), details: dict[str, Any] | None = None) -> str:
    """Append one entry; returns the new head of the chain."""
    path.parent.mkdir(parents=True, exist_ok=True)
    last = _last_line(path)
    seq = json.loads(last)["seq"] + 1 if last else 1
    entry = {
        "seq": seq, "time": iso(clock.now()), "user": getpass.getuser(), "host": socket.gethostname(),
        "command": command, "argv": list(argv), "targets": list(targets), "run_id": run_id, "exit": outcome,
        **({"details": details} if details else {}),
        "prev": hashlib.sha256(last).hexdigest() if last else GENESIS,
    }
    line = json.dumps(entry, ensure_ascii=False, sort_keys=True).encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "ab") as handle:
        handle.write(line + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return hashlib.sha256(line).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    entries: int
    broken_at: int  # 1-based line number of the first bad entry, 0 when intact
    problem: str = ""


def verify(path: Path) -> ChainCheck:
    if not path.is_file():
        return ChainCheck(0, 0, "")
    previous = GENESIS
    lines = path.read_bytes().splitlines()
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            return ChainCheck(len(lines), number, "not a JSON entry")
        if entry.get("prev") != previous:
            return ChainCheck(len(lines), number, "does not follow the entry before it (edited, removed or moved)")
        if entry.get("seq") != number:
            return ChainCheck(len(lines), number, f"sequence {entry.get('seq')} where {number} was expected")
        previous = hashlib.sha256(line).hexdigest()
    return ChainCheck(len(lines), 0)
