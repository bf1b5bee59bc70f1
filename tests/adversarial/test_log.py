"""Attacks on auditor's own activity log, through the real CLI: each edit an attacker with write access to the
log (but not to the log key) could make is named by `auditor log verify`, and a scan after it still finishes.

The log under attack: four commands (scan run-a, verify, scan run-b, history), two run folders anchored in it
and a history database that knows them, built once and restored before each attack.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_cli

FAST = ("--quiet", "--no-sign", "--format", "none", "--check", "LOG-0040")


class Machine:
    """One machine's log, key folder, reports and history, and the CLI pointed at them."""

    def __init__(self, base: Path, config: Path) -> None:
        self.base, self.log, self.reports, self.config = base, base / "audit.log", base / "reports", config
        self.head = base / "audit.log.head"

    def cli(self, *args: str):
        return run_cli("--audit-log", str(self.log), *args, env={"XDG_CONFIG_HOME": str(self.config)})

    def scan(self, name: str):
        return self.cli("scan", "--out", str(self.reports / name), "--history", str(self.base / "h.sqlite"), *FAST)

    def verify_log(self):
        return self.cli("log", "verify", "--reports-dir", str(self.reports), "--history", str(self.base / "h.sqlite"))

    def lines(self) -> list[bytes]:
        return self.log.read_bytes().splitlines(keepends=True)

    def run_id(self, name: str) -> str:
        return json.loads((self.reports / name / "manifest.json").read_text())["run_id"]


def _build(machine: Machine) -> None:
    assert machine.scan("run-a").returncode in (0, 1)
    machine.cli("verify", str(machine.reports / "run-a"))
    assert machine.scan("run-b").returncode in (0, 1)
    machine.cli("history", "--history", str(machine.base / "h.sqlite"))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, Path]:
    """The log under attack, built once: (its folder, a copy to restore it from)."""
    root = tmp_path_factory.mktemp("log-attacks")
    machine = Machine(root / "machine", root / "config")
    _build(machine)
    shutil.copytree(machine.base, root / "pristine")
    assert len(machine.lines()) == 4 and machine.verify_log().returncode == 0
    return machine.base, root / "pristine"


@pytest.fixture
def machine(pristine) -> Machine:
    """The log under attack as built, at the path its runs were anchored to (anchors name the log's path)."""
    base, copy = pristine
    shutil.rmtree(base)
    shutil.copytree(copy, base)
    return Machine(base, base.parent / "config")


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory) -> Machine:
    """Another machine (its own log key) with a log of the same commands."""
    root = tmp_path_factory.mktemp("other-machine")
    other = Machine(root / "machine", root / "config")
    _build(other)
    return other


def _entries(m: Machine) -> list[dict]:
    return [json.loads(line) for line in m.lines()]


def _write_entries(m: Machine, entries: list[dict]) -> None:
    m.log.write_bytes(b"".join(json.dumps(e, ensure_ascii=False, sort_keys=True).encode() + b"\n" for e in entries))


def _edit_last_line(m: Machine) -> None:
    lines = m.lines()
    lines[-1] = lines[-1].replace(b'"exit": 0', b'"exit": 1')
    m.log.write_bytes(b"".join(lines))


def _edit_middle_line(m: Machine) -> None:
    lines = m.lines()
    lines[1] = lines[1].replace(b'"command": "verify"', b'"command": "report"')
    m.log.write_bytes(b"".join(lines))


def _delete_last(count: int) -> Callable[[Machine], None]:
    def damage(m: Machine) -> None:
        m.log.write_bytes(b"".join(m.lines()[:-count]))
    return damage


def _append_unkeyed(m: Machine) -> None:
    last = _entries(m)[-1]
    forged = {"seq": 5, "command": "scan", "exit": 0, "run_id": "forged", "argv": [], "targets": ["vm"],
              "prev": hashlib.sha256(m.lines()[-1].rstrip(b"\n")).hexdigest(), "time": last["time"],
              "user": last["user"], "host": last["host"]}
    m.log.write_bytes(m.log.read_bytes() + json.dumps(forged, sort_keys=True).encode() + b"\n")


def _append_with_made_up_mac(m: Machine) -> None:
    # The attacker copies the key id and chains on the real last MAC, but cannot compute a MAC without the key.
    entries = _entries(m)
    forged = {**entries[-1], "seq": 5, "command": "scan", "run_id": "forged", "exit": 0, "prev": entries[-1]["mac"]}
    forged["mac"] = hashlib.sha256(json.dumps(forged, sort_keys=True).encode()).hexdigest()
    _write_entries(m, [*entries, forged])


