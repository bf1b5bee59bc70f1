"""Benchmark: SSH-0100 alone (`auditor scan --check SSH-0100`) beside `ssh-audit` on the same two sshd, interleaved.

    .venv/bin/python bench/ssh_wire.py [--runs 7] [--ports 2222,2223]

Starts two real OpenSSH servers on 127.0.0.1 (ports from --ports, else free ones), each with its own config:
a hardened one (tests/sshd_server.py HARDENED) and a weak one (SHA-1 key exchange only, an RSA-2048 host key
offered as ssh-rsa, CBC/3DES, hmac-sha1, passwords offered). Both tools read the same facts from the network
without logging in: banner and KEXINIT, each host key (one connection per key type; the first also brings the
KEXINIT). (Which authentication methods a "none" request is told is SSH-0110's, and not asked here.) auditor
scans both servers in one command; ssh-audit is timed
both ways it can be run: both servers in one command (`-T`), and once per server one after the other. Prints
min/median/max wall time of each and the ratio of auditor's median to the faster peer's, and, for reading the
figures, the start-up of the `auditor` command alone (`auditor --version`). A run in which auditor
did not fail the weak server and pass the hardened one, or in which ssh-audit did not read a server, stops the
benchmark. ssh-audit is Debian's package, installed when missing and the benchmark runs as root (as the other
benchmarks install their peers); otherwise it names the `apt-get install` line and stops.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Sample, auditor_script, ensure_debian_package, exits, interleaved, spread, table  # noqa: E402
from tests.sshd_server import HARDENED, SshdServer, keygen  # noqa: E402

WEAK = ("KexAlgorithms diffie-hellman-group14-sha1,diffie-hellman-group1-sha1\nCiphers aes128-cbc,3des-cbc\n"
        "MACs hmac-sha1\nHostKeyAlgorithms ssh-rsa\n")
# ssh-audit's exit statuses: 0 good, 1 warning or connection failure, 2 failure, 3 unknown; both servers
# here have failures, so 1 means it did not read one.
PEER_READ = exits(2, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each tool (after one warm-up)")
    parser.add_argument("--ports", default="", help="two ports for the hardened and weak sshd (default: free ones)")
    args = parser.parse_args()
    if not ensure_debian_package("ssh-audit", "ssh-audit"):
        raise SystemExit("bench: ssh-audit is not installed; run: sudo apt-get install ssh-audit")
    ports = [int(p) for p in args.ports.split(",")] if args.ports else []
    if ports and len(ports) != 2:
        raise SystemExit("bench: --ports takes two ports, e.g. --ports 2222,2223")
    with tempfile.TemporaryDirectory(prefix="auditor-bench-wire-") as scratch:
        root = Path(scratch)
        root.chmod(0o755)
        key = keygen(root / "client")
        servers = [SshdServer(root / "hardened", HARDENED, key),
                   SshdServer(root / "weak", WEAK, key, first="PasswordAuthentication yes\n",
                              host_keys=(("ed25519", 0), ("rsa", 2048)))]
        for server, port in zip(servers, ports, strict=False):  # the harness picked free ports: use these
            for path in (server.config, server.known_hosts):
                path.write_text(path.read_text().replace(f"Port {server.port}\n", f"Port {port}\n")
                                .replace(f"]:{server.port} ", f"]:{port} "))
            server.port = port
        try:
            for server in servers:
                server.start()
            run(root, key, servers, args.runs)
        finally:
            for server in servers:
                server.stop()


def run(root: Path, key: Path, servers: list[SshdServer], runs: int) -> None:
    hardened, weak = servers
    inventory = root / "inventory.yaml"
    inventory.write_text("targets:\n" + hardened.inventory_entry("hardened", key) + weak.inventory_entry("weak", key))
    targets = root / "targets.txt"
    targets.write_text(f"127.0.0.1:{hardened.port}\n127.0.0.1:{weak.port}\n")
    auditor = [auditor_script(), "scan", "--inventory", str(inventory), "--check", "SSH-0100", "--format", "none",
               "--quiet", "--no-history"]

    def auditor_run(index: int) -> list[str]:
        return [*auditor, "--out", str(root / f"run{index + 1}")]

    def auditor_judged(sample: Sample, index: int) -> bool:
        results = root / f"run{index + 1}" / "results.json"
        if sample.exit_status != 1 or not results.is_file():
            return False
        found = {f["target"]: f["status"] for f in json.loads(results.read_text())["findings"]}
        return found == {"hardened": "pass", "weak": "fail"}

    each = ["sh", "-c", f"ssh-audit -p {hardened.port} 127.0.0.1 >/dev/null; a=$?; "
            f"ssh-audit -p {weak.port} 127.0.0.1 >/dev/null; b=$?; [ $a -ge 2 ] && [ $b -ge 2 ] && exit 3; exit 1"]
    # `auditor --version` shows what of auditor's time is the command's start-up (imports), not the scan.
    samples = interleaved(
        {"auditor": auditor_run, "ssh-audit -T": lambda _: ["ssh-audit", "-T", str(targets)],
         "ssh-audit per server": lambda _: each, "auditor --version (start-up alone)": lambda _: [auditor[0],
                                                                                              "--version"]},
        runs, {"auditor": auditor_judged, "ssh-audit -T": PEER_READ, "ssh-audit per server": exits(3),
               "auditor --version (start-up alone)": exits(0)})
    medians = {name: statistics.median(s.seconds for s in runs_) for name, runs_ in samples.items()}
    peer = min(("ssh-audit -T", "ssh-audit per server"), key=medians.__getitem__)
    rows = [("tool (2 servers: hardened, weak)", "runs", "wall s min / median / max", "CPU s median")]
    rows += [(name, str(len(runs_)), spread([s.seconds for s in runs_]),
              f"{statistics.median(s.cpu_seconds for s in runs_):.3f}") for name, runs_ in samples.items()]
    print(table(rows))
    ratio = medians["auditor"] / medians[peer]
    print(f"\nauditor / {peer} (the faster peer), medians: {ratio:.2f}x (goal: at most 1.0x)")


if __name__ == "__main__":
    main()
