"""Benchmark: `auditor scan` of an SSH fleet beside `ansible all -m setup` over the same targets, interleaved.

    .venv/bin/python bench/ssh_fleet.py [--targets 30] [--servers 4] [--workers 32] [--runs 3]

Run as root on Debian 12 (sshd from openssh-server). Every target is an account on one of --servers local
sshd instances on 127.0.0.1 (on free ports), so the fleet is real SSH: key exchange, login,
commands. ansible-core is installed from PyPI into /tmp/auditor-bench-venv, never into the project's venv.

The targets look like a fresh Debian server, not like this machine: each sshd runs in a private mount
namespace where root's home holds only Debian's .bashrc and .profile (bash reads ~/.bashrc for every SSH
command, and this machine's runs `pyenv init`) and apt's package cache is allowed (Docker's docker-clean is
hidden), and in a PID namespace of its own, so its targets' `ps` and /proc show one sshd, as a real server's
do, not every instance of the fleet (they still share the network, so `ss` lists the other listeners, without
their processes); what `make test` installed for its own database tests (MariaDB, PostgreSQL: TEST_ONLY) is
hidden from them, as it is absent from a fresh server, so the figures do not depend on whether this machine ran
the test suite; this machine itself is left as it was. Prints min/median/max wall time and scanner-side CPU of both
tools, and the median of pairwise ratios. A run where auditor did not assess every target, or ansible did not
gather every host, stops the benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import auditor_script, spread, table  # noqa: E402 - the project root is on the path only now
from tests.sshd_server import HARDENED, SshdServer, keygen  # noqa: E402

PEERS = Path("/tmp/auditor-bench-venv")
DOCKER_CLEAN = Path("/etc/apt/apt.conf.d/docker-clean")
BASE_FILES = Path("/usr/share/base-files")  # dot.bashrc and dot.profile: root's files on a fresh Debian


# What `make test` installs for its own database tests (tests/db_servers.py) and a fresh Debian server does not
# have: the targets must not depend on whether this machine ran the test suite before.
TEST_ONLY = ("/etc/mysql", "/etc/postgresql", "/etc/postgresql-common", "/var/lib/mysql", "/var/lib/postgresql",
             "/usr/lib/postgresql", "/usr/sbin/mariadbd", "/usr/sbin/mysqld", "/usr/bin/pg_lsclusters")


def stock_launcher(scratch: Path) -> list[str]:
    """sshd in private mount and PID namespaces: a fresh Debian server, with one sshd, to what it runs.

    `scratch`: a folder of this sshd's own, for the overlays that hide TEST_ONLY (a whiteout each, so a path
    reads as absent, as on a fresh server, not as an empty folder)."""
    mounts = ["mount -t tmpfs -o size=64m,mode=0700 tmpfs /root",
              f"cp {BASE_FILES}/dot.bashrc /root/.bashrc", f"cp {BASE_FILES}/dot.profile /root/.profile"]
    if DOCKER_CLEAN.exists():
        mounts += [f"mount --bind /dev/null {DOCKER_CLEAN}", "mount -t tmpfs -o size=256m tmpfs /var/cache/apt"]
    present = sorted(Path(p) for p in TEST_ONLY if os.path.lexists(p))
    for parent in sorted({p.parent for p in present}):
        upper, work = scratch / "hide" / parent.relative_to("/"), scratch / "work" / parent.relative_to("/")
        upper.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        mounts += [f"mknod {upper / p.name} c 0 0" for p in present if p.parent == parent]
        mounts.append(f"mount -t overlay overlay -o lowerdir={parent},upperdir={upper},workdir={work} {parent}")
    return ["unshare", "--mount", "--pid", "--fork", "--mount-proc", "--propagation", "private", "--", "sh", "-c",
            " && ".join([*mounts, 'exec "$@"']), "stock"]


def ansible() -> Path:
    """ansible, installed once into a scratch venv of its own."""
    binary = PEERS / "bin" / "ansible"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        subprocess.run([str(PEERS / "bin" / "pip"), "install", "-q", "ansible-core"], check=True)
    return binary


def timed(argv: Sequence[str], env: dict[str, str] | None = None,
          ) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """(wall seconds, CPU seconds of the scanning side: the command and its children, not the targets' sshd)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(list(argv), capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.perf_counter() - started, cpu, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=30, help="SSH targets in the fleet (default 30)")
    parser.add_argument("--servers", type=int, default=4, help="local sshd instances they are spread over")
    parser.add_argument("--workers", type=int, default=32, help="targets at once, for both tools (default 32)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each tool, interleaved (default 3)")
    args = parser.parse_args()
    if shutil.which("unshare") is None or os.geteuid() != 0:
        raise SystemExit("bench: run as root on Debian 12 (unshare and mount make the targets look stock)")
    auditor, ansible_bin = auditor_script(), ansible()
    work = Path(tempfile.mkdtemp(prefix="auditor-bench-ssh-"))
    work.chmod(0o755)
    key = keygen(work / "client")
    servers = [SshdServer(work / f"sshd{i}", HARDENED, key, extra="MaxStartups 400:30:800\n",
                          launcher=stock_launcher(work / f"stock{i}")) for i in range(args.servers)]
    try:
        for server in servers:
            server.start()
        inventory = work / "fleet.yaml"
        inventory.write_text("targets:\n" + "".join(servers[i % len(servers)].inventory_entry(f"t{i:03d}", key)
                                                    for i in range(args.targets)))
        known = work / "known_hosts"
        known.write_text("".join(s.known_hosts.read_text() for s in servers))
        hosts = work / "hosts.ini"
        hosts.write_text("[fleet]\n" + "".join(
            f"t{i:03d} ansible_host=127.0.0.1 ansible_port={servers[i % len(servers)].port}\n"
            for i in range(args.targets))
            + f"[fleet:vars]\nansible_ssh_private_key_file={key}\nansible_python_interpreter=/usr/bin/python3\n"
            f"ansible_ssh_common_args='-o UserKnownHostsFile={known}'\n")
        ours: list[tuple[float, float]] = []
        theirs: list[tuple[float, float]] = []
        env = {"XDG_DATA_HOME": str(work / "data"), "XDG_CONFIG_HOME": str(work / "config")}
        for run in range(-1, args.runs):  # one untimed warm-up round
            out = work / f"run{run}"
            wall, cpu, done = timed([auditor, "scan", "--inventory", str(inventory), "--out", str(out), "--quiet",
                                     "--format", "none", "--no-history", "--workers", str(args.workers)], env)
            results = json.loads((out / "results.json").read_text()) if (out / "results.json").is_file() else {}
            assessed = sum(1 for t in results.get("targets", []) if t["assessed"])
            if assessed != args.targets:
                raise SystemExit(f"bench: auditor assessed {assessed} of {args.targets} targets (exit "
                                 f"{done.returncode}): {done.stderr.strip()[-300:]}")
            # A control folder per run: ansible keeps its connections open 60 s after a run (ControlPersist), and
            # each run here logs in as a scheduled run does, not on the last run's connections (measured on
            # 2026-12-03: reusing them made no difference, 1.22x against 1.17x cold).
            their_wall, their_cpu, gathered = timed(
                [str(ansible_bin), "all", "-i", str(hosts), "-m", "setup", "-f", str(args.workers)],
                {"ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_SSH_CONTROL_PATH_DIR": str(work / f"cp{run}")})
            if gathered.stdout.count("SUCCESS") != args.targets:
                raise SystemExit(f"bench: ansible gathered {gathered.stdout.count('SUCCESS')} of {args.targets} "
                                 f"hosts: {gathered.stdout.strip()[-300:]}")
            if run >= 0:
                ours.append((wall, cpu))
                theirs.append((their_wall, their_cpu))
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.targets} SSH targets on {args.servers} sshd, {args.workers} at once, {args.runs} interleaved runs "
          "(min / median / max)")
    print(table([("tool", "wall s", "scanning-side CPU s", "CPU per target s"),
                 ("auditor scan", spread([w for w, _ in ours]), spread([c for _, c in ours]),
                  f"{statistics.median(c for _, c in ours) / args.targets:.3f}"),
                 ("ansible all -m setup", spread([w for w, _ in theirs]), spread([c for _, c in theirs]),
                  f"{statistics.median(c for _, c in theirs) / args.targets:.3f}")]))
    speedup = statistics.median(t[0] / o[0] for o, t in zip(ours, theirs, strict=True))
    print(f"\nansible / auditor wall time, median of pairwise ratios: {speedup:.2f}x (goal >= 2x)")


if __name__ == "__main__":
    main()
