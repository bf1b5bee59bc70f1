"""The batch runner leaves nothing behind: its batch's time budget, the end of a batch and a vanished reader
each kill what it started, whether or not the command ignores SIGTERM. The runner runs here as sshd runs it
(`/bin/sh -c LAUNCH`), with stdin kept open, so nothing below relies on the end of its input."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest

from auditor.transports import _ssh_batch as shell_batch
from auditor.transports import _ssh_runner as runner
from auditor.transports._ssh_batch import FrameReader, Item
from auditor.transports.base import TIMED_OUT, cmd
from tests.processes import alive, gone_within


class _Pipe:
    """The runner's stdout as a ByteSource."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def receive(self, timeout: float) -> bytes:
        assert self.proc.stdout is not None
        return self.proc.stdout.read1(65536)


@pytest.fixture
def started() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["/bin/sh", "-c", runner.LAUNCH], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    yield proc
    proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()


def _send(proc: subprocess.Popen[bytes], data: bytes) -> FrameReader:
    assert proc.stdin is not None
    proc.stdin.write(data)
    proc.stdin.flush()
    reader = FrameReader(_Pipe(proc))
    reader.sync(runner.HELLO.rstrip(b"\n"), time.monotonic() + 10)
    return reader


def test_the_batch_budget_kills_a_command_that_ignores_sigterm(started, marker):
    # Given a batch with a 1 s budget whose command ignores SIGTERM and has a 600 s timeout of its own
    stubborn = cmd("sh", "-c", f"trap '' TERM; sleep {marker}; true", timeout=600)
    begun = time.monotonic()
    reader = _send(started, runner.bootstrap() + runner.request([Item(0, stubborn)], "tok", False, seconds=1))
    # When the budget runs out (stdin stays open: the scanner is still there)
    index, raw = reader.result("tok", time.monotonic() + 15)
    reader.end("tok", time.monotonic() + 5)
    # Then the command was timed out at the budget, and TERM then KILL left nothing of it
    assert index == 0 and raw.status == TIMED_OUT and time.monotonic() - begun < 8
    assert not alive(marker)


def test_a_command_not_started_before_the_batch_budget_ran_out_says_so(started):
    # Given a batch with no budget left
    reader = _send(started, runner.bootstrap() + runner.request([Item(0, cmd("true"))], "tok", False, seconds=0))
    # When it runs: Then its command is not started, and is reported timed out with the reason
    index, raw = reader.result("tok", time.monotonic() + 10)
    assert index == 0 and raw.status == TIMED_OUT and b"time budget ran out" in raw.stderr


def test_a_runner_whose_reader_went_away_kills_its_commands_without_writing_first(started, marker):
    # Given a batch whose command ignores SIGTERM and would run for 10 minutes
    stubborn = cmd("sh", "-c", f"trap '' TERM; sleep {marker}; true", timeout=600)
    _send(started, runner.bootstrap() + runner.request([Item(0, stubborn)], "tok", False))
    deadline = time.monotonic() + 10
    while not alive(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive(marker), "the command never started"
    # When the reader of its output goes away (as when sshd closes the channel); stdin stays open
    assert started.stdout is not None
    started.stdout.close()
    # Then the runner notices within a second, kills the group (TERM, then KILL) and exits
    assert not gone_within(marker, 8)
    assert started.wait(timeout=5) == 0


def test_in_the_shell_fallback_no_command_outlasts_the_batch_budget(marker):
    # Given the /bin/sh fallback, a command that ignores SIGTERM with a 600 s timeout, and 1 s of budget left
    stubborn = cmd("sh", "-c", f"trap '' TERM; sleep {marker}; true", timeout=600)
    text = shell_batch.prelude(False) + shell_batch.script([Item(0, stubborn)], "tok", budget=1)
    begun = time.monotonic()
    # When the shell runs the batch
    done = subprocess.run(["/bin/sh", "-s"], input=text.encode(), capture_output=True, timeout=30, check=False)
    # Then `timeout` stopped it at the budget (TERM, then KILL 2 s later) and nothing of it is left
    header = done.stdout.split(b"\n")[1].split()
    assert header[:2] == [b"tok", b"0"] and int(header[2]) in (124, 137)  # 137: KILL was needed
    assert time.monotonic() - begun < 8
    assert not alive(marker)
