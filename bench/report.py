"""Benchmark: `auditor report` of a synthetic N-target run: pages, seconds and peak RSS of the PDF and the HTML.

Every target replays one recorded host's evidence through the real runner (so findings, evidence and hashes
are real); the run folder is built once, untimed. Then the INSTALLED `auditor report RUN --format pdf` and
`--format html` are timed in turn with the peer, Chromium printing the very document WeasyPrint lays out (the
report's print-layout HTML, written once untimed; `chromium --headless --print-to-pdf`): the same pages from
another engine, interleaved, after one untimed warm-up round. Targets (issue 17): the PDF of 200 targets in at
most 40 pages, under 30 s (goal 8 s) and under 1 GB.

    .venv/bin/python bench/report.py [--targets 200] [--runs 3] [--lang en] [--host tests/fixtures/hosts/...]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import Sample, auditor_script, interleaved, spread, table

from auditor.bundle.evidence import EvidenceStore
from auditor.bundle.finish import finish
from auditor.bundle.results import read_results
from auditor.clock import FixedClock
from auditor.files import dump_json, write_atomic
from auditor.models import Location, Role, Target
from auditor.pipeline import load_checks
from auditor.profile import load_profile
from auditor.report.to_html import render_html
from auditor.report.view import build_view
from auditor.runner import ScanOptions, run_scan
from auditor.transports.replay import ReplayTransport

# The synthetic run is judged as of a fixed moment, as the sample report is: the figures do not drift with the day.
SCANNED_AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
HOSTS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "hosts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer")


def build(host: Path, out: Path, count: int) -> int:
    """A run folder of `count` targets, each replaying `host`'s evidence; returns the number of findings."""
    recorded = read_results(host).targets[0].target
    profile = load_profile()
    targets = [Target(f"{recorded.name}-{i:03d}", recorded.kind, Role.SERVER, Location.DATACENTER)
               for i in range(count)]
    store = EvidenceStore(out)
    result = run_scan("20261126T090000Z-bench", targets, load_checks(profile), profile, store,
                      ScanOptions(workers=8), open_target=lambda t, _login: _as(host, recorded.name, t.name),
                      clock=FixedClock(SCANNED_AT))
    store.write_manifest()
    write_atomic(out / "profile.json", dump_json(profile.document()))
    finish(out, result, db=None, render=lambda: None, signer=None, audit_head="", seal_to=())
    return len(result.findings())


def _as(host: Path, recorded: str, name: str) -> ReplayTransport:
    transport = ReplayTransport(host, recorded)
    transport.target = name
    return transport


def pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=False).stdout
    found = next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")), "")
    if not found.isdigit():
        raise SystemExit(f"bench: {pdf} is not a readable PDF (pdfinfo: {info.strip() or 'no answer'})")
    return int(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200, help="targets in the synthetic run (default 200)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each command (default 3)")
    parser.add_argument("--lang", choices=("en", "da"), default="en", help="report language (default en)")
    parser.add_argument("--host", default=str(HOSTS / "debian12-server"), help="the recorded host every target replays")
    args = parser.parse_args()
    if args.targets < 1 or args.runs < 1:
        parser.error("--targets and --runs must be at least 1")
    auditor = auditor_script()
    suffix = "" if args.lang == "en" else f".{args.lang}"
    with tempfile.TemporaryDirectory(prefix="auditor-bench-report-") as scratch:
        base = Path(scratch)
        run = base / "run"
        findings = build(Path(args.host), run, args.targets)

        def report(fmt: str) -> Callable[[int], Sequence[str]]:
            return lambda index: [auditor, "report", str(run), "--format", fmt, "--lang", args.lang,
                                  "--out", str(base / f"{fmt}-{index}")]

        def produced(fmt: str, index: int) -> Path:
            return base / f"{fmt}-{index}" / f"report{suffix}.{fmt}"

        commands = {"pdf": report("pdf"), "html": report("html")}
        accept = {fmt: (lambda f: lambda s, i: s.exit_status == 0 and produced(f, i).is_file())(fmt)
                  for fmt in commands}
        peer = shutil.which(CHROMIUM)
        if peer:
            printed = base / "print-layout.html"
            printed.write_text(render_html(build_view(run), args.lang, full=False), encoding="utf-8")
            commands["chromium"] = lambda index: [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={base}/profile-{index}",
                                                  f"--print-to-pdf={base}/chromium-{index}.pdf", printed.as_uri()]
            accept["chromium"] = lambda s, i: s.exit_status == 0 and (base / f"chromium-{i}.pdf").is_file()
        samples = interleaved(commands, args.runs, accept)
        sizes = {"pdf": pages(produced("pdf", 0)), "html": 0}
        if peer:
            sizes["chromium"] = pages(base / "chromium-0.pdf")
        print(f"{args.targets} targets, {findings} findings (replayed from {args.host}), {args.runs} runs, "
              f"language {args.lang}")
        print(table([("command", "seconds min / median / max", "peak RSS MB (median)", "pages"),
                     *(_row(name, runs, sizes.get(name, 0)) for name, runs in samples.items())]))
        if not peer:
            print(f"peer: {CHROMIUM} is not installed (apt-get install chromium), so only auditor was timed")
        verdict = _verdict(samples["pdf"], sizes["pdf"], args.targets)
        print(verdict)


def _row(name: str, runs: Sequence[Sample], page_count: int) -> tuple[str, ...]:
    label = {"pdf": "auditor report --format pdf", "html": "auditor report --format html",
             "chromium": "chromium --print-to-pdf (same print HTML)"}[name]
    return (label, spread([s.seconds for s in runs], "{:.2f}"),
            f"{statistics.median(s.peak_rss_mb for s in runs):.0f}", str(page_count) if page_count else "-")


def _verdict(runs: Sequence[Sample], page_count: int, targets: int) -> str:
    seconds = statistics.median(s.seconds for s in runs)
    peak = max(s.peak_rss_mb for s in runs)
    limit = 40 if targets >= 200 else 15 if targets > 1 else 8
    return (f"PDF: {page_count} pages (limit {limit}), {seconds:.2f} s median (limit 30 s, goal 8 s), "
            f"{peak:.0f} MB peak (limit 1024 MB): "
            + ("met" if page_count <= limit and seconds < 30 and peak < 1024 else "NOT met"))


if __name__ == "__main__":
    main()
