"""Fleet scanning over SSH: `auditor scan` of 100 targets vs `ansible all -m setup`, channels per target,
one target behind a 40 ms round trip, and SSH-0100 alone vs ssh-audit on a hardened and a weak server.

Run as root on Debian 12 (sshd from openssh-server): `.venv/bin/python bench/ssh_fleet.py`.
ansible-core and ssh-audit are installed from PyPI into /tmp/auditor-bench-venv, never into .venv.
Every server listens on 127.0.0.1 only.

Stock targets. This machine is a Docker image, unlike a server in ways that cost every SSH login:
- Docker's Debian images disable apt's package cache (/etc/apt/apt.conf.d/docker-clean), so each
  `apt list --upgradable` parses all package lists again;
- root's ~/.bashrc runs `pyenv init`, and bash reads it for every SSH command (0.12 s of CPU, and a lock
  that 32 parallel logins queue on);
- /root holds pyenv, cargo and npm trees that a `find` over home folders walks.
So both tools are timed twice over the same 100 targets: on servers that look like a fresh Debian server
(each sshd in its own mount namespace where docker-clean is hidden, /var/cache/apt is a tmpfs, and /root is
a tmpfs with Debian's .bashrc and .profile; this machine is left as it was), and on servers that see this
machine as it is. Run as root: the namespaces need it, and the targets are logged into as root.
"""

from __future__ import annotations

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

from bench.common import table  # noqa: E402
from tests.sshd_server import HARDENED, WEAK, SshdServer, free_port, keygen  # noqa: E402

PEERS = Path("/tmp/auditor-bench-venv")
SERVERS, TARGETS, WORKERS, REPEATS, LATENCY_RUNS = 4, 100, 32, 3, 7
DELAY_PROXY = Path("/work/shared/tools/delay_proxy.py")
DOCKER_CLEAN = Path("/etc/apt/apt.conf.d/docker-clean")
BASE_FILES = Path("/usr/share/base-files")  # dot.bashrc and dot.profile: root's files on a fresh Debian


def stock_launcher() -> list[str]:
    """sshd in a private mount namespace that looks like a fresh Debian server to what it runs: apt keeps
    its package cache, and root's home holds only Debian's .bashrc and .profile (bash reads ~/.bashrc for
    every SSH command; this machine's runs pyenv)."""
    mounts = ["mount -t tmpfs -o size=64m,mode=0700 tmpfs /root",
              f"cp {BASE_FILES}/dot.bashrc /root/.bashrc", f"cp {BASE_FILES}/dot.profile /root/.profile"]
    if DOCKER_CLEAN.exists():
        mounts += [f"mount --bind /dev/null {DOCKER_CLEAN}", "mount -t tmpfs -o size=256m tmpfs /var/cache/apt"]
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
            " && ".join([*mounts, 'exec "$@"']), "stock"]


def peers() -> Path:
    if not (PEERS / "bin" / "ansible").exists() or not (PEERS / "bin" / "ssh-audit").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        subprocess.run([str(PEERS / "bin" / "pip"), "install", "-q", "ansible-core", "ssh-audit"], check=True)
    return PEERS / "bin"


def busy_cpu_seconds() -> float:
    """CPU time spent by the whole machine so far (all processes, both cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait


def own_cpu_seconds() -> float:
    """CPU time of this process's finished children and theirs: the scanning side (not the targets' sshd)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: Sequence[str], env: dict[str, str] | None = None,
          ) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """(wall seconds, machine CPU seconds, the finished process)."""
    cpu, started = busy_cpu_seconds(), time.perf_counter()
    done = subprocess.run(list(argv), capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False)
    return time.perf_counter() - started, busy_cpu_seconds() - cpu, done


def scan(inventory: Path, out: Path, *extra: str) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    return timed([sys.executable, "-m", "auditor", "scan", "--inventory", str(inventory), "--out", str(out),
                  "--quiet", "--format", "none", "--workers", str(WORKERS), *extra])


def median_scan(inventory: Path, out: Path, *extra: str) -> float:
    return statistics.median(scan(inventory, out.with_name(f"{out.name}-{n}"), *extra)[0] for n in range(REPEATS))


