"""Processes a test started on purpose and must see gone: found by a marker in their command line (the `marker`
fixture of tests/conftest.py gives one)."""

from __future__ import annotations

import time

import psutil


def alive(marker: str) -> list[psutil.Process]:
    """The processes whose command line holds the marker."""
    return [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or ())]


def gone_within(marker: str, seconds: float) -> list[psutil.Process]:
    """Those still alive after waiting up to `seconds` for them to go (empty: all gone)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and alive(marker):
        time.sleep(0.05)
    return alive(marker)
