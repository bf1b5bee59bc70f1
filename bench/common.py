"""Shared by the benchmarks: time a command and read its peak RSS, and print figures side by side."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    seconds: float
    peak_rss_mb: float
    exit_status: int


def measure(argv: Sequence[str], **popen: object) -> Sample:
    """Run argv to completion; wall time, and peak RSS of it and every child it waited for (wait4)."""
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen)  # type: ignore[call-overload]
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Sample(elapsed, usage.ru_maxrss / 1024, proc.returncode)


def median(samples: Sequence[Sample]) -> tuple[float, float]:
    return statistics.median(s.seconds for s in samples), statistics.median(s.peak_rss_mb for s in samples)


def ensure_debian_package(command: str, package: str) -> bool:
    """Install a peer tool from Debian when root and missing; False when it cannot be had."""
    if shutil.which(command):
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"{command}: not installed (run: sudo apt-get install {package})")
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", package], check=False, env=env,
                   capture_output=True)
    return shutil.which(command) is not None


def table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows)
