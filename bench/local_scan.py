"""Benchmark: `auditor scan` of this machine beside Lynis's quick audit, in the same run.

Prints the median wall time and peak RSS over N runs of each, and the ratio. Not a test: the machine is
noisy, so read medians and ratios, not single numbers.

    .venv/bin/python bench/local_scan.py [--runs 5] [--lynis-runs 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Sample, ensure_debian_package, measure, median, table

# The scan itself (what Lynis does), and the scan with its HTML and PDF report (what make scan does).
AUDITOR = [sys.executable, "-m", "auditor", "scan", "--quiet", "--no-history", "--no-sign", "--format", "none"]
WITH_REPORT = [sys.executable, "-m", "auditor", "scan", "--quiet", "--no-history", "--no-sign"]
LYNIS = ["lynis", "audit", "system", "--quick", "--no-colors", "--quiet"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lynis-runs", type=int, default=5)
    args = parser.parse_args()

    auditor_runs: list[Sample] = []
    report_runs: list[Sample] = []
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["XDG_DATA_HOME"] = scratch  # the audit trail of the benchmark runs stays out of the user's
        for index in range(args.runs):
            auditor_runs.append(measure([*AUDITOR, "--out", str(Path(scratch) / f"run{index}")]))
            report_runs.append(measure([*WITH_REPORT, "--out", str(Path(scratch) / f"rep{index}")]))
    rows = [("tool", "runs", "median wall s", "median peak RSS MB", "exit")]
    a_time, a_rss = median(auditor_runs)
    rows.append(("auditor scan", str(args.runs), f"{a_time:.3f}", f"{a_rss:.1f}", str(auditor_runs[-1].exit_status)))
    r_time, r_rss = median(report_runs)
    rows.append(("auditor scan + HTML/PDF report", str(args.runs), f"{r_time:.3f}", f"{r_rss:.1f}",
                 str(report_runs[-1].exit_status)))

    if args.lynis_runs and ensure_debian_package("lynis", "lynis"):
        with tempfile.TemporaryDirectory() as scratch:
            lynis_runs = [measure([*LYNIS, "--logfile", f"{scratch}/lynis.log", "--report-file",
                                   f"{scratch}/report.dat"]) for _ in range(args.lynis_runs)]
        l_time, l_rss = median(lynis_runs)
        rows.append(("lynis audit system --quick", str(args.lynis_runs), f"{l_time:.3f}", f"{l_rss:.1f}",
                     str(lynis_runs[-1].exit_status)))
        print(table(rows))
        print(f"\nlynis / auditor wall-time ratio: {l_time / a_time:.1f}x; "
              f"peak RSS ratio: {l_rss / a_rss:.2f}x")
    else:
        print(table(rows))
    print(f"targets for this machine: auditor under 2 s and 150 MB -> "
          f"{'met' if a_time < 2 and a_rss < 150 else 'NOT met'}")


if __name__ == "__main__":
    main()
