"""Benchmark: `auditor scan` of the local TLS endpoints beside `python -m sslyze` and testssl.sh, in the same run.

The endpoints are the test lab of tests/tls_servers.py (openssl s_server and small Python servers on 127.0.0.1).
Prints median wall time and peak RSS of each tool, and the ratios; then what the silent listener adds to a run
(it must add no more than its connect budget). Not a test: read medians and ratios, not single numbers.

    .venv/bin/python bench/tls_scan.py [--runs 5] [--testssl-runs 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import Sample, ensure_debian_package, measure, median, table

from tests.tls_servers import SERVER_NAME, Lab, start_lab

ROOT = Path(__file__).resolve().parent.parent

# The endpoints that speak TLS (the error cases are timed separately: sslyze needs a minute on a silent port).
SCANNED = ("modern", "legacy", "aes128", "expired", "wrong_host", "hsts", "smtp")
SSLYZE_COMMANDS = ("--certinfo", "--sslv2", "--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3",
                   "--compression", "--openssl_ccs", "--fallback", "--heartbleed", "--robot", "--reneg",
                   "--elliptic_curves", "--ems", "--http_headers")  # the same set as auditor's SCAN_COMMANDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--testssl-runs", type=int, default=1)
    parser.add_argument("--testssl-endpoints", type=int, default=0,
                        help="testssl.sh on only the first N endpoints (it takes minutes each); 0 = all")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        lab = start_lab(Path(scratch))
        try:
            run(lab, Path(scratch), args.runs, args.testssl_runs, args.testssl_endpoints)
        finally:
            lab.close()


def run(lab: Lab, scratch: Path, runs: int, testssl_runs: int, testssl_endpoints: int = 0) -> None:
    endpoints = lab.endpoints
    inventory = scratch / "inventory.yaml"
    inventory.write_text(lab.inventory(*SCANNED), encoding="utf-8")
    with_silent = scratch / "with-silent.yaml"
    with_silent.write_text(lab.inventory(*SCANNED, "silent"), encoding="utf-8")
    # No report rendering (sslyze renders none either): the scan and its evidence folder only.
    auditor = [sys.executable, "-m", "auditor", "scan", "--quiet", "--format", "none", "--inventory"]
    plain = [f"{SERVER_NAME}:{endpoints[n].port}{{127.0.0.1}}" for n in SCANNED if not endpoints[n].starttls]
    smtp = [f"{SERVER_NAME}:{endpoints[n].port}{{127.0.0.1}}" for n in SCANNED if endpoints[n].starttls]
    # Naming one scan command turns sslyze's defaults off, so name every command auditor runs.
    sslyze_base = [sys.executable, "-m", "sslyze", "--quiet", *SSLYZE_COMMANDS, "--certinfo_ca_file",
                   str(lab.ca_file)]

    auditor_runs, sslyze_runs, silent_runs = [], [], []
    for index in range(runs):  # interleaved, so that both tools see the same machine load
        auditor_runs.append(measure([*auditor, str(inventory), "--out", str(scratch / f"a{index}")], cwd=ROOT))
        sslyze_runs.append(_sslyze_pair(sslyze_base, plain, smtp))
        silent_runs.append(measure([*auditor, str(with_silent), "--out", str(scratch / f"s{index}")], cwd=ROOT))
    a_time, a_rss = median(auditor_runs)
    s_time, s_rss = median(sslyze_runs)
    w_time, _ = median(silent_runs)
    rows = [("tool", "endpoints", "runs", "median wall s", "median peak RSS MB"),
            ("auditor scan", str(len(SCANNED)), str(runs), f"{a_time:.2f}", f"{a_rss:.1f}"),
            ("python -m sslyze (same scan commands)", str(len(SCANNED)), str(runs), f"{s_time:.2f}", f"{s_rss:.1f}"),
            ("auditor scan + silent listener", str(len(SCANNED) + 1), str(runs), f"{w_time:.2f}", "")]
    testssl_time = None
    if testssl_runs and ensure_debian_package("testssl", "testssl.sh"):
        per_endpoint = []
        for _ in range(testssl_runs):
            total = 0.0
            chosen = SCANNED[:testssl_endpoints] if testssl_endpoints else SCANNED
            for name in chosen:  # testssl.sh scans one endpoint at a time
                endpoint = endpoints[name]
                argv = ["testssl", "--quiet", "--color", "0", "--warnings", "off", "--ip", "127.0.0.1"]
                if endpoint.starttls:
                    argv += ["--starttls", endpoint.starttls]
                total += measure([*argv, f"{SERVER_NAME}:{endpoint.port}"]).seconds
            per_endpoint.append(total)
        testssl_time = statistics.median(per_endpoint)
        rows.append(("testssl.sh, one endpoint at a time", str(len(chosen)), str(testssl_runs),
                     f"{testssl_time:.2f}", ""))
    print(table(rows))
    ratio = a_time / s_time
    print(f"\nauditor / sslyze wall-time ratio: {ratio:.2f}x (target <= 1.2x: {'met' if ratio <= 1.2 else 'NOT met'})")
    if testssl_time is not None:
        # Per endpoint, so a run of testssl.sh on fewer endpoints still compares like with like.
        speedup = (testssl_time / len(chosen)) / (a_time / len(SCANNED))
        verdict = "met" if speedup >= 5 else "NOT met"
        print(f"testssl.sh / auditor per endpoint: {speedup:.1f}x (target >= 5x: {verdict})")
    added = w_time - a_time
    print(f"the silent listener added {added:.2f} s (budget 5 s: {'met' if added <= 5 else 'NOT met'})")


def _sslyze_pair(base: list[str], plain: list[str], smtp: list[str]) -> Sample:
    # The sslyze CLI takes one --starttls for all servers, so the SMTP endpoint is a second run in parallel.
    started = time.perf_counter()
    procs = [subprocess.Popen([*base, *plain], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    if smtp:
        mail = [a for a in base if a != "--http_headers"]  # auditor skips HTTP headers on STARTTLS too
        procs.append(subprocess.Popen([*mail, "--starttls", "smtp", *smtp], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
    peak = 0.0
    status = 0
    for proc in procs:
        _, wait_status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(wait_status)
        peak = max(peak, usage.ru_maxrss / 1024)
        status = status or proc.returncode
    return Sample(time.perf_counter() - started, peak, status)


if __name__ == "__main__":
    main()
