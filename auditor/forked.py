"""CPU-bound work shared out to forked processes: a replay waits on no host, and threads under one GIL only
contend (200 targets: 6 s with one thread, 11 s with eight).

Each child is a fork of the caller, so it starts with everything already loaded (checks, profile, the source
run's evidence index) and imports nothing. Child k takes items k, k+N, k+2N, … and sends each answer as soon
as it has it, pickled and length-prefixed, on a pipe of its own; the parent only reads the pipes, so every
process that computes has a core. A child's pickled answers come from this very program, never from a target.

Call it only while no other thread runs: a fork copies the calling thread alone, and a lock another thread
held (an import in progress, a log handler) would stay held in the child for ever.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
import signal
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")

_LENGTH = struct.Struct("!Q")
_OK, _FAILED = 0, 1


def can_fork() -> bool:
    """Whether map_forked may run here: on Linux (macOS's system libraries are not safe to use after a fork, and
    Windows has none), and only while this is the process's one thread (see above), Python's or a library's."""
    if sys.platform != "linux" or threading.active_count() != 1:
        return False
    for _ in range(20):  # a thread just joined can take a moment to leave the kernel's list of the process's tasks
        if len(os.listdir("/proc/self/task")) == 1:
            return True
        time.sleep(0.001)
    return False


class ChildFailed(Exception):
    """A child raised: its traceback text, for the parent to report."""


class ChildLost(Exception):
    """A child ended before it answered for every item of its share (killed, out of memory)."""

    def __init__(self, status: str, missing: Sequence[int]) -> None:
        super().__init__(status)
        self.status = status
        self.missing = tuple(missing)


def map_forked(work: Callable[[Item], Answer], items: Sequence[Item], processes: int,
               on_answer: Callable[[int, Answer], None]) -> None:
    """Call on_answer(index, work(items[index])) in the parent for every item, each work call in one of
    `processes` forked children, answers in the order they arrive.

    Raises ChildFailed when work raised in a child, ChildLost when a child died without answering for its
    share (the answers that did arrive were passed on first). On KeyboardInterrupt the children are stopped and
    the interrupt goes on to the caller.
    """
    children: dict[int, int] = {}  # read end of the pipe -> pid
    shares: dict[int, set[int]] = {}  # read end -> indexes not yet answered
    reaped: set[int] = set()
    try:
        for k in range(min(processes, len(items))):
            read, write = os.pipe()
            pid = _fork()
            if pid == 0:  # the child: never returns into the caller's code
                os.close(read)
                _child(work, items, range(k, len(items), processes), write)
            os.close(write)
            children[read] = pid
            shares[read] = set(range(k, len(items), processes))
        _gather(children, shares, reaped, on_answer)
    except BaseException:
        for pid in set(children.values()) - reaped:
            _stop(pid)
        raise
    finally:
        for read, pid in children.items():
            os.close(read)
            if pid not in reaped:
                os.waitpid(pid, 0)


def _fork() -> int:
    if hasattr(os, "fork"):  # POSIX only; callers ask can_fork() first
        return os.fork()
    raise OSError("this system cannot fork")


def _child(work: Callable[[Item], Answer], items: Sequence[Item], indexes: range, write: int) -> None:
    status = 0
    try:
        # The parent handles Ctrl-C; a child that took the terminal's SIGINT too would print a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with os.fdopen(write, "wb") as pipe:
            for index in indexes:
                try:
                    payload = pickle.dumps((_OK, index, work(items[index])), protocol=pickle.HIGHEST_PROTOCOL)
                except Exception:
                    payload = pickle.dumps((_FAILED, index, traceback.format_exc()))
                    status = 1
                pipe.write(_LENGTH.pack(len(payload)) + payload)
                pipe.flush()
                if status:
                    break
    except BaseException:
        status = 1
    finally:
        os._exit(status)  # no atexit handlers, no flushing of buffers copied from the parent


def _gather(children: dict[int, int], shares: dict[int, set[int]], reaped: set[int],
            on_answer: Callable[[int, Any], None]) -> None:
    buffers = {read: b"" for read in children}
    lost: list[tuple[str, set[int]]] = []
    with selectors.DefaultSelector() as selector:
        for read in children:
            selector.register(read, selectors.EVENT_READ)
        open_pipes = len(children)
        while open_pipes:
            for key, _events in selector.select():
                read = int(key.fd)
                chunk = os.read(read, 1 << 20)
                if not chunk:
                    selector.unregister(read)
                    open_pipes -= 1
                    if shares[read]:  # the other children's answers still count: gather them first
                        status = os.waitpid(children[read], 0)[1]
                        reaped.add(children[read])
                        lost.append((_status_text(status), shares[read]))
                    continue
                buffers[read] += chunk
                buffers[read] = _answers(buffers[read], shares[read], on_answer)
    if lost:
        raise ChildLost("; ".join(status for status, _ in lost), sorted(i for _, share in lost for i in share))


def _answers(buffer: bytes, share: set[int], on_answer: Callable[[int, Any], None]) -> bytes:
    """Pass on every whole answer in the buffer; returns what is left of it (cut once, not once per answer)."""
    offset = 0
    while len(buffer) - offset >= _LENGTH.size:
        (length,) = _LENGTH.unpack_from(buffer, offset)
        start, end = offset + _LENGTH.size, offset + _LENGTH.size + length
        if len(buffer) < end:
            break
        kind, index, value = pickle.loads(memoryview(buffer)[start:end])
        offset = end
        if kind == _FAILED:
            raise ChildFailed(value)
        share.discard(index)
        on_answer(index, value)
    return buffer[offset:]


def _stop(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
        os.kill(pid, signal.SIGTERM)


def _status_text(status: int) -> str:
    if hasattr(os, "WIFSIGNALED") and os.WIFSIGNALED(status):  # forked children only: POSIX
        return f"killed by signal {os.WTERMSIG(status)} ({signal.Signals(os.WTERMSIG(status)).name})"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"
