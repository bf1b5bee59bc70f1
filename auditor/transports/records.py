"""The recorded-facts format: how one command or file read is kept on disk, and read back.

A run's evidence folder and a recorded test host (tests/fixtures/hosts/<case>/) share it:

    evidence/manifest.json              index: path, sha256, target, kind, source, exit_status, collected_at
    evidence/<target>/cmd-<name>.json   one command: argv, exit status, stdout, stderr, time
    evidence/<target>/file-<name>.json  one file read: path, exists, content, error, time

A record whose text held secrets also has `redactions`: pattern name -> how many were cut
(transports/redaction.py); the values are gone before the record is made. Records without it (none cut, or
written before redaction existed) replay as before.

It lives beside the transports because the replay transport reads it and the recording transport writes
it; the bundle stores these records without knowing what is in them.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from auditor.clock import iso
from auditor.transports.base import Command, CommandResult, FileContent

EVIDENCE_DIR = "evidence"
EVIDENCE_INDEX = f"{EVIDENCE_DIR}/manifest.json"
SCHEMA_VERSION = 1


@functools.lru_cache(maxsize=4096)  # every target of a fleet asks the same commands and files
def fact_filename(kind: str, source: str) -> str:
    """A readable, collision-free file name for one fact: cmd-timedatectl_show-1a2b3c4d.json."""
    readable = re.sub(r"[^A-Za-z0-9]+", "_", source).strip("_")[:80] or "root"
    digest = hashlib.sha256(source.encode()).hexdigest()[:8]
    return f"{ {'command': 'cmd'}.get(kind, kind)}-{readable}-{digest}.json"


def command_record(target: str, command: Command, result: CommandResult, at: datetime,
                   redactions: Mapping[str, int] | None = None) -> dict[str, Any]:
    return _noting(redactions, {
        "kind": "command",
        "target": target,
        "source": result.command,
        "argv": list(command.argv),
        "sudo": command.sudo,
        "exit_status": result.exit_status,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "truncated": result.truncated,
        "collected_at": iso(at),
    })


def file_record(target: str, content: FileContent, at: datetime,
                redactions: Mapping[str, int] | None = None) -> dict[str, Any]:
    try:
        text, encoding = content.data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(content.data).decode("ascii"), "base64"
    return _noting(redactions, {
        "kind": "file",
        "target": target,
        "source": content.path,
        "exists": content.exists,
        "encoding": encoding,
        "content": text,
        "error": content.error,
        "truncated": content.truncated,
        "collected_at": iso(at),
    })


# The fields that hold what the host said: a replay that redacts an older record replaces only these.
TEXT_FIELDS = ("stdout", "stderr", "content", "encoding")


def with_redacted_text(record: dict[str, Any], clean: dict[str, Any]) -> dict[str, Any]:
    """An older record with the text of `clean` (the same fact, redacted) and both records' redactions added up."""
    counts = Counter(record.get("redactions", {})) + Counter(clean.get("redactions", {}))
    return _noting(counts, {**record, **{k: clean[k] for k in TEXT_FIELDS if k in clean}})


def _noting(redactions: Mapping[str, int] | None, record: dict[str, Any]) -> dict[str, Any]:
    """The record, with `redactions` only when something was cut (so records without secrets never change)."""
    if redactions:
        record["redactions"] = dict(sorted(redactions.items()))
    return record


def result_from_record(record: dict[str, Any]) -> CommandResult:
    return CommandResult(
        record["source"], int(record["exit_status"]), record["stdout"], record["stderr"],
        bool(record.get("truncated", False)),
    )


def content_from_record(record: dict[str, Any]) -> FileContent:
    raw = record["content"]
    data = base64.b64decode(raw) if record.get("encoding") == "base64" else raw.encode("utf-8")
    return FileContent(
        record["source"], bool(record["exists"]), data, record.get("error", ""),
        bool(record.get("truncated", False)),
    )
