"""A dispatched run over recorded hosts: its evidence is the local replay's, byte for byte, and so are its
findings. A real redis-server and a real worker process; the worker answers from the recorded hosts."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.bundle.evidence import EvidenceStore
from auditor.clock import FixedClock
from auditor.models import Finding, Target, TargetKind, TargetResult
from auditor.pipeline import load_checks
from auditor.plan import Selection
from auditor.profile import load_profile
from auditor.runner import OpenTarget, run_scan
from auditor.transports.replay import RecordedRun
from auditor.zones.app import BrokerSettings
from auditor.zones.dispatch import dispatch_zones, local_opener
from tests.sshd_server import free_port
from tests.zones.harness import PASSWORD, RedisServer, Worker, recorded_fleet, remove, temp_root

pytestmark = pytest.mark.slow
CLOCK = FixedClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))


@pytest.fixture(scope="module", params=["redis", "rediss"])
def setting(request: pytest.FixtureRequest) -> Iterator[tuple[Path, list[Target], RedisServer]]:
    """The recorded hosts as one folder, and a broker: plain, or TLS only (rediss://, its CA file given)."""
    root = temp_root("auditor-zones-recorded-")
    redis = RedisServer(root / "redis", tls=request.param == "rediss").start()
    try:
        recorded = root / "recorded"
        targets = recorded_fleet(recorded)
        yield root, targets, redis
    finally:
        redis.stop()
        remove(root)


def _scan(root: Path, name: str, targets: list[Target], open_target: OpenTarget) -> list[Finding]:
    out = root / name
    store = EvidenceStore(out)
    profile = load_profile(None)
    result = run_scan(name, targets, load_checks(profile), profile, store, open_target=open_target, clock=CLOCK)
    store.write_manifest()
    return [f for t in result.targets for f in t.findings]


def _tree(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted((run_dir / "evidence").rglob("*.json"))}


def test_a_dispatched_run_over_recorded_hosts_equals_their_local_replay_byte_for_byte(setting):
    root, targets, redis = setting
    # Given a worker of zone r that answers from the recorded hosts, and those hosts' targets in zone r
    tls = ("--broker-ca", str(redis.ca_file)) if redis.ca_file else ()
    worker = Worker(root / "worker.log", redis.url(), "r", ["*"],
                    extra=("--answer-from", str(root / "recorded"), *tls))
    try:
        worker.wait_ready()
        zoned = [dataclasses.replace(t, options={**t.options, "zone": "r"}) for t in targets]
        # When the coordinator dispatches them, and the same targets are replayed locally
        profile = load_profile(None)
        dispatch = dispatch_zones("dispatched", zoned, load_checks(profile), profile, Selection(),
                                  BrokerSettings(redis.url(), PASSWORD, str(redis.ca_file or "")), False, 30)
        assert dispatch is not None
        dispatched = _scan(root, "dispatched", zoned, dispatch)
    finally:
        worker.stop()
    local = _scan(root, "local", targets, RecordedRun(root / "recorded").open)
    # Then every evidence file is the same, byte for byte (the records keep their recorded times)
    assert _tree(root / "dispatched") == _tree(root / "local")
    assert len(_tree(root / "local")) > 100
    # And so is every finding
    # (a fact the hosts never recorded is named missing from where the answers came from: the zone, or the folder)
    here = str(root / "recorded")
    assert dispatched == [dataclasses.replace(f, message=f.message.replace(here, "zone-r"),
                                              error=f.error.replace(here, "zone-r")) for f in local]
    assert {f.target for f in local} == {t.name for t in targets}
    # And over TLS, the worker really spoke TLS to Redis
    assert worker.log.read_text().count(f"Connected to {redis.url()[:8]}") == 1


def test_a_target_that_fails_on_the_worker_fails_in_the_run_as_it_does_locally(setting):
    root, _, redis = setting
    # Given a TLS endpoint and an SSH host on ports where nothing listens, in zone live
    closed = free_port()
    targets = [Target("tls-down", TargetKind.TLS, options={"host": "127.0.0.1", "port": closed, "connect_timeout": 2}),
               Target("ssh-down", TargetKind.SSH, options={"host": "127.0.0.1", "port": closed, "connect_timeout": 2})]
    tls = ("--broker-ca", str(redis.ca_file)) if redis.ca_file else ()
    worker = Worker(root / f"live-{redis.url()[:6]}.log", redis.url(), "live", ["127.0.0.1/32"], extra=tls)
    try:
        worker.wait_ready()
        zoned = [dataclasses.replace(t, options={**t.options, "zone": "live"}) for t in targets]
        profile = load_profile(None)
        dispatch = dispatch_zones("failing", zoned, load_checks(profile), profile, Selection(),
                                  BrokerSettings(redis.url(), PASSWORD, str(redis.ca_file or "")), False, 30)
        assert dispatch is not None
        # When they are dispatched, and scanned directly
        dispatched = _results(root, f"failing-{redis.url()[:6]}", zoned, dispatch)
    finally:
        worker.stop()
    direct = _results(root, f"failing-direct-{redis.url()[:6]}", targets, local_opener(False))
    # Then each is unreachable for the same reason, with the same findings
    assert [(r.connection_error, r.error_reason) for r in dispatched] == \
        [(r.connection_error, r.error_reason) for r in direct]
    assert all(r.connection_error for r in direct)
    assert [r.findings for r in dispatched] == [r.findings for r in direct]


def _results(root: Path, name: str, targets: list[Target], open_target: OpenTarget) -> list[TargetResult]:
    store = EvidenceStore(root / name)
    profile = load_profile(None)
    result = run_scan(name, targets, load_checks(profile), profile, store, open_target=open_target, clock=CLOCK)
    return list(result.targets)