def _rewrite_unkeyed_chain(m: Machine) -> None:
    # The whole log rewritten the way the old, unkeyed log chained: prev = SHA-256 of the line before.
    previous, lines = "0" * 64, []
    for entry in _entries(m):
        body = {k: v for k, v in entry.items() if k not in ("mac", "key_id")}
        body.update(prev=previous, exit=0)
        line = json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
        previous = hashlib.sha256(line).hexdigest()
        lines.append(line + b"\n")
    m.log.write_bytes(b"".join(lines))


def _rewrite_with_recomputed_macs(m: Machine) -> None:
    # The same, keeping the fields: each "mac" recomputed as a plain SHA-256 over the edited entry.
    previous, entries = "0" * 64, []
    for entry in _entries(m):
        body = {k: v for k, v in entry.items() if k != "mac"}
        body.update(prev=previous, exit=0)
        body["mac"] = previous = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        entries.append(body)
    _write_entries(m, entries)


def _empty(m: Machine) -> None:
    m.log.write_bytes(b"")


def _remove_log_and_head(m: Machine) -> None:
    m.log.unlink()
    m.head.unlink()


def _swap(m: Machine) -> None:
    lines = m.lines()
    m.log.write_bytes(b"".join([lines[0], lines[2], lines[1], lines[3]]))


def _duplicate(m: Machine) -> None:
    lines = m.lines()
    m.log.write_bytes(b"".join([*lines[:2], lines[1], *lines[2:]]))


def _corrupt_middle(m: Machine) -> None:
    lines = m.lines()
    lines[1] = lines[1][1:]  # the opening brace gone
    m.log.write_bytes(b"".join(lines))


def _garbage_at_end(m: Machine) -> None:
    m.log.write_bytes(m.log.read_bytes() + b'{"seq": 5, "command": "scan", "exit": 0\n')


def _cut_mid_line(m: Machine) -> None:
    m.log.write_bytes(m.log.read_bytes()[:-30])


def _blank_line_at_end(m: Machine) -> None:
    m.log.write_bytes(m.log.read_bytes() + b"\n")


def _roll_back_head(m: Machine) -> None:
    # Cut the last two lines and put back a head record saved when the log ended at line 2 (a real one).
    entries = _entries(m)
    record = json.loads(m.head.read_text())
    m.log.write_bytes(b"".join(m.lines()[:2]))
    m.head.write_text(json.dumps({**record, "line": 2, "mac": entries[1]["mac"]}))


def _forge_head(m: Machine) -> None:
    # Cut the last line and rewrite the head record to name the new last line (its tag cannot be recomputed).
    entries = _entries(m)
    m.log.write_bytes(b"".join(m.lines()[:3]))
    record = json.loads(m.head.read_text())
    m.head.write_text(json.dumps({**record, "line": 3, "mac": entries[2]["mac"]}))


def _remove_head_and_cut(m: Machine) -> None:
    m.head.unlink()
    m.log.write_bytes(b"".join(m.lines()[:3]))


def _insert_copy_of_scan(m: Machine) -> None:
    # A real scan entry copied in again later, to make a run look repeated.
    lines = m.lines()
    m.log.write_bytes(b"".join([*lines, lines[0]]))


def _another_machines_log(elsewhere: Machine) -> Callable[[Machine], None]:
    def damage(m: Machine) -> None:
        m.log.write_bytes(elsewhere.log.read_bytes())
        m.head.write_bytes(elsewhere.head.read_bytes())
    return damage


