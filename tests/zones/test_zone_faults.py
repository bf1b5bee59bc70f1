"""Zone faults with a real redis-server on 127.0.0.1 and real worker processes (no network namespaces): a broker
that cannot be reached, a target given up on that no later worker may scan, and "not assessed" said once."""

from __future__ import annotations

import gc
import json
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.bundle.evidence import EvidenceStore
from auditor.clock import FixedClock
from auditor.models import Target, TargetKind
from auditor.pipeline import load_checks
from auditor.plan import Selection
from auditor.profile import load_profile
from auditor.runner import run_scan
from auditor.zones.app import BrokerSettings, queue_of
from auditor.zones.dispatch import dispatch_zones
from tests.conftest import run_cli
from tests.sshd_server import free_port
from tests.zones.harness import PASSWORD, RedisServer, Worker, remove, temp_root

pytestmark = pytest.mark.slow
CLOCK = FixedClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))


@pytest.fixture(scope="module")
def broker() -> Iterator[tuple[Path, RedisServer]]:
    root = temp_root("auditor-zone-faults-")
    redis = RedisServer(root / "redis").start()
    try:
        yield root, redis
    finally:
        redis.stop()
        remove(root)


def _scan(inventory: Path, out: Path, *extra: str) -> tuple[object, float]:
    begun = time.monotonic()
    done = run_cli("scan", "--inventory", str(inventory), "--out", str(out), "--format", "none", "--no-history",
                   "--no-sign", *extra, env={"AUDITOR_BROKER_PASSWORD": PASSWORD}, timeout=120)
    return done, time.monotonic() - begun


def _errors(run: Path) -> dict[str, str]:
    return {t["name"]: t["connection_error"] for t in json.loads((run / "results.json").read_text())["targets"]}


def test_a_broker_that_cannot_be_reached_makes_the_zone_not_assessed_and_the_run_goes_on(tmp_path):
    # Given an inventory whose broker is a port on 127.0.0.1 where nothing listens, a zoned target, and one the
    # coordinator scans itself
    closed = free_port()
    inventory = tmp_path / "zoned.yaml"
    inventory.write_text(f"broker: redis://127.0.0.1:{closed}/0\ntargets:\n"
                         "  - {name: web-z, kind: ssh, host: 127.0.0.1, zone: dmz}\n"
                         "  - {name: here, kind: local}\n")
    # When it is scanned
    done, took = _scan(inventory, tmp_path / "run", "--zone-timeout", "10", "--check", "BACKUP-0010")
    # Then the zoned target is not assessed, with one line naming the broker, and the other is assessed
    reason = f"the broker redis://127.0.0.1:{closed} could not be reached: connection refused"
    assert _errors(tmp_path / "run") == {"web-z": f"web-z: {reason}", "here": ""}
    # And the run is incomplete (not "some check failed"), without a traceback or Celery's retry lines, soon
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr and "Retry" not in done.stderr and "restarted" not in done.stderr, \
        done.stderr
    assert took < 15
    assert f"web-z: not assessed: {reason}\n" in done.stderr  # the progress line


def test_a_target_given_up_on_is_not_scanned_by_a_worker_started_later(broker):
    root, redis = broker
    # Given a target in zone late, which no worker serves yet
    target = Target("late-1", TargetKind.SSH, options={"host": "127.0.0.1", "port": free_port(),
                                                       "connect_timeout": 2, "zone": "late"})
    profile = load_profile(None)
    checks = load_checks(profile)
    dispatch = dispatch_zones("late", [target], checks, profile, Selection(),
                              BrokerSettings(redis.url(), PASSWORD), False, 1)
    assert dispatch is not None
    # When the coordinator gives up on it after 1 s
    result = run_scan("late", [target], checks, profile, EvidenceStore(root / "late"), open_target=dispatch,
                      clock=CLOCK)
    assert result.targets[0].connection_error.endswith("no worker in zone late answered within 1 s")
    # Then its task is no longer queued, and a worker of the zone started afterwards never takes it
    assert redis.command("LLEN", queue_of("late")) == ":0"
    worker = Worker(root / "late-worker.log", redis.url(), "late", ["127.0.0.1/32"])
    try:
        worker.wait_ready()
        time.sleep(2)
    finally:
        worker.stop()
    log = worker.log.read_text()
    assert "received" not in log and "late-1" not in log, log


def test_not_assessed_is_said_once_for_a_refused_and_a_timed_out_target(broker, tmp_path):
    _, redis = broker
    # Given a worker of zone lab that may scan nothing on 127.0.0.1, a target there, and one in a zone nobody serves
    worker = Worker(tmp_path / "lab-worker.log", redis.url(), "lab", ["192.0.2.0/24"])
    inventory = tmp_path / "fleet.yaml"
    inventory.write_text(f"broker: {redis.url()}\ntargets:\n"
                         "  - {name: weak-1, kind: ssh, host: 127.0.0.1, zone: lab}\n"
                         "  - {name: lost-1, kind: ssh, host: 127.0.0.1, zone: nobody}\n")
    try:
        worker.wait_ready()
        # When they are dispatched
        done, _ = _scan(inventory, tmp_path / "run", "--zone-timeout", "2", "--format", "html")
    finally:
        worker.stop()
    # Then the progress lines, results.json and the report each say "not assessed" once, before the reason
    assert done.returncode == 3, done.stderr
    refused = "worker in zone lab refused: target 'weak-1' (127.0.0.1) is not in this worker's allow-list"
    assert f"weak-1: not assessed: {refused}" in done.stderr, done.stderr
    assert "lost-1: not assessed: no worker in zone nobody answered within 2 s\n" in done.stderr, done.stderr
    errors = _errors(tmp_path / "run")
    assert errors["weak-1"].startswith(f"weak-1: {refused}")
    assert errors["lost-1"] == "lost-1: no worker in zone nobody answered within 2 s"
    reports = [re.sub(r"<[^>]+>", "", p.read_text()) for p in (tmp_path / "run").rglob("*.html")]  # as read
    assert reports and any("no worker in zone nobody answered within 2 s" in r for r in reports)
    for text in (done.stderr, *errors.values(), *reports):
        assert "not assessed: not assessed" not in text.lower()


def test_a_dispatch_whose_broker_stopped_leaves_nothing_to_fail_when_it_is_collected(tmp_path):
    # Given a run that gave up on a zoned target, and then its broker stopped (the broker-down test, or a Redis
    # restarted after the run)
    redis = RedisServer(tmp_path / "redis").start()
    target = Target("gone-1", TargetKind.SSH, options={"host": "127.0.0.1", "port": free_port(), "zone": "gone"})
    profile = load_profile(None)
    checks = load_checks(profile)
    try:
        dispatch = dispatch_zones("gone", [target], checks, profile, Selection(),
                                  BrokerSettings(redis.url(), PASSWORD), False, 1)
        run_scan("gone", [target], checks, profile, EvidenceStore(tmp_path / "gone"), open_target=dispatch,
                 clock=CLOCK)
    finally:
        redis.stop()
    # When the dispatch (its Celery results) is garbage collected
    raised: list[object] = []
    hook, sys.unraisablehook = sys.unraisablehook, raised.append
    try:
        del dispatch
        gc.collect()
    finally:
        sys.unraisablehook = hook
    # Then no result tries to unsubscribe from the stopped store ("Exception ignored in AsyncResult.__del__")
    assert raised == []