def fleet_inventory(path: Path, servers: Sequence[SshdServer], key: Path) -> Path:
    path.write_text("targets:\n" + "".join(servers[i % len(servers)].inventory_entry(f"t{i:03d}", key)
                                           for i in range(TARGETS)))
    return path


def warm_apt(servers: Sequence[SshdServer], key: Path, work: Path) -> None:
    """Build each namespace's package cache once, as apt-daily has done on a real server."""
    from auditor.inventory import load_inventory
    from auditor.transports.base import cmd
    from auditor.transports.ssh import SshTransport

    for n, server in enumerate(servers):
        (target,) = load_inventory(fleet_inventory_one(work / f"warm{n}.yaml", server, key))
        transport = SshTransport(target)
        try:
            transport.run(cmd("apt-cache", "stats", timeout=60))
        finally:
            transport.close()


def fleet_inventory_one(path: Path, server: SshdServer, key: Path, **extra: object) -> Path:
    path.write_text("targets:\n" + server.inventory_entry(path.stem, key, **extra))
    return path


def ansible_fact_gathering(bin_dir: Path, servers: Sequence[SshdServer], key: Path,
                           work: Path) -> tuple[float, float, int]:
    """`ansible all -m setup` over the same 100 targets: (wall seconds, machine CPU seconds, hosts ok)."""
    known = work / f"known_hosts-{servers[0].port}"
    known.write_text("".join(s.known_hosts.read_text() for s in servers))
    ini = work / f"hosts-{servers[0].port}.ini"
    ini.write_text("[fleet]\n" + "".join(
        f"t{i:03d} ansible_host=127.0.0.1 ansible_port={servers[i % len(servers)].port}\n" for i in range(TARGETS))
        + f"[fleet:vars]\nansible_ssh_private_key_file={key}\nansible_python_interpreter=/usr/bin/python3\n"
        f"ansible_ssh_common_args='-o UserKnownHostsFile={known}'\n")
    seconds, cpu, done = timed([str(bin_dir / "ansible"), "all", "-i", str(ini), "-m", "setup", "-f", str(WORKERS)],
                               {"ANSIBLE_HOST_KEY_CHECKING": "False"})
    return seconds, cpu, done.stdout.count("SUCCESS")


