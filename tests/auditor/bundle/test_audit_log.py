"""The tool's own activity log: keyed with a MAC, its end pinned by a head record and by run anchors; a damaged
end starts a new segment instead of stopping the command, and verify names every break."""

from __future__ import annotations

import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from auditor.bundle import audit_log
from auditor.bundle.audit_log import RunAnchor
from auditor.bundle.keys import KeyPaths, init_keys
from auditor.clock import FixedClock
from auditor.errors import InputError

CLOCK = FixedClock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))


@pytest.fixture
def keys(tmp_path):
    return tmp_path / "keys"


def _log(tmp_path, keys, entries=4):
    path = tmp_path / "audit.log"
    for index in range(entries):
        audit_log.append(path, "scan", ["scan", "--out", f"r{index}"], 1, run_id=f"run-{index}", targets=["web-01"],
                         clock=CLOCK, key_dir=keys)
    return path


def _lines(path):
    return path.read_bytes().splitlines(keepends=True)


def test_an_untouched_log_verifies_and_its_key_is_made_on_first_use_for_the_owner_only(tmp_path, keys):
    # Given a log written by four commands on a machine that had no key folder
    path = _log(tmp_path, keys)
    # Then the key was made in the key folder, readable by its owner only, and every entry carries a MAC
    key = KeyPaths(keys).log_key
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(keys.stat().st_mode) == 0o700
    entries = [json.loads(line) for line in _lines(path)]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4] and all(len(e["mac"]) == 64 for e in entries)
    assert [e["prev"] for e in entries[1:]] == [e["mac"] for e in entries[:-1]]
    # When it is verified
    check = audit_log.verify(path, key_dir=keys)
    # Then nothing is wrong
    assert (check.ok, check.lines, check.problems) == (True, 4, ())


def test_an_edit_in_the_middle_is_named_once_at_its_line(tmp_path, keys):
    # Given a log whose second entry is edited (exit 1 -> 0), keeping its MAC field
    path = _log(tmp_path, keys)
    lines = _lines(path)
    lines[1] = lines[1].replace(b'"exit": 1', b'"exit": 0')
    path.write_bytes(b"".join(lines))
    # When it is verified
    check = audit_log.verify(path, key_dir=keys)
    # Then line 2 is named as edited, and only line 2
    assert [(p.where, p.what.split(":")[0]) for p in check.problems] == [("line 2", "edited")]


def test_a_removed_or_moved_entry_is_named_where_the_chain_breaks(tmp_path, keys):
    path = _log(tmp_path, keys)
    lines = _lines(path)
    # Given the second entry removed
    path.write_bytes(b"".join([lines[0], *lines[2:]]))
    # Then the line that now follows the first is named
    assert [p.where for p in audit_log.verify(path, key_dir=keys).problems] == ["line 2"]
    # Given the first two entries swapped
    path.write_bytes(b"".join([lines[1], lines[0], *lines[2:]]))
    problems = audit_log.verify(path, key_dir=keys).problems
    # Then every link the swap broke is named, and the entry after them follows again
    assert [p.where for p in problems] == ["line 1", "line 2", "line 3"]
    assert "does not start a log" in problems[0].what and "does not follow line 2" in problems[2].what


def test_an_edited_last_line_starts_a_new_segment_and_the_break_stays_reported(tmp_path, keys):
    # Given a log whose last line is edited
    path = _log(tmp_path, keys)
    lines = _lines(path)
    lines[-1] = lines[-1].replace(b'"exit": 1', b'"exit": 0')
    path.write_bytes(b"".join(lines))
    # When the next command appends
    written = audit_log.append(path, "report", ["report", "r0"], 0, clock=CLOCK, key_dir=keys)
    # Then it says why a new segment starts, and does not chain onto the edited line
    assert "line 4: edited" in written.segment and "new segment starts at line 5" in written.segment
    entries = [json.loads(line) for line in _lines(path)]
    assert entries[4]["segment"].startswith("line 4: edited") and entries[4]["prev"] == audit_log.GENESIS
    assert entries[5]["prev"] == entries[4]["mac"] and entries[5]["command"] == "report"
    # And verify names the edited line and the segment start, and nothing after it
    assert [p.where for p in audit_log.verify(path, key_dir=keys).problems] == ["line 4", "line 5"]


