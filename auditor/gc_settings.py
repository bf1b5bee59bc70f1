"""The garbage collector's settings of a process of auditor's that makes many small objects (the command, the PDF
renderer process)."""

from __future__ import annotations

import gc


def collect_rarely() -> None:
    """Collect the first generation every 50,000 new objects, not every 700.

    Set when auditor is imported (auditor/__init__.py): importing the command makes tens of thousands of small
    objects that live as long as the process, and the default threshold walked them again dozens of times, 6 ms of
    every command's start (`import auditor.cli`: 74.5 ms, 68.8 ms without collections, 25 runs each).
    """
    gc.set_threshold(50_000, 20, 100)


def for_many_small_objects() -> None:
    """Freeze what is imported by now and collect the first generation rarely.

    What is imported by now lives as long as the process: the collector need not walk it again. A scan then makes
    hundreds of thousands of small, mostly acyclic objects, and so does WeasyPrint's layout; the default threshold
    (700) ran a collection every few hundred of them, 0.5 s of a 200-target replay, 0.3-0.4 s of a PDF's layout.
    """
    gc.freeze()
    collect_rarely()
