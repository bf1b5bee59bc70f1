"""Benchmark: `auditor scan` of N TLS endpoints beside the sslyze CLI (same scan commands), interleaved.

Both tools scan the same endpoints in the same run, turn about; then auditor scans one closed port, timed by CPU.

    .venv/bin/python bench/tls_scan.py [--targets 5] [--runs 7]
    .venv/bin/python bench/tls_scan.py --ports 443,8443 [--host 127.0.0.1] [--server-name NAME] [--ca-file PEM]

By default the endpoints are --targets HTTPS servers of one nginx on 127.0.0.1 (tests/tls_servers.py: TLS 1.2
and 1.3, AES-256-GCM, HSTS, each with a plain port that redirects to HTTPS); with --ports, servers already
running there. auditor runs installed, as a user runs it (`.venv/bin/auditor scan --format none`: the scan and
its evidence, no report), with the default profile; sslyze runs as `sslyze --json_out` (its evidence) with the
scan commands that profile's checks ask for, derived from auditor's TLS collectors, so both do the same scans.
Prints min/median/max of wall time and CPU (user+sys of the command and the children it waited for), the
median of pairwise ratios, and the closed-port run's own CPU. A run that failed (auditor did not assess every
endpoint, or an error; sslyze exited non-zero) stops the benchmark with its command.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Sample, auditor_script, exits, interleaved, ratios, spread, table  # noqa: E402
from tests.tls_servers import SERVER_NAME, Endpoint, nginx_fleet  # noqa: E402

TARGET_RATIO = 1.0  # auditor's wall time over sslyze's, at most
TARGET_CLOSED_CPU = 0.3  # seconds of auditor's own CPU for a run over one closed port, at most
# The TLS collectors of the default profile: each lists the sslyze scan commands its checks read.
COLLECTORS = ("tls", "tls_certificate", "tls_vulnerabilities", "tls_http")


def scan_commands() -> list[str]:
    """The sslyze scan commands auditor asks for an HTTPS endpoint under the default profile."""
    import importlib

    return [name for module in COLLECTORS for name in importlib.import_module(f"auditor.collectors.{module}")
            .SCAN_COMMANDS]


def sslyze_flags(commands: list[str]) -> list[str]:
    """The sslyze CLI's option for each scan command (naming any turns its defaults off)."""
    from sslyze.plugins.scan_commands import ScanCommand, ScanCommandsRepository

    return [f"--{ScanCommandsRepository.get_implementation_cls(ScanCommand(c)).cli_connector_cls._cli_option}"
            for c in commands]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=5, help="HTTPS endpoints to start and scan (default 5)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each tool, interleaved (default 7)")
    parser.add_argument("--ports", default="", help="scan these ports of --host instead (comma-separated)")
    parser.add_argument("--host", default="127.0.0.1", help="with --ports: the servers' address")
    parser.add_argument("--server-name", default=SERVER_NAME, help="with --ports: the SNI name")
    parser.add_argument("--ca-file", default="", help="with --ports: the CA the certificates chain to")
    args = parser.parse_args()
    if args.runs < 1 or args.targets < 1:
        parser.error("--runs and --targets must be at least 1")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if args.ports:
            try:
                ports = [int(p) for p in args.ports.split(",")]
            except ValueError:
                parser.error(f"--ports: comma-separated port numbers, got {args.ports!r}")
            endpoints = [Endpoint(f"ep{p}", p, args.host, args.server_name, ca_file=args.ca_file) for p in ports]
            run(endpoints, folder, args.runs, args.ca_file)
            return
        lab = nginx_fleet(folder, args.targets)
        try:
            run(list(lab.endpoints.values()), folder, args.runs, str(lab.ca_file))
        finally:
            lab.close()


def run(endpoints: list[Endpoint], folder: Path, runs: int, ca_file: str) -> None:
    inventory = folder / "inventory.yaml"
    inventory.write_text("targets:\n" + "".join(e.inventory_entry() for e in endpoints), encoding="utf-8")
    auditor = [auditor_script(), "scan", "--quiet", "--format", "none", "--workers", str(max(8, len(endpoints))),
               "--inventory", str(inventory)]
    sslyze = [str(Path(sys.executable).with_name("sslyze")), "--quiet", *sslyze_flags(scan_commands()),
              *(["--certinfo_ca_file", ca_file] if ca_file else []),
              *(f"{e.server_name}:{e.port}{{{e.host}}}" for e in endpoints)]
    samples = interleaved(
        {"auditor": lambda i: [*auditor, "--out", str(folder / f"a{i}")],
         "sslyze": lambda i: [*sslyze, "--json_out", str(folder / f"s{i}.json")]},
        runs, {"auditor": exits(0, 1), "sslyze": exits(0)})  # 0/1: every endpoint assessed, no error
    closed = _closed_port_runs(folder, runs)
    wall = ratios(samples["auditor"], samples["sslyze"])
    rows = [("run", "endpoints", "runs", "wall s min/median/max", "CPU s min/median/max")]
    for name, label in (("auditor", "auditor scan --format none"), ("sslyze", "sslyze --json_out, same commands")):
        rows.append((label, str(len(endpoints)), str(runs), spread([s.seconds for s in samples[name]]),
                     spread([s.cpu_seconds for s in samples[name]])))
    rows.append(("auditor scan, one closed port", "1", str(runs), spread([s.seconds for s in closed]),
                 spread([s.cpu_seconds for s in closed])))
    print(table(rows))
    ratio = statistics.median(wall)
    cpu = statistics.median(s.cpu_seconds for s in closed)
    print(f"\nscan commands: {' '.join(sslyze_flags(scan_commands()))}")
    print(f"auditor / sslyze wall time, median of pairwise ratios: {ratio:.2f}x "
          f"(target <= {TARGET_RATIO:.1f}x: {'met' if ratio <= TARGET_RATIO else 'NOT met'})")
    print(f"one closed port: {cpu:.3f} s of auditor's own CPU "
          f"(target < {TARGET_CLOSED_CPU} s: {'met' if cpu < TARGET_CLOSED_CPU else 'NOT met'})")


def _closed_port_runs(folder: Path, runs: int) -> list[Sample]:
    """`runs` scans of one port that refuses connections; the target must come back not assessed (exit 3)."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: a connect is refused
        inventory = folder / "closed.yaml"
        inventory.write_text("targets:\n" + Endpoint("closed", closed.getsockname()[1]).inventory_entry(),
                             encoding="utf-8")
        command = [auditor_script(), "scan", "--quiet", "--format", "none", "--inventory", str(inventory)]
        return interleaved({"closed": lambda i: [*command, "--out", str(folder / f"c{i}")]}, runs,
                           {"closed": exits(3)})["closed"]


if __name__ == "__main__":
    main()