RUN_B_MISSING = "BROKEN run {run-b}"
# (name, damage, what verify must name, whether the end was damaged so the next scan starts a new segment)
ATTACKS = [
    ("edit the last line", _edit_last_line, ["BROKEN at line 4", "edited"], True),
    ("edit a line in the middle", _edit_middle_line, ["BROKEN at line 2", "edited"], False),
    ("delete the last line", _delete_last(1), ["log ends at line 3, but its head record names line 4"], True),
    ("delete the last 2 lines (a scan's entry)", _delete_last(2),
     ["log ends at line 2, but its head record names line 4", RUN_B_MISSING, "no entry for it"], True),
    ("delete the last 3 lines (an anchor)", _delete_last(3), [RUN_B_MISSING, "anchor, entry 2", "is missing"], True),
    ("append a forged unkeyed entry", _append_unkeyed, ["BROKEN at line 5", "not keyed"], True),
    ("append a forged entry with a made-up MAC", _append_with_made_up_mac, ["BROKEN at line 5", "edited"], True),
    ("rewrite the whole chain as an unkeyed SHA-256 chain", _rewrite_unkeyed_chain,
     ["BROKEN at lines 1-4", "not keyed", RUN_B_MISSING], True),
    ("rewrite the whole chain with recomputed hashes as MACs", _rewrite_with_recomputed_macs,
     ["BROKEN at lines 1-4", "edited", RUN_B_MISSING], True),
    ("empty the file", _empty, ["BROKEN at line 1", "emptied", RUN_B_MISSING], True),
    ("delete the log and its head record", _remove_log_and_head, ["BROKEN run {run-a}", RUN_B_MISSING], False),
    ("swap two lines", _swap, ["BROKEN at line 2", "BROKEN at line 3", "BROKEN at line 4"], False),
    ("duplicate a line", _duplicate, ["BROKEN at line 3", "does not follow line 2"], False),
    ("corrupt the JSON of a middle line", _corrupt_middle, ["BROKEN at line 2", "not a JSON entry"], False),
    ("append a corrupt JSON line", _garbage_at_end, ["BROKEN at line 5", "not a JSON entry"], True),
    ("cut the log in the middle of its last line", _cut_mid_line, ["BROKEN at line 4", "not a JSON entry"], True),
    ("append a blank line", _blank_line_at_end, ["BROKEN at line 5"], True),
    ("cut the end and roll the head record back", _roll_back_head, [RUN_B_MISSING, "no entry for it"], True),
    ("cut the end and forge the head record", _forge_head, ["BROKEN at line 4", "head record was edited"], True),
    ("cut the end and delete the head record", _remove_head_and_cut, ["BROKEN at line 4", "head record is missing"],
     True),
    ("copy a real scan entry to the end", _insert_copy_of_scan, ["BROKEN at line 5", "does not follow line 4"], True),
]


def _named(expected: list[str], machine: Machine) -> list[str]:
    ids = {"{run-a}": machine.run_id("run-a"), "{run-b}": machine.run_id("run-b")}
    out = []
    for text in expected:
        for placeholder, run_id in ids.items():
            text = text.replace(placeholder, run_id)
        out.append(text)
    return out


def _assert_detected_and_scan_goes_on(machine: Machine, expected: list[str], end_damaged: bool) -> None:
    # When a scan runs on the damaged log
    scanned = machine.scan("after")
    # Then it finishes (no traceback), and says in one line that a new segment starts when the end was damaged
    assert scanned.returncode in (0, 1) and "Traceback" not in scanned.stderr, scanned.stderr
    notes = [line for line in scanned.stderr.splitlines() if "new segment" in line]
    assert len(notes) == (1 if end_damaged else 0), scanned.stderr
    # When the log is verified after it
    checked = machine.verify_log()
    # Then it fails and names the broken lines or runs, while the new run is anchored and found
    assert checked.returncode == 1 and "Traceback" not in checked.stderr, checked.stdout + checked.stderr
    assert [text for text in expected if text not in checked.stdout] == [], checked.stdout
    assert f"run {machine.run_id('after')}" not in checked.stdout, checked.stdout


@pytest.mark.attack("log edits")
@pytest.mark.parametrize(("damage", "expected", "end_damaged"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
def test_an_edited_log_is_detected_and_never_stops_a_scan(machine, damage, expected, end_damaged):
    # Given the log with two anchored runs, damaged as an attacker with write access to it would
    damage(machine)
    _assert_detected_and_scan_goes_on(machine, _named(expected, machine), end_damaged)


@pytest.mark.attack("log edits")
def test_another_machines_log_put_in_its_place_is_detected(machine, elsewhere):
    # Given this machine's log and head record replaced by another machine's (a valid log under another key)
    _another_machines_log(elsewhere)(machine)
    # Then every line is named as written under another key, and this machine's runs lose their anchors
    expected = ["BROKEN at lines 1-4", "another log key", "BROKEN run {run-a}", "BROKEN run {run-b}"]
    _assert_detected_and_scan_goes_on(machine, _named(expected, machine), True)


@pytest.mark.attack("log edits")
def test_an_untouched_log_verifies(machine):
    # The control: the same log, not attacked, verifies with both runs found in it (so the attacks above
    # are detected because of what they changed, not because the log never verified).
    checked = machine.verify_log()
    assert checked.returncode == 0 and "2 anchored run(s) found in it" in checked.stdout, checked.stdout
