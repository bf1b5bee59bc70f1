"""Benchmark: `auditor scan` of this machine beside OpenSCAP's standard profile (and, optionally, Lynis), in
the same run, interleaved.

    .venv/bin/python bench/local_scan.py [--runs 5] [--lynis-runs 0]

Timed, each run in turn: `auditor scan --format none` (the scan and its signed-able evidence), `auditor scan`
with the default HTML and PDF report, and `oscap xccdf eval` of the SCAP Security Guide's standard profile,
without and with its HTML report (`--report`, the peer of the scan with its report).

The peer must evaluate its rules. Debian's ssg-debian ships content up to Debian 11; on a newer Debian each
rule's platform check (/etc/debian_version matching `^11.`) fails, and oscap only marks every rule "not
applicable", which is not an audit. So, when this machine is newer than the newest data stream, oscap runs in
a private mount namespace (as root) where /etc/debian_version reads as that release: its rules are then
evaluated against this machine as on a Debian 11 host (this machine's files are not changed; the namespace
and the bind mount cost it a few milliseconds). A run whose results hold no evaluated rule stops the
benchmark. For comparison, oscap is also timed as shipped (every rule not applicable: a lower bound of its
cost). Lynis (`lynis audit system --quick`) is slow (tens of seconds) and optional; its profile here sets
`skip-upgrade-test=yes` so it does not look for a newer Lynis on the network. Prints min/median/max of wall
time, CPU and peak RSS, and the pairwise ratio of medians. A run that did not finish (no signed-able run
folder, oscap's exit status other than 0 or 2) stops the benchmark.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    Sample,
    auditor_script,
    ensure_debian_package,
    exits,
    install_package,
    interleaved,
    ratios,
    spread,
    table,
)

SSG = Path("/usr/share/xml/scap/ssg/content")
STANDARD = "xccdf_org.ssgproject.content_profile_standard"


def _data_stream() -> Path:
    """The newest Debian data stream SSG ships."""
    streams = sorted(SSG.glob("ssg-debian*-ds.xml"), key=_release)
    if not streams:
        raise SystemExit("bench: no SCAP Security Guide content in /usr/share/xml/scap/ssg/content "
                         "(apt-get install ssg-debian)")
    return streams[-1]


def _release(stream: Path) -> int:
    return int("".join(c for c in stream.name if c.isdigit()))


def _as_release(release: int, scratch: Path) -> list[str]:
    """A prefix that runs a command where /etc/debian_version reads as `release` (a private mount namespace),
    when this machine is a newer Debian than the content; else nothing."""
    version = Path("/etc/debian_version")
    here = version.read_text().strip() if version.is_file() else ""
    if not here.split(".")[0].isdigit() or int(here.split(".")[0]) <= release:
        return []
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        raise SystemExit(f"bench: this is Debian {here} and SSG's newest content is Debian {release}: run as root, "
                         "so oscap can evaluate that content's rules here (it otherwise finds none applicable)")
    stand_in = scratch / "debian_version"
    stand_in.write_text(f"{release}.11\n")
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
            'mount --bind "$0" /etc/debian_version && exec "$@"', str(stand_in)]


def _evaluated(results: Path) -> bool:
    """oscap's results name at least one rule it evaluated (passed or failed), not only "notapplicable"."""
    text = results.read_text(errors="replace") if results.is_file() else ""
    return re.search(r"<(?:\w+:)?result>(?:pass|fail)</(?:\w+:)?result>", text) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command (default 5)")
    parser.add_argument("--lynis-runs", type=int, default=0, help="timed Lynis runs after the others (default 0)")
    args = parser.parse_args()
    if not ensure_debian_package("oscap", "openscap-scanner"):
        raise SystemExit("bench: OpenSCAP is the peer: apt-get install openscap-scanner ssg-debian")
    if not any(SSG.glob("ssg-debian*-ds.xml")):
        install_package("ssg-debian")
    auditor, stream = auditor_script(), _data_stream()

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        os.environ["XDG_DATA_HOME"] = str(root / "data")  # the runs' audit trail and history stay out of the user's
        os.environ["XDG_CONFIG_HOME"] = str(root / "config")  # no signing key: the runs are unsigned

        def scan(kind: str, *extra: str) -> Callable[[int], list[str]]:
            return lambda i: [auditor, "scan", "--quiet", "--no-history", *extra, "--out", str(root / f"{kind}{i}")]

        def finished(kind: str) -> Callable[[Sample, int], bool]:
            # A scan that wrote its run manifest ran to the end; its exit status says what it found (0, 1 or 3).
            return lambda sample, i: (sample.exit_status in (0, 1, 3)
                                      and (root / f"{kind}{i}" / "manifest.json").is_file())

        release = _release(stream)
        prefix = _as_release(release, root)
        oscap = ["oscap", "xccdf", "eval", "--profile", STANDARD]
        evaluated = f"oscap xccdf eval {stream.name} standard"
        with_report = f"{evaluated} --report"
        as_shipped = f"{evaluated}, as shipped (no rule applicable here)"

        def oscap_ran(kind: str) -> Callable[[Sample, int], bool]:
            # 0: every rule passed, 2: some failed; and the results must show rules evaluated, not skipped.
            return lambda sample, i: sample.exit_status in (0, 2) and _evaluated(root / f"{kind}{i}.xml")

        commands = {
            "auditor scan --format none": scan("none", "--format", "none"),
            "auditor scan (HTML + PDF)": scan("report"),
            evaluated: lambda i: [*prefix, *oscap, "--results", str(root / f"oscap{i}.xml"), str(stream)],
            # The peer of the scan with its report: oscap writing its own HTML report too.
            with_report: lambda i: [*prefix, *oscap, "--results", str(root / f"oscapr{i}.xml"),
                                    "--report", str(root / f"oscapr{i}.html"), str(stream)],
        }
        accept = {"auditor scan --format none": finished("none"), "auditor scan (HTML + PDF)": finished("report"),
                  evaluated: oscap_ran("oscap"), with_report: oscap_ran("oscapr")}
        if prefix:
            commands[as_shipped] = lambda i: [*oscap, "--results", str(root / f"shipped{i}.xml"), str(stream)]
            accept[as_shipped] = exits(0, 2)
        samples = interleaved(commands, args.runs, accept)
        if args.lynis_runs and ensure_debian_package("lynis", "lynis"):
            (root / "lynis.prf").write_text("skip-upgrade-test=yes\n")
            lynis = {"lynis audit system --quick": lambda i: [
                "lynis", "audit", "system", "--quick", "--no-colors", "--quiet", "--profile", str(root / "lynis.prf"),
                "--logfile", str(root / "lynis.log"), "--report-file", str(root / "lynis.dat")]}
            samples |= interleaved(lynis, args.lynis_runs, {"lynis audit system --quick": exits(0, 1)})

    print(f"{args.runs} interleaved runs each (min / median / max)")
    rows = [("command", "wall s", "CPU s", "peak RSS MB")]
    for name, runs in samples.items():
        rows.append((name, spread([s.seconds for s in runs]), spread([s.cpu_seconds for s in runs]),
                     spread([s.peak_rss_mb for s in runs], "{:.0f}")))
    print(table(rows))
    none, report, oscap, oscap_report = (samples[name] for name in list(commands)[:4])
    print(f"\nauditor --format none / oscap (rules evaluated{' as Debian ' + str(release) if prefix else ''}): "
          f"median of pairwise wall ratios {statistics.median(ratios(none, oscap)):.2f}x (goal <= 0.30x; beside oscap "
          f"with its HTML report {statistics.median(ratios(none, oscap_report)):.2f}x"
          + (f"; beside oscap as shipped {statistics.median(ratios(none, samples[as_shipped])):.2f}x" if prefix else "")
          + f"); median wall {statistics.median(s.seconds for s in none):.3f} s (goal <= 0.6 s); with HTML + PDF "
          f"{statistics.median(s.seconds for s in report):.3f} s (goal <= 2.5 s), "
          f"{statistics.median(ratios(report, oscap_report)):.2f}x oscap with its HTML report")

if __name__ == "__main__":
    main()
