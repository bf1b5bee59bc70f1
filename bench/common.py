"""Shared by the benchmarks: run a command, read its wall time, CPU and peak RSS, and print min/median/max
beside a peer tool's figures from the same run.

Every benchmark times the INSTALLED `auditor` script (as a user runs it, console-script start-up included),
interleaves its runs with the peer's so that both see the same machine, and stops with a clear line when a
timed step did not do its work: a figure for a failed run is no figure.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    seconds: float
    peak_rss_mb: float
    exit_status: int
    cpu_seconds: float = 0.0  # user + system of the command and every child it waited for


def measure(argv: Sequence[str], **popen: object) -> Sample:
    """Run argv to completion; wall time, CPU and peak RSS of it and every child it waited for (wait4)."""
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen)  # type: ignore[call-overload]
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Sample(elapsed, usage.ru_maxrss / 1024, proc.returncode, usage.ru_utime + usage.ru_stime)


def median(samples: Sequence[Sample]) -> tuple[float, float]:
    return statistics.median(s.seconds for s in samples), statistics.median(s.peak_rss_mb for s in samples)


def auditor_script() -> str:
    """The installed `auditor` console script of this environment (or on PATH); stops when there is none."""
    beside = Path(sys.executable).with_name("auditor")
    found = str(beside) if beside.is_file() else shutil.which("auditor")
    if not found:
        raise SystemExit("bench: no installed `auditor` command: run `make setup` (or pip install .) first")
    return found


def interleaved(commands: Mapping[str, Callable[[int], Sequence[str]]], runs: int,
                accept: Mapping[str, Callable[[Sample, int], bool]]) -> dict[str, list[Sample]]:
    """Run each command once per round, in turn, `runs` rounds (after one untimed warm-up round); a run that
    `accept` rejects stops the benchmark with its name and exit status."""
    samples: dict[str, list[Sample]] = {name: [] for name in commands}
    for index in range(-1, runs):
        for name, argv_for in commands.items():
            sample = measure(argv_for(index))
            if not accept[name](sample, index):
                raise SystemExit(f"bench: `{name}` run {index} did not succeed (exit {sample.exit_status}); "
                                 f"command: {' '.join(argv_for(index))}")
            if index >= 0:
                samples[name].append(sample)
    return samples


def exits(*codes: int) -> Callable[[Sample, int], bool]:
    """An acceptance rule: the run ended with one of these exit codes."""
    allowed: Collection[int] = codes
    return lambda sample, _index: sample.exit_status in allowed


def spread(values: Sequence[float], fmt: str = "{:.3f}") -> str:
    """min / median / max."""
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def ratios(a: Sequence[Sample], b: Sequence[Sample], field: str = "seconds") -> list[float]:
    """Pairwise a/b of interleaved runs: robust to the machine's speed drifting during the run."""
    return [getattr(x, field) / getattr(y, field) for x, y in zip(a, b, strict=True)]


def ensure_debian_package(command: str, package: str) -> bool:
    """Install a peer tool from Debian when root and missing; False when it cannot be had."""
    if shutil.which(command):
        return True
    install_package(package)
    return shutil.which(command) is not None


def install_package(package: str) -> None:
    """apt-get install one Debian package (as root); says the command to run otherwise."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"bench: {package} is not installed (run: sudo apt-get install {package})")
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", package], check=False, env=env,
                   capture_output=True)


def table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows)