def main() -> None:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        raise SystemExit("run as root on Debian 12 (unshare and mount are needed for the stock targets)")
    work = Path(tempfile.mkdtemp(prefix="auditor-bench-ssh-"))
    work.chmod(0o755)
    key = keygen(work / "client")
    extra = "MaxStartups 400:30:800\n"
    stock = [SshdServer(work / f"stock{i}", HARDENED, key, extra=extra, launcher=stock_launcher()).start()
             for i in range(SERVERS)]
    plain = [SshdServer(work / f"plain{i}", HARDENED, key, extra=extra).start() for i in range(SERVERS)]
    weak = SshdServer(work / "weak", WEAK, key).start()
    bin_dir = peers()
    try:
        warm_apt(stock, key, work)
        fleet_rows = []
        for label, servers in (("stock Debian targets", stock), ("this machine as it is", plain)):
            inventory = fleet_inventory(work / f"{servers[0].port}.yaml", servers, key)
            before = own_cpu_seconds()
            ours, ours_cpu, run = scan(inventory, work / f"fleet-{servers[0].port}")
            ours_side, before = own_cpu_seconds() - before, own_cpu_seconds()
            theirs, theirs_cpu, ok = ansible_fact_gathering(bin_dir, servers, key, work)
            theirs_side = own_cpu_seconds() - before
            results = json.loads((work / f"fleet-{servers[0].port}" / "results.json").read_text())
            assessed = sum(1 for t in results["targets"] if t["assessed"])
            # The same without PATCH-0010: `apt list --upgradable` is most of the targets' share of the CPU.
            without_apt, _, _ = scan(inventory, work / f"fleet-{servers[0].port}-no-apt", "--skip", "PATCH-0010")
            fleet_rows += [
                (f"{TARGETS} targets, {label}", f"{ours:.1f} s", f"ansible setup {theirs:.1f} s",
                 f"{theirs / ours:.1f}x faster (target 2x); assessed {assessed}/{TARGETS}, ansible ok {ok}/{TARGETS}"),
                ("  the same, --skip PATCH-0010", f"{without_apt:.1f} s", f"ansible setup {theirs:.1f} s",
                 f"{theirs / without_apt:.1f}x faster (no `apt list --upgradable` on the targets)"),
                ("  machine CPU per target", f"{ours_cpu / TARGETS:.2f} s", f"ansible {theirs_cpu / TARGETS:.2f} s",
                 "scanner + sshd + commands, both cores" if run.returncode in (0, 1) else run.stderr[-300:]),
                ("  scanning side CPU per target", f"{ours_side / TARGETS:.3f} s",
                 f"ansible {theirs_side / TARGETS:.3f} s", "the scanner's processes alone (ansible: with its ssh)"),
            ]

        # One target on loopback and behind a 40 ms round trip (20 ms each way), medians of LATENCY_RUNS.
        proxy_port = free_port()
        proxy = subprocess.Popen([sys.executable, str(DELAY_PROXY), "20", f"{proxy_port}:{stock[0].port}"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        slow_known = work / "slow_known"
        slow_known.write_text(stock[0].known_hosts.read_text().replace(str(stock[0].port), str(proxy_port)))
        near = fleet_inventory_one(work / "near.yaml", stock[0], key)
        far = fleet_inventory_one(work / "far.yaml", stock[0], key, port=proxy_port, known_hosts=str(slow_known))
        # Interleaved, so that the machine's drift (the targets' apt alone varies by 0.2 s) hits both alike.
        pairs = [(scan(near, work / f"near-{n}")[0], scan(far, work / f"far-{n}")[0]) for n in range(LATENCY_RUNS)]
        near_s, far_s = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
        proxy.terminate()
        proxy.wait()
        evidence = work / "near-0" / "evidence" / "near"
        commands_seen = sum(1 for _ in evidence.glob("cmd-*.json"))
        files_seen = sum(1 for _ in evidence.glob("file-*.json"))
        channels = channels_per_target(near)

        # SSH-0100 alone vs ssh-audit, hardened and weak, medians of REPEATS.
        wire_rows = []
        for name, server in (("hardened", stock[0]), ("weak", weak)):
            inventory = fleet_inventory_one(work / f"wire-{name}.yaml", server, key)
            ours_wire = median_scan(inventory, work / f"wire-{name}", "--check", "SSH-0100")
            audit = statistics.median(timed([str(bin_dir / "ssh-audit"), "-p", str(server.port), "127.0.0.1"])[0]
                                      for _ in range(REPEATS))
            wire_rows.append((f"SSH-0100 {name}", f"{ours_wire:.2f} s", f"ssh-audit {audit:.2f} s",
                              f"ratio {ours_wire / audit:.2f} (target <= 1.5)"))
        print(table([
            ("what", "auditor", "peer (same run)", "note"),
            *fleet_rows,
            ("one target, loopback", f"{near_s:.2f} s", "", f"{commands_seen} commands, {files_seen} files"),
            ("one target, 40 ms RTT", f"{far_s:.2f} s", "",
             f"+{far_s - near_s:.2f} s = {(far_s - near_s) / 0.040:.1f} round trips (target about 10)"),
            ("SSH channels per target", str(channels), "", "session channels (plus 1 TCP probe for SSH-0100)"),
            *wire_rows,
        ]))
    finally:
        for server in [*stock, *plain, weak]:
            server.stop()


def channels_per_target(inventory: Path) -> int:
    """Session channels one full host scan opens (every collector's requests, as the runner sends them)."""
    from auditor.collectors import COLLECTORS
    from auditor.collectors.system import detect
    from auditor.inventory import load_inventory
    from auditor.transports.ssh import SshTransport

    (target,) = load_inventory(inventory)
    transport = SshTransport(target)
    try:
        system = detect(transport)
        for name in COLLECTORS:
            commands, paths = COLLECTORS[name].requests(system)
            transport.fetch(list(commands), list(paths))
        return transport.channels_opened
    finally:
        transport.close()


if __name__ == "__main__":
    main()
