"""Fleet scanning over SSH: `auditor scan` of 100 targets vs `ansible all -m setup`, channels per target,
one target behind a 40 ms round trip, and SSH-0100 alone vs ssh-audit on a hardened and a weak server.

Run as root on Debian 12 (sshd from openssh-server): `.venv/bin/python bench/ssh_fleet.py`.
ansible-core and ssh-audit are installed from PyPI into /tmp/auditor-bench-venv, never into .venv.
Every server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import table  # noqa: E402
from tests.sshd_server import HARDENED, WEAK, SshdServer, free_port, keygen  # noqa: E402

PEERS = Path("/tmp/auditor-bench-venv")
SERVERS, TARGETS, WORKERS = 4, 100, 32
DELAY_PROXY = Path("/work/shared/tools/delay_proxy.py")


def peers() -> Path:
    if not (PEERS / "bin" / "ansible").exists() or not (PEERS / "bin" / "ssh-audit").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        subprocess.run([str(PEERS / "bin" / "pip"), "install", "-q", "ansible-core", "ssh-audit"], check=True)
    return PEERS / "bin"


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False)
    return time.perf_counter() - started, done


def scan(inventory: Path, out: Path, *extra: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    return timed([sys.executable, "-m", "auditor", "scan", "--inventory", str(inventory), "--out", str(out),
                  "--quiet", "--format", "none", "--workers", str(WORKERS), *extra])


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="auditor-bench-ssh-"))
    work.chmod(0o755)
    key = keygen(work / "client")
    servers = [SshdServer(work / f"s{i}", HARDENED, key, extra="MaxStartups 400:30:800\n").start()
               for i in range(SERVERS)]
    weak = SshdServer(work / "weak", WEAK, key).start()
    bin_dir = peers()
    try:
        inventory = work / "fleet.yaml"
        inventory.write_text("targets:\n" + "".join(servers[i % SERVERS].inventory_entry(f"t{i:03d}", key)
                                                    for i in range(TARGETS)))
        known = work / "known_hosts"
        known.write_text("".join(s.known_hosts.read_text() for s in servers))
        ini = work / "hosts.ini"
        ini.write_text("[fleet]\n" + "".join(
            f"t{i:03d} ansible_host=127.0.0.1 ansible_port={servers[i % SERVERS].port}\n" for i in range(TARGETS))
            + f"[fleet:vars]\nansible_ssh_private_key_file={key}\nansible_python_interpreter=/usr/bin/python3\n"
            f"ansible_ssh_common_args='-o UserKnownHostsFile={known} -o ControlMaster=no'\n")
        fleet_seconds, fleet = scan(inventory, work / "fleet")
        results = json.loads((work / "fleet" / "results.json").read_text())
        assessed = sum(1 for t in results["targets"] if t["assessed"])
        # `apt list --upgradable` alone costs about 1.2 s of CPU per host, and here all hosts share 2 cores.
        lean_seconds, _ = scan(inventory, work / "fleet-lean", "--skip", "PATCH-0010")
        ansible_seconds, ansible = timed([str(bin_dir / "ansible"), "all", "-i", str(ini), "-m", "setup",
                                          "-f", str(WORKERS)], {"ANSIBLE_HOST_KEY_CHECKING": "False"})
        ok = ansible.stdout.count("SUCCESS")

        # Channels per target and one target behind a 40 ms round trip (20 ms each way).
        from auditor.inventory import load_inventory
        from auditor.transports.ssh import SshTransport

        proxy_port = free_port()
        proxy = subprocess.Popen([sys.executable, str(DELAY_PROXY), "20", f"{proxy_port}:{servers[0].port}"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        slow_known = work / "slow_known"
        slow_known.write_text(servers[0].known_hosts.read_text().replace(str(servers[0].port), str(proxy_port)))
        one = work / "one.yaml"
        one.write_text("targets:\n" + servers[0].inventory_entry("near", key))
        slow = work / "slow.yaml"
        slow.write_text("targets:\n" + servers[0].inventory_entry("far", key, port=proxy_port,
                                                                   known_hosts=str(slow_known)))
        near_seconds, _ = scan(one, work / "near")
        far_seconds, far = scan(slow, work / "far")
        proxy.terminate()
        proxy.wait()
        (target,) = load_inventory(one)
        transport = SshTransport(target)
        from auditor.collectors import COLLECTORS
        from auditor.collectors.system import detect

        system = detect(transport)
        for name in COLLECTORS:
            commands, paths = COLLECTORS[name].requests(system)
            transport.run_many(list(commands))
            transport.read_many(list(paths))
        commands_seen = sum(1 for _ in (work / "near" / "evidence" / "near").glob("cmd-*.json"))
        files_seen = sum(1 for _ in (work / "near" / "evidence" / "near").glob("file-*.json"))
        transport.close()

        # SSH-0100 alone vs ssh-audit, hardened and weak.
        wire_rows = []
        for name, server in (("hardened", servers[0]), ("weak", weak)):
            inv = work / f"wire-{name}.yaml"
            inv.write_text("targets:\n" + server.inventory_entry(f"wire-{name}", key))
            ours, _ = scan(inv, work / f"wire-{name}", "--check", "SSH-0100")
            theirs, _ = timed([str(bin_dir / "ssh-audit"), "-p", str(server.port), "127.0.0.1"])
            wire_rows.append((f"SSH-0100 {name}", f"{ours:.2f} s", f"ssh-audit {theirs:.2f} s",
                              f"ratio {ours / theirs:.2f}"))
        rows = [
            ("what", "auditor", "peer", "note"),
            (f"{TARGETS} targets, {WORKERS} workers", f"{fleet_seconds:.2f} s",
             f"ansible setup {ansible_seconds:.2f} s",
             f"speed-up {ansible_seconds / fleet_seconds:.1f}x; assessed {assessed}/{TARGETS}, ansible ok {ok}"),
            (f"{TARGETS} targets, --skip PATCH-0010", f"{lean_seconds:.2f} s", f"ansible setup {ansible_seconds:.2f} s",
             f"speed-up {ansible_seconds / lean_seconds:.1f}x (no apt evaluation on the hosts)"),
            ("one target, loopback", f"{near_seconds:.2f} s", "", f"{commands_seen} commands, {files_seen} files"),
            ("one target, 40 ms RTT", f"{far_seconds:.2f} s", "",
             f"+{far_seconds - near_seconds:.2f} s = {(far_seconds - near_seconds) / 0.040:.1f} RTT "
             f"(exit {far.returncode})"),
            ("SSH channels per target", str(transport.channels_opened), "", "session channels (plus 1 TCP probe)"),
            *wire_rows,
        ]
        print(table(rows))
        if fleet.returncode not in (0, 1):
            print(fleet.stderr[-2000:])
    finally:
        for server in [*servers, weak]:
            server.stop()


if __name__ == "__main__":
    main()
