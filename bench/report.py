"""Benchmark: render the HTML and PDF report of a synthetic 200-target run built from a recorded host.

Every target replays the same recorded host's evidence through the real runner (so findings, evidence
and hashes are real), then HTML and PDF are rendered in child processes to measure time and peak RSS.
Targets: HTML under 2 s; PDF under 30 s and under 1 GB.

    .venv/bin/python bench/report.py [--targets 200] [--host tests/fixtures/hosts/debian12-server]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import measure, table

from auditor.bundle.evidence import EvidenceStore
from auditor.bundle.finish import finish
from auditor.bundle.results import read_results
from auditor.clock import SystemClock
from auditor.files import dump_json, write_atomic
from auditor.models import Location, Role, Target
from auditor.pipeline import load_checks
from auditor.profile import load_profile
from auditor.runner import ScanOptions, run_scan
from auditor.transports.replay import ReplayTransport

RENDER = "from pathlib import Path; import sys; from auditor.report.render import render_reports; " \
         "render_reports(Path(sys.argv[1]), [sys.argv[2]], 'en', Path(sys.argv[3]))"


def build(host: Path, out: Path, count: int) -> int:
    recorded = read_results(host).targets[0].target
    profile = load_profile()
    targets = [Target(f"{recorded.name}-{i:03d}", recorded.kind, Role.SERVER, Location.DATACENTER)
               for i in range(count)]
    store = EvidenceStore(out)
    result = run_scan("20261126T000000Z-bench", targets, load_checks(profile), profile, store,
                      ScanOptions(workers=8), open_target=lambda t, _login: _as(host, recorded.name, t.name),
                      clock=SystemClock())
    store.write_manifest()
    write_atomic(out / "profile.json", dump_json(profile.document()))
    finish(out, result, db=None, render=lambda: None, signer=None, audit_head="", seal_to=())
    return len(result.findings())


def _as(host: Path, recorded: str, name: str) -> ReplayTransport:
    transport = ReplayTransport(host, recorded)
    transport.target = name
    return transport


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--host", default=str(Path(__file__).resolve().parent.parent / "tests/fixtures/hosts/"
                                              "debian12-server"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run = Path(scratch) / "run"
        findings = build(Path(args.host), run, args.targets)
        checks = len(json.loads((run / "results.json").read_text())["checks"])
        rows = [("format", "seconds", "peak RSS MB", "size KB", "pages")]
        for fmt in ("html", "pdf"):
            sample = measure([sys.executable, "-c", RENDER, str(run), fmt, str(Path(scratch) / fmt)])
            produced = next((Path(scratch) / fmt).iterdir())
            pages = "-"
            if fmt == "pdf":
                info = subprocess.run(["pdfinfo", str(produced)], capture_output=True, text=True, check=False).stdout
                pages = next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")), "?")
            rows.append((fmt, f"{sample.seconds:.2f}", f"{sample.peak_rss_mb:.0f}",
                         f"{produced.stat().st_size / 1024:.0f}", pages))
        print(f"{args.targets} targets x {checks} checks = {findings} findings (replayed from {args.host})")
        print(table(rows))


if __name__ == "__main__":
    main()
