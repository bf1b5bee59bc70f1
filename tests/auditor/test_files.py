"""auditor/files.py: JSON as auditor writes and reads it is the same with or without orjson (the `fast` extra)."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor import files
from auditor.models import Status


@dataclass(frozen=True)
class _Opaque:
    name: str


# What evidence records and results hold, and what JSON itself does not know (written as str(), as json does).
DOCUMENT = {
    "kind": "command", "status": Status.FAIL, "exit_status": None, "truncated": False, "ratio": 0.1,
    "stdout": "æøå «quoted» \x1b[31m\u2028 tab\t", "argv": ["sshd", "-T"], "nested": {"empty": [], "none": {}},
    2: "an integer key", "at": datetime(2026, 11, 26, 9, 0, tzinfo=UTC), "path": Path("/etc/ssh"),
    "opaque": _Opaque("x"), "huge": 2**70, "negative": -(2**63),
}


def _standard_library(document: object) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n").encode()


@pytest.mark.parametrize("document", [DOCUMENT, {k: v for k, v in DOCUMENT.items() if k != "huge"}, [], "text"])
def test_dump_json_writes_the_bytes_the_standard_library_writes(document):
    # Given a document with every kind of value auditor stores (a 70-bit integer makes orjson fall back)
    # When it is dumped with orjson installed
    assert files.orjson is not None, "the suite runs with the `fast` extra (requirements.lock pins orjson)"
    # Then the bytes are exactly json.dumps(indent=2, ensure_ascii=False, default=str)'s
    assert files.dump_json(document) == _standard_library(document)


def test_without_orjson_the_standard_library_is_used(monkeypatch):
    # Given orjson is not installed (the home kit's pure-Python install)
    monkeypatch.setattr(files, "orjson", None)
    # Then writing and reading still work, with the same bytes
    assert files.dump_json(DOCUMENT) == _standard_library(DOCUMENT)
    assert files.load_json(files.dump_json([1, "x"])) == [1, "x"]


def test_load_json_reads_what_only_the_standard_library_accepts_and_refuses_what_neither_does():
    # NaN is not JSON, but an older run written by json.dumps may hold it: it is read as json reads it
    assert str(files.load_json(b'{"x": NaN}')["x"]) == "nan"
    with pytest.raises(ValueError):
        files.load_json(b'{"x": ')
    with pytest.raises(ValueError):
        files.load_json(b'{"x": "\xff"}')


def test_records_are_flushed_with_their_filesystem_alone_on_linux(tmp_path, monkeypatch):
    # Given files written without fsync, and a sync() that would wait for every filesystem (here: refused)
    (tmp_path / "a.json").write_bytes(b"{}")
    monkeypatch.setattr(os, "sync", lambda: pytest.fail("sync() waits for every filesystem; syncfs() is enough"))
    # Then the flush is the folder's filesystem's alone, and it succeeds
    files.flush_to_disk(tmp_path, ["a.json"])


def test_without_a_system_wide_flush_each_file_is_flushed(tmp_path, monkeypatch):
    # Given a system with neither syncfs nor sync (Windows: os.sync does not exist there)
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_bytes(b"{}")
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delattr(os, "sync")
    flushed = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (flushed.append(os.fstat(fd).st_ino), real_fsync(fd)))
    # Then each file written is flushed through its own handle
    files.flush_to_disk(tmp_path, ["a.json", "b.json"])
    assert sorted(flushed) == sorted((tmp_path / n).stat().st_ino for n in ("a.json", "b.json"))