def test_lines_cut_off_the_end_are_found_by_the_head_record(tmp_path, keys):
    # Given a log whose last two lines were removed
    path = _log(tmp_path, keys)
    path.write_bytes(b"".join(_lines(path)[:2]))
    # When it is verified
    check = audit_log.verify(path, key_dir=keys)
    # Then the end is named, with the line the head record expected
    assert [(p.where, p.what) for p in check.problems] == [
        ("the end", "the log ends at line 2, but its head record names line 4: the lines after it were removed")]


def test_an_emptied_or_cut_mid_line_log_never_stops_a_command(tmp_path, keys):
    path = _log(tmp_path, keys)
    # Given the log cut in the middle of its last line
    path.write_bytes(path.read_bytes()[:-40])
    # When a command appends
    written = audit_log.append(path, "verify", ["verify"], 0, clock=CLOCK, key_dir=keys)
    # Then the cut line stays a line of its own and a segment follows it
    assert "line 4: not a JSON entry" in written.segment
    assert [p.where for p in audit_log.verify(path, key_dir=keys).problems] == ["line 4", "line 5"]
    # Given the log emptied
    path.write_bytes(b"")
    written = audit_log.append(path, "verify", ["verify"], 0, clock=CLOCK, key_dir=keys)
    # Then the next command says so and the log begins with the segment that records it
    assert "the log is empty, but its head record names line 6" in written.segment
    assert [p.where for p in audit_log.verify(path, key_dir=keys).problems] == ["line 1"]


def test_another_keys_log_is_named_as_such(tmp_path, keys):
    # Given a log written under another machine's key
    path = _log(tmp_path, tmp_path / "elsewhere")
    # When it is verified with this machine's key
    audit_log.append(tmp_path / "other.log", "verify", [], 0, clock=CLOCK, key_dir=keys)  # makes this key
    problems = audit_log.verify(path, key_dir=keys).problems
    # Then one range names every line as written under another key
    assert [p.where for p in problems] == ["lines 1-4"] and "another log key" in problems[0].what


def test_runs_are_checked_against_their_anchors(tmp_path, keys):
    path = tmp_path / "audit.log"
    # Given two runs anchored before their own entries, and a run anchored in another log
    first = audit_log.anchor(path, clock=CLOCK, key_dir=keys).anchor
    audit_log.append(path, "scan", [], 0, run_id="run-a", clock=CLOCK, key_dir=keys)
    second = audit_log.anchor(path, clock=CLOCK, key_dir=keys).anchor
    audit_log.append(path, "scan", [], 0, run_id="run-b", clock=CLOCK, key_dir=keys)
    elsewhere = audit_log.anchor(tmp_path / "other.log", clock=CLOCK, key_dir=keys).anchor
    runs = [RunAnchor("run-a", tmp_path / "a", first), RunAnchor("run-b", tmp_path / "b", second),
            RunAnchor("run-c", tmp_path / "c", elsewhere), RunAnchor("run-old", tmp_path / "d", "0" * 64)]
    assert first.endswith(":0:" + "0" * 64)  # an empty log: the run's own entry must still follow
    # When the untouched log is verified
    check = audit_log.verify(path, runs, key_dir=keys)
    # Then both of its runs are checked, and the others are noted, not counted as breaks
    assert (check.ok, check.runs_checked) == (True, 2)
    assert len(check.notes) == 2 and "another log" in check.notes[0] and "no anchor" in check.notes[1]
    # When run-b's entry is cut off the end together with the head record
    path.write_bytes(b"".join(_lines(path)[:1]))
    path.with_name("audit.log.head").unlink()
    problems = audit_log.verify(path, runs, key_dir=keys).problems
    # Then the missing head record and the run whose entry is gone are named
    assert [p.where for p in problems] == ["the end", f"run run-b ({tmp_path / 'b'})"]
    assert "no entry for it after its anchor (entry 1)" in problems[1].what
    # When the log is cut before run-a's anchor too
    path.write_bytes(b"")
    problems = audit_log.verify(path, runs, key_dir=keys).problems
    # Then run-b's anchor is named as missing, and run-a's entry as gone
    assert "anchor, entry 1 of the log, is missing" in problems[-1].what
    assert "no entry for it after its anchor (entry 0)" in problems[-2].what


def test_no_secret_reaches_the_log(tmp_path, keys, monkeypatch):
    # Given a passphrase in the environment and a secret-looking argument
    monkeypatch.setenv("AUDITOR_KEY_PASSPHRASE", "hunter2")
    path = tmp_path / "audit.log"
    audit_log.append(path, "scan", ["scan", "--db-password=s3cret-value", "--out", "r"], 0, clock=CLOCK,
                     key_dir=keys)
    # Then neither is written, and the argument's name stays
    text = path.read_text()
    assert "hunter2" not in text and "s3cret-value" not in text
    assert "--db-password=[REDACTED:password-assignment]" in text


