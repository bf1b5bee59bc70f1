"""Work shared out to forked processes (auditor/forked.py), and the replay that uses it: same run as one process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.forked import ChildFailed, ChildLost, map_forked
from tests.conftest import run_cli
from tests.fixtures.sample_fleet import build


def _answers(work, items, processes):
    arrived: dict[int, object] = {}
    map_forked(work, items, processes, lambda index, answer: arrived.setdefault(index, answer))
    return arrived


def test_every_item_is_answered_once_by_a_child_and_not_by_the_parent() -> None:
    # Given three processes and ten items
    items = list(range(10))
    # When each answer says which process computed it
    arrived = _answers(lambda n: (n * n, os.getpid()), items, 3)
    # Then every item came back once, computed in three children, none of them this process
    assert {i: value for i, (value, _pid) in arrived.items()} == {n: n * n for n in items}
    pids = {pid for _value, pid in arrived.values()}
    assert len(pids) == 3 and os.getpid() not in pids


def test_a_large_answer_arrives_whole() -> None:
    # An answer far larger than a pipe's buffer (64 KiB) is read across many chunks
    arrived = _answers(lambda n: bytes([n]) * (3 << 20), [1, 2], 2)
    assert arrived == {0: b"\x01" * (3 << 20), 1: b"\x02" * (3 << 20)}


def test_an_exception_in_a_child_reaches_the_parent_with_its_traceback() -> None:
    def work(n: int) -> int:
        if n == 3:
            raise ValueError("item three is bad")
        return n

    with pytest.raises(ChildFailed, match="ValueError: item three is bad"):
        _answers(work, list(range(6)), 2)


def test_a_killed_child_is_named_and_the_other_answers_still_arrive() -> None:
    # Given a child that is killed when it reaches item 2 (its share: 0, 2, 4)
    def work(n: int) -> int:
        if n == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return n

    arrived: dict[int, int] = {}
    with pytest.raises(ChildLost) as lost:
        map_forked(work, list(range(6)), 2, lambda index, answer: arrived.setdefault(index, answer))
    # Then the parent learns which items were never answered and why, after every answer that did arrive
    assert lost.value.missing == (2, 4)
    assert "SIGKILL" in lost.value.status
    assert arrived == {0: 0, 1: 1, 3: 3, 5: 5}


def test_no_fork_while_another_thread_runs() -> None:
    # In a fresh interpreter (this one may hold other tests' threads): alone it may fork; beside a thread, not
    code = ("import threading; from auditor.forked import can_fork; alone = can_fork(); "
            "stop = threading.Event(); t = threading.Thread(target=stop.wait); t.start(); "
            "print(alone, can_fork()); stop.set(); t.join()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["True", "False"]


def _facts(run: Path) -> dict[str, str]:
    return {f["path"]: f["sha256"] for f in json.loads((run / "evidence" / "manifest.json").read_text())["facts"]}


def _judged(run: Path) -> list[tuple[str, str, str, str, str]]:
    findings = json.loads((run / "results.json").read_text())["findings"]
    return [(f["target"], f["check_id"], f["resource"], f["status"], f["message"]) for f in findings]


def test_a_replay_in_processes_writes_the_run_one_process_writes(tmp_path: Path) -> None:
    # Given a run of every recorded host (Linux, Windows, macOS), unsigned
    source = build(tmp_path / "fleet")
    # When it is replayed by three processes, and by one
    runs = {}
    for workers in ("3", "1"):
        runs[workers] = tmp_path / f"replay-{workers}"
        done = run_cli("replay", str(source), "--workers", workers, "--out", str(runs[workers]), "--format", "none",
                       "--allow-unsigned", "--quiet", "--no-history")
        assert done.returncode in (0, 1), done.stderr
    # Then both hold the same findings in the same order and the same records with the same hashes
    assert _judged(runs["3"]) == _judged(runs["1"])
    assert len({f[0] for f in _judged(runs["3"])}) >= 4
    assert _facts(runs["3"]) == _facts(runs["1"])
    # And the run the processes wrote verifies: every record on disk is listed, none is missing or extra
    verified = run_cli("verify", str(runs["3"]))
    assert "every file matches its manifest" in verified.stdout, verified.stdout


def test_the_progress_table_of_a_replay_runs_no_thread_so_a_replay_on_a_terminal_still_forks() -> None:
    # In a fresh interpreter: a progress table on a terminal, with targets starting and finishing
    code = """
import io, threading
from rich.console import Console
from auditor.console import ProgressDisplay
from auditor.forked import can_fork
from auditor.models import Target, TargetKind, TargetResult
targets = [Target(f"web-{n}", TargetKind.LOCAL) for n in range(3)]
out = io.StringIO()
with ProgressDisplay(Console(file=out, force_terminal=True, width=80), targets, redraw_thread=False) as shown:
    for target in targets:
        shown.target_started(target)
        shown.target_finished(TargetResult(target, None, (), "no route to host"))
    seen = threading.active_count(), can_fork()  # Live sends print() into its console while it is shown
print(*seen, "not assessed: no route to host" in out.getvalue())
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    # Then the table was drawn without a refresh thread, and forking stays allowed
    assert done.stdout.split() == ["1", "True", "True"], done.stderr
