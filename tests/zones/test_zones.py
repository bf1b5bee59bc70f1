"""Zones with real parts: redis-server with a password, Celery workers as their own processes inside two
network namespaces, each namespace holding an sshd that only its own zone can reach, and a coordinator
(`auditor scan --broker`) that evaluates, signs and can be verified and replayed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from auditor.pipeline import load_checks
from auditor.profile import load_profile
from auditor.zones.app import queue_of
from tests.conftest import child_env, run_cli
from tests.sshd_server import HARDENED, SshdServer, keygen
from tests.zones.harness import PASSWORD, ROOT, RedisServer, Worker, Zone, ZoneSshd, remove, temp_root

pytestmark = pytest.mark.slow
KEY_PASS = "zone-key-passphrase-91c2"  # known to the workers only, never to the broker
SIGN = {"AUDITOR_KEY_PASSPHRASE": "zones sign passphrase"}
# Facts that follow what else runs on this shared machine (the sshd and database servers other tests start, live
# sockets: every namespace sees one process table) differ between two scans a minute apart, zoned or not; the
# comparison leaves their checks out (test_recorded_hosts.py compares every check, byte for byte).
MOVING = {"postgres", "mysql", "db_wire", "listeners", "pii", "sshd"}


@dataclass
class Fleet:
    root: Path
    redis: RedisServer
    zones: dict[str, Zone]
    sshd: dict[str, SshdServer]
    zone_key: Path
    host_key: Path
    keys: Path
    skips: list[str]

    def entry(self, name: str, server: str, zone: str | None) -> str:
        key, extra = (self.zone_key, {"passphrase_env": "AUDIT_ZONE_KEY_PASS"}) if server != "host" \
            else (self.host_key, {})
        return self.sshd[server].inventory_entry(name, key, **extra, **({"zone": zone} if zone else {}))

    def inventory(self, name: str, text: str) -> Path:
        path = self.root / f"{name}.yaml"
        path.write_text("targets:\n" + text)
        return path

    def scan(self, inventory: Path, out: Path, *extra: str, env: dict[str, str] | None = None,
             ) -> subprocess.CompletedProcess[str]:
        return run_cli("scan", "--inventory", str(inventory), "--broker", self.redis.url(), "--out", str(out),
                       "--quiet", "--format", "none", "--no-history", "--sign-key", str(self.keys / "signing.key"),
                       *self.skips, *extra, env={"AUDITOR_BROKER_PASSWORD": PASSWORD, **SIGN, **(env or {})},
                       timeout=240)

    def worker(self, zone: str, queue: str | None = None, *extra: str) -> Worker:
        ns = self.zones[zone]
        return Worker(self.root / f"worker-{queue or zone}-{time.monotonic_ns()}.log",
                      self.redis.url(ns.host_address), queue or zone, ["127.0.0.1/32"], ns.launcher,
                      {"AUDIT_ZONE_KEY_PASS": KEY_PASS}, extra)

    def direct(self, inventory: Path, out: Path, zone: str | None) -> subprocess.CompletedProcess[str]:
        """The same target scanned by `auditor scan` itself, from inside its zone: no broker, no worker."""
        launcher = self.zones[zone].launcher if zone else []
        argv = [*launcher, sys.executable, "-m", "auditor", "scan", "--inventory", str(inventory), "--out", str(out),
                "--quiet", "--format", "none", "--no-history", "--no-sign", *self.skips]
        return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
                              env=child_env({"AUDIT_ZONE_KEY_PASS": KEY_PASS}))


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    root = temp_root("auditor-zones-")
    zones = {name: Zone(name, i + 1) for i, name in enumerate(("a", "b"))}
    servers: list[SshdServer] = []
    redis = None
    try:
        for zone in zones.values():
            zone.create()
        redis = RedisServer(root / "redis", [z.host_address for z in zones.values()]).start()
        zone_key = keygen(root / "zone_key", passphrase=KEY_PASS)
        host_key = keygen(root / "host_key")
        sshd: dict[str, SshdServer] = {name: ZoneSshd(root / f"sshd-{name}", zone_key, zone).start()
                                       for name, zone in zones.items()}
        sshd["host"] = SshdServer(root / "sshd-host", HARDENED, host_key).start()
        servers.extend(sshd.values())
        keys = root / "keys"
        assert run_cli("keys", "init", "--dir", str(keys), env=SIGN).returncode == 0
        checks = load_checks(load_profile(None))
        skips = [a for spec in checks.values() if set(spec.facts) & MOVING for a in ("--skip", spec.id)]
        yield Fleet(root, redis, zones, sshd, zone_key, host_key, keys, skips)
    finally:
        for server in servers:
            server.stop()
        if redis is not None:
            redis.stop()
        for zone in zones.values():
            zone.delete()
        remove(root)


@pytest.fixture(scope="module")
def workers(fleet: Fleet) -> Iterator[dict[str, Worker]]:
    started = {zone: fleet.worker(zone) for zone in fleet.zones}
    try:
        for worker in started.values():
            worker.wait_ready()
        yield started
    finally:
        for worker in started.values():
            worker.stop()


@pytest.fixture(scope="module")
def direct(fleet: Fleet) -> dict[str, Path]:
    """Each target of the two-zone run scanned directly, once for the module."""
    runs = {}
    for name, server, zone in (("web-a", "a", "a"), ("db-b", "b", "b"), ("mail-01", "host", None)):
        inventory = fleet.inventory(f"direct-{name}", fleet.entry(name, server, None))
        out = fleet.root / f"direct-{name}"
        done = fleet.direct(inventory, out, zone)
        assert done.returncode in (0, 1), done.stderr
        runs[name] = out
    return runs


def _findings(run: Path, target: str) -> set[tuple[str, str, str, str]]:
    results = json.loads((run / "results.json").read_text())
    return {(f["check_id"], f.get("resource") or "", f["status"], f["message"]) for f in results["findings"]
            if f["target"] == target}


def _target(run: Path, name: str) -> dict[str, object]:
    results = json.loads((run / "results.json").read_text())
    return next(t for t in results["targets"] if t["name"] == name)


def _verify(fleet: Fleet, run: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("verify", str(run), "--pubkey", str(fleet.keys / "signing.pub"))


@pytest.mark.alone
def test_one_signed_run_over_two_zones_equals_scanning_each_target_directly(fleet, workers, direct):
    # Given targets in zones a and b (each sshd reachable only inside its namespace) and one the coordinator
    # reaches itself, with Redis's traffic captured
    inventory = fleet.inventory("fleet", fleet.entry("web-a", "a", "a") + fleet.entry("db-b", "b", "b")
                                + fleet.entry("mail-01", "host", None))
    capture = fleet.root / "monitor.log"
    monitor = fleet.redis.monitor(capture)
    time.sleep(0.3)
    # When one `auditor scan` dispatches the zoned targets
    run = fleet.root / "run-fleet"
    try:
        done = fleet.scan(inventory, run)
    finally:
        monitor.terminate()
        monitor.wait(timeout=5)
    # Then one signed run holds every target, judged as when each is scanned directly, and it verifies
    assert done.returncode in (0, 1), done.stderr
    for name, source in direct.items():
        assert _target(run, name)["connection_error"] == ""
        assert _findings(run, name) == _findings(source, name), name
    verified = _verify(fleet, run)
    assert verified.returncode == 0 and "signature valid" in verified.stdout, verified.stdout + verified.stderr
    # And each zone's worker collected its own target (the coordinator cannot reach those sshd at all)
    assert b"collected web-a" in workers["a"].log.read_bytes()
    assert b"collected db-b" in workers["b"].log.read_bytes()
    # And nothing secret went through Redis, while the tasks and the records did
    traffic = capture.read_bytes()
    assert b"auditor.zones.scan_target" in traffic and b"web-a" in traffic
    private = fleet.zone_key.read_text().splitlines()[1].encode()
    for secret in (KEY_PASS.encode(), private, SIGN["AUDITOR_KEY_PASSPHRASE"].encode()):
        assert secret not in traffic
    # And the dispatched run replays like a local one: same findings, no host touched
    replayed = fleet.root / "replayed"
    again = run_cli("replay", str(run), "--out", str(replayed), "--quiet", "--format", "none", "--no-history",
                    "--no-sign", "--pubkey", str(fleet.keys / "signing.pub"), *fleet.skips)
    assert (replayed / "results.json").is_file(), again.stderr
    for name in direct:
        assert _findings(replayed, name) == _findings(run, name)


def test_a_zone_with_no_live_worker_is_not_assessed_and_the_run_finishes(fleet, workers):
    # Given a target in zone c, for which no worker runs
    inventory = fleet.inventory("nobody", fleet.entry("web-a", "a", "a") + fleet.entry("lost-c", "a", "c"))
    # When the run waits 2 s for it
    run = fleet.root / "run-nobody"
    done = fleet.scan(inventory, run, "--zone-timeout", "2")
    # Then the target is not assessed, with why, the others are, and the run finishes, signed and verifiable
    assert done.returncode == 3, done.stderr
    assert _target(run, "lost-c")["connection_error"] == "lost-c: no worker in zone c answered within 2 s"
    assert _target(run, "web-a")["connection_error"] == ""
    assert _verify(fleet, run).returncode == 0


def test_a_worker_refuses_a_target_outside_its_allow_list(fleet, workers):
    # Given a target in zone a whose address the zone's worker is not allowed to scan
    inventory = fleet.inventory("rogue", "  - {name: rogue-01, kind: ssh, host: 192.0.2.7, zone: a}\n")
    # When it is dispatched
    run = fleet.root / "run-rogue"
    done = fleet.scan(inventory, run, "--zone-timeout", "20")
    # Then the worker refuses it, and the run says so in one line
    assert done.returncode == 3, done.stderr
    error = str(_target(run, "rogue-01")["connection_error"])
    assert "worker in zone a refused: target 'rogue-01' (192.0.2.7) is not in this worker's allow-list" in error
    assert b"refused" in workers["a"].log.read_bytes()


@pytest.mark.alone
def test_a_worker_killed_mid_target_is_replaced_and_the_target_recorded_once(fleet, workers, direct):
    # Given a zone k (in namespace a) whose only worker is SIGKILLed as soon as it takes the target
    first = fleet.worker("a", "k", "--redeliver-after", "4").wait_ready()
    inventory = fleet.inventory("killed", fleet.entry("web-a", "a", "k"))
    run = fleet.root / "run-killed"
    scan = subprocess.Popen([sys.executable, "-m", "auditor", "scan", "--inventory", str(inventory), "--broker",
                             fleet.redis.url(), "--out", str(run), "--quiet", "--format", "none", "--no-history",
                             "--sign-key", str(fleet.keys / "signing.key"), *fleet.skips],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=child_env({"AUDITOR_BROKER_PASSWORD": PASSWORD, **SIGN}))
    second = None
    try:
        deadline = time.monotonic() + 30
        while b"received" not in first.log.read_bytes():
            assert time.monotonic() < deadline, first.log.read_text()
            time.sleep(0.02)
        first.kill()
        assert b"collected web-a" not in first.log.read_bytes()
        # When another worker of the zone comes up
        second = fleet.worker("a", "k", "--redeliver-after", "4").wait_ready()
        _, err = scan.communicate(timeout=120)
    finally:
        if scan.poll() is None:
            scan.kill()
        if second is not None:
            second.stop()
    # Then it scans the target once more, the run holds each fact once, judged as a direct scan, and verifies
    assert scan.returncode in (0, 1), err
    assert b"collected web-a" in second.log.read_bytes()
    assert _findings(run, "web-a") == _findings(direct["web-a"], "web-a")
    index = json.loads((run / "evidence" / "manifest.json").read_text())["facts"]
    assert len({f["path"] for f in index}) == len(index)
    assert _verify(fleet, run).returncode == 0


@pytest.mark.alone
def test_a_broker_restart_mid_run_leaves_nothing_that_verifies_falsely(fleet, workers, direct):
    # Given a run over both zones
    inventory = fleet.inventory("restart", fleet.entry("web-a", "a", "a") + fleet.entry("db-b", "b", "b"))
    run = fleet.root / "run-restart"
    scan = subprocess.Popen([sys.executable, "-m", "auditor", "scan", "--inventory", str(inventory), "--broker",
                             fleet.redis.url(), "--out", str(run), "--quiet", "--format", "none", "--no-history",
                             "--zone-timeout", "20", "--sign-key", str(fleet.keys / "signing.key"), *fleet.skips],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=child_env({"AUDITOR_BROKER_PASSWORD": PASSWORD, **SIGN}))
    # When Redis restarts while the targets are being collected
    deadline = time.monotonic() + 30
    while b"received" not in workers["a"].log.read_bytes()[-4000:] and time.monotonic() < deadline:
        time.sleep(0.02)
    fleet.redis.restart()
    _, err = scan.communicate(timeout=180)
    # Then the run finishes, and every target is either judged as a direct scan judges it or not assessed
    assert scan.returncode in (0, 1, 3), err
    for name in ("web-a", "db-b"):
        error = str(_target(run, name)["connection_error"])
        assert (error == "" and _findings(run, name) == _findings(direct[name], name)) \
            or "not assessed" in error, (name, error)
    assert _verify(fleet, run).returncode == 0


def _queued(fleet: Fleet, zone: str) -> int:
    """Tasks waiting in a zone's queue (0 when Redis does not answer)."""
    reply = fleet.redis.command("LLEN", queue_of(zone))
    return int(reply[1:]) if reply.startswith(":") else 0