def test_a_damaged_log_key_is_refused_in_one_line_and_never_replaced(tmp_path, keys):
    # Given a key folder whose log key was overwritten with garbage
    keys.mkdir(mode=0o700)
    KeyPaths(keys).log_key.write_text("not a key\n")
    os.chmod(KeyPaths(keys).log_key, 0o600)
    # When a command appends
    with pytest.raises(InputError) as error:
        audit_log.append(tmp_path / "audit.log", "scan", [], 0, clock=CLOCK, key_dir=keys)
    # Then it says which file and what to do, and the key is left as it was
    assert "log key is damaged" in str(error.value) and str(KeyPaths(keys).log_key) in str(error.value)
    assert KeyPaths(keys).log_key.read_text() == "not a key\n"


def test_keys_init_makes_the_log_key_and_keeps_one_made_on_first_use(tmp_path, keys):
    # Given a machine whose log key was made by the first command, before `auditor keys init`
    audit_log.append(tmp_path / "audit.log", "scan", [], 0, clock=CLOCK, key_dir=keys)
    first = KeyPaths(keys).log_key.read_bytes()
    # When the signing and sealing keys are created in the same folder
    init_keys(keys, b"correct horse")
    # Then the log key is kept (its entries stay verifiable), and a fresh folder gets one too
    assert KeyPaths(keys).log_key.read_bytes() == first
    assert audit_log.verify(tmp_path / "audit.log", key_dir=keys).ok
    init_keys(tmp_path / "fresh", b"correct horse")
    assert stat.S_IMODE(KeyPaths(tmp_path / "fresh").log_key.stat().st_mode) == 0o600


def test_commands_appending_at_once_keep_one_chain(tmp_path, keys):
    # Given eight commands appending at the same moment (a timer's scan and a user's commands)
    path = tmp_path / "audit.log"
    audit_log.append(path, "keys init", [], 0, clock=CLOCK, key_dir=keys)

    def command(index: int) -> None:
        for step in range(5):
            audit_log.append(path, "verify", [f"r{index}-{step}"], 0, clock=CLOCK, key_dir=keys)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(command, range(8)))
    # Then every entry follows the one before it: the appends were serialised, none was lost
    check = audit_log.verify(path, key_dir=keys)
    assert (check.ok, check.lines) == (True, 41)


def test_a_lost_log_key_is_reported_not_guessed(tmp_path, keys):
    # Given a log whose key folder was lost
    path = _log(tmp_path, keys, 2)
    KeyPaths(keys).log_key.unlink()
    # When it is verified (verify never makes a key)
    check = audit_log.verify(path, key_dir=keys)
    # Then it says the log cannot be authenticated, and where the key was expected
    assert not check.ok and "no activity log key" in check.problems[0].what and not KeyPaths(keys).log_key.exists()


def test_a_long_log_s_end_is_read_without_reading_the_log(tmp_path, keys, monkeypatch):
    # Given a log with 3 MB of earlier lines before its last entries (a machine's log grows with every command)
    path = _log(tmp_path, keys)
    entries = path.read_bytes()
    path.write_bytes(b"".join(b"%d earlier line\n" % i for i in range(200_000)) + entries)
    read: list[int] = []
    real_fdopen = os.fdopen

    class Counted:
        def __init__(self, handle):
            self._handle = handle

        def __getattr__(self, name):
            return getattr(self._handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self._handle.__exit__(*exc)

        def read(self, *size):
            data = self._handle.read(*size)
            read.append(len(data))
            return data

    monkeypatch.setattr(audit_log.os, "fdopen", lambda *a, **k: Counted(real_fdopen(*a, **k)))
    # When the run's anchor is taken and its entry appended
    anchor = audit_log.anchor(path, clock=CLOCK, key_dir=keys)
    written = audit_log.append(path, "scan", ["scan"], 0, clock=CLOCK, key_dir=keys)
    # Then both chain onto the last entry, having read only the log's end
    assert not anchor.segment and not written.segment and anchor.anchor.split(":")[2] == "4"
    assert sum(read) < 200_000
    # And a last line longer than the first look is still read whole (and refused as no entry of the log)
    monkeypatch.undo()
    with path.open("ab") as handle:
        handle.write(b"x" * 300_000 + b"\n")
    assert "not a JSON entry" in audit_log.append(path, "scan", ["scan"], 0, clock=CLOCK, key_dir=keys).segment
