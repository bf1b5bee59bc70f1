"""The garbage collector's settings of a process of auditor's that makes many small objects (the command, the PDF
renderer process)."""

from __future__ import annotations

import gc


def for_many_small_objects() -> None:
    """Freeze what is imported by now and collect the first generation rarely.

    What is imported by now lives as long as the process: the collector need not walk it again. A scan then makes
    hundreds of thousands of small, mostly acyclic objects, and so does WeasyPrint's layout; the default threshold
    (700) ran a collection every few hundred of them, 0.5 s of a 200-target replay, 0.3-0.4 s of a PDF's layout.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