def test_ctrl_c_on_the_coordinator_leaves_an_interrupted_run_that_says_so(fleet, workers):
    # Given a run waiting for a zone nobody serves
    inventory = fleet.inventory("ctrl-c", fleet.entry("lost-c", "a", "c"))
    run = fleet.root / "run-ctrl-c"
    queued_before = _queued(fleet, "c")
    scan = subprocess.Popen([sys.executable, "-m", "auditor", "scan", "--inventory", str(inventory), "--broker",
                             fleet.redis.url(), "--out", str(run), "--quiet", "--format", "none", "--no-history",
                             "--zone-timeout", "120", "--sign-key", str(fleet.keys / "signing.key")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=child_env({"AUDITOR_BROKER_PASSWORD": PASSWORD, **SIGN}))
    # (waiting: its task for zone c is queued beside any an earlier test left there, and nothing takes it)
    deadline = time.monotonic() + 60
    while _queued(fleet, "c") <= queued_before and scan.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # from publishing the task to waiting for its answer is a few calls
    # When the operator presses Ctrl-C
    scan.send_signal(signal.SIGINT)
    _, err = scan.communicate(timeout=30)
    # Then the coordinator stops at once, and the run it leaves says it was interrupted
    assert scan.returncode == 130, err
    assert json.loads((run / "results.json").read_text())["run"]["interrupted"] is True
    # And verify, while the signature holds, never passes it as a complete run
    verified = _verify(fleet, run)
    assert verified.returncode == 6 and "INTERRUPTED" in verified.stdout, verified.stdout
