"""Benchmark: `auditor scan` of hostile SSH targets (a fake batch runner behind a real sshd ForceCommand).

    .venv/bin/python bench/hostile.py [--runs 3] [--modes flood,many-files]

Each mode is one target whose sshd ForceCommand is tests/adversarial/hostile_runner.py: `flood` answers every
command with 8 MiB of bytes that are not UTF-8, `many-files` lists 300 files of 8 MiB for every `find`. The
installed `auditor` scans it at the default limits (docs/targets.md, "Limits per target"); printed: wall time
and peak RSS, min / median / max, and the evidence written. A run that wrote no results.json, or whose peak RSS
is 300 MB or more, fails the benchmark.

Peer: no scanner takes these attacks the same way. Beside each round, when ansible is installed in
/tmp/auditor-bench-venv (bench/ssh_fleet.py installs it), `ansible -m command` reads ONE 8 MiB answer of the
same bytes from a plain sshd on this machine: what one flooded answer costs a tool that holds it whole.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Sample, auditor_script, measure, spread, table
from tests.sshd_server import HARDENED, SshdServer, keygen

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests" / "adversarial" / "hostile_runner.py"
ANSIBLE = Path("/tmp/auditor-bench-venv/bin/ansible")
PEAK_RSS_MB = 300
FLOOD_BYTES = 8 * 1024 * 1024 + 1


def evidence_mib(run: Path) -> float:
    return sum(p.stat().st_size for p in (run / "evidence").rglob("*") if p.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per mode, after one warm-up (default 3)")
    parser.add_argument("--modes", default="flood,many-files", help="hostile modes (default flood,many-files)")
    args = parser.parse_args()
    auditor = auditor_script()
    work = Path(tempfile.mkdtemp(prefix="auditor-bench-hostile-"))
    work.chmod(0o755)
    key = keygen(work / "client")
    servers: list[SshdServer] = []
    try:
        modes = [m for m in args.modes.split(",") if m]
        inventories = {}
        for mode in modes:
            server = SshdServer(work / mode, HARDENED, key,
                                extra=f"ForceCommand /usr/bin/python3 {HOSTILE} {mode}\n").start()
            servers.append(server)
            inventories[mode] = work / f"{mode}.yaml"
            inventories[mode].write_text("targets:\n" + server.inventory_entry("evil", key, total_timeout=120))
        plain = SshdServer(work / "plain", HARDENED, key).start()
        servers.append(plain)
        flood_file = work / "flood.bin"
        flood_file.write_bytes((bytes(range(256)) * (FLOOD_BYTES // 256 + 1))[:FLOOD_BYTES])
        hosts = work / "hosts.ini"
        hosts.write_text(f"[t]\nplain ansible_host=127.0.0.1 ansible_port={plain.port}\n[t:vars]\n"
                         f"ansible_ssh_private_key_file={key}\nansible_python_interpreter=/usr/bin/python3\n"
                         f"ansible_ssh_common_args='-o UserKnownHostsFile={plain.known_hosts}'\n")
        ours: dict[str, list[Sample]] = {m: [] for m in modes}
        evidence: dict[str, list[float]] = {m: [] for m in modes}
        theirs: list[Sample] = []
        for index in range(-1, args.runs):  # one untimed warm-up round
            for mode in modes:
                out = work / f"{mode}-run{index}"
                sample = measure([auditor, "scan", "--inventory", str(inventories[mode]), "--out", str(out),
                                  "--format", "none", "--quiet", "--no-history"])
                if not (out / "results.json").is_file() or sample.peak_rss_mb >= PEAK_RSS_MB:
                    raise SystemExit(f"bench: `auditor scan` of the {mode} target failed (exit {sample.exit_status}, "
                                     f"peak {sample.peak_rss_mb:.0f} MB)")
                if index >= 0:
                    ours[mode].append(sample)
                    evidence[mode].append(evidence_mib(out))
                shutil.rmtree(out, ignore_errors=True)
            if ANSIBLE.exists():
                sample = measure([str(ANSIBLE), "all", "-i", str(hosts), "-m", "command", "-a",
                                  f"head -c {FLOOD_BYTES} {flood_file}"],
                                 env={**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "False",
                                      # else it refuses the answer: the bytes are not UTF-8
                                      "ANSIBLE_MODULE_STRICT_UTF8_RESPONSE": "False"})
                if sample.exit_status != 0:
                    raise SystemExit(f"bench: `ansible -m command` failed (exit {sample.exit_status})")
                if index >= 0:
                    theirs.append(sample)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    rows = [("tool / target", "wall s (min / median / max)", "peak RSS MB (min / median / max)", "evidence MiB")]
    for mode in modes:
        rows.append((f"auditor scan: {mode}", spread([s.seconds for s in ours[mode]]),
                     spread([s.peak_rss_mb for s in ours[mode]], "{:.0f}"),
                     f"{statistics.median(evidence[mode]):.1f}"))
    if theirs:
        rows.append(("ansible -m command: one 8 MiB answer", spread([s.seconds for s in theirs]),
                     spread([s.peak_rss_mb for s in theirs], "{:.0f}"), "-"))
    print(table(rows))
    if not theirs:
        print(f"\npeer: none (no ansible at {ANSIBLE}; bench/ssh_fleet.py installs it)")


if __name__ == "__main__":
    main()
