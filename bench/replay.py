"""Benchmark: `auditor replay` of a synthetic N-target run: seconds and peak RSS, beside ripgrep reading the same
evidence.

The run folder is built once, untimed, as bench/report.py builds it (every target replays one recorded host through
the real runner, so evidence, hashes and findings are real). Then the INSTALLED `auditor replay RUN --format none`
is timed: it verifies every hash of the run, re-evaluates every target from its evidence, writes a new run folder
with every record, results.json and the run manifest. The peer, `rg --count-matches -uuu '"kind"' evidence/`,
reads every evidence file once and does nothing else: the floor for touching the same files. Interleaved, after
one untimed warm-up round. Targets (issue 19): 200 targets in at most 3 s and 150 MB.

    .venv/bin/python bench/replay.py [--targets 200] [--runs 5] [--host tests/fixtures/hosts/...]

The run folders go to the temporary folder (TMPDIR): a replay creates 19,000 files, so a disk whose ext4
allocator is slowed by many recent removals shows in the figure; TMPDIR on a tmpfs takes the disk out of it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import Sample, auditor_script, ensure_debian_package, exits, interleaved, spread, table
from report import HOSTS, build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200, help="targets in the synthetic run (default 200)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command (default 5)")
    parser.add_argument("--host", default=str(HOSTS / "debian12-server"), help="the recorded host every target replays")
    args = parser.parse_args()
    if args.targets < 1 or args.runs < 1:
        parser.error("--targets and --runs must be at least 1")
    auditor = auditor_script()
    with tempfile.TemporaryDirectory(prefix="auditor-bench-replay-") as scratch:
        base = Path(scratch)
        run = base / "run"
        findings = build(Path(args.host), run, args.targets)
        files = sum(1 for _ in (run / "evidence").rglob("*.json"))

        def replayed(index: int) -> list[str]:
            # Each round writes a new run folder, kept until the end: removing 19,000 files between rounds makes
            # ext4 search past the recently freed inodes on the next round's creates, which no user run pays.
            out = base / f"replay-{index}"
            return [auditor, "replay", str(run), "--allow-unsigned", "--format", "none", "--no-history", "--quiet",
                    "--out", str(out)]

        def complete(sample: Sample, index: int) -> bool:
            # Exit 1: findings failed, as they do in the recorded host; the new run must be whole.
            return sample.exit_status in (0, 1) and (base / f"replay-{index}" / "manifest.json").is_file()

        commands = {"auditor": replayed}
        accept = {"auditor": complete}
        if ensure_debian_package("rg", "ripgrep"):
            commands["ripgrep"] = lambda _index: ["rg", "--count-matches", "-uuu", '"kind"', str(run / "evidence")]
            accept["ripgrep"] = exits(0)
        samples = interleaved(commands, args.runs, accept)
        print(f"{args.targets} targets, {files} evidence files, {findings} findings (replayed from {args.host}), "
              f"{args.runs} runs")
        rows = [("command", "seconds min / median / max", "CPU s (median)", "peak RSS MB min / median / max")]
        labels = {"auditor": "auditor replay --format none", "ripgrep": "rg -uuu over the evidence (reads only)"}
        for name, runs in samples.items():
            rows.append((labels[name], spread([s.seconds for s in runs]),
                         f"{statistics.median(s.cpu_seconds for s in runs):.2f}",
                         spread([s.peak_rss_mb for s in runs], "{:.0f}")))
        print(table(rows))
        seconds = statistics.median(s.seconds for s in samples["auditor"])
        peak = statistics.median(s.peak_rss_mb for s in samples["auditor"])
        if "ripgrep" in samples:
            peer = statistics.median(s.seconds for s in samples["ripgrep"])
            print(f"auditor / ripgrep (medians): {seconds / peer:.1f}x")
        print(f"replay: {seconds:.2f} s median (goal 3 s), {peak:.0f} MB median peak (goal 150 MB): "
              + ("met" if seconds <= 3 and peak <= 150 else "NOT met"))


if __name__ == "__main__":
    main()
