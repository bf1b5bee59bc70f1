"""Benchmark: the coordinator's own cost per dispatched target (CPU, bytes through Redis) beside the same
targets replayed locally without dispatch, interleaved.

    .venv/bin/python bench/zones.py [--targets 200] [--runs 3] [--workers 2] [--concurrency 4]

Starts a redis-server with a password on 127.0.0.1 and --workers `auditor worker` processes (zone `bench`) that
answer from the recorded hosts of tests/fixtures/hosts (copied under --targets names), so what is timed is the
coordinator and the broker, not SSH. The dispatched side is the INSTALLED `auditor scan --broker` over an
inventory of those targets in zone bench; the peer is `auditor replay` of the same targets' evidence (the first,
untimed dispatched run), which evaluates the same facts without any broker. CPU is the coordinator process's
(user + system, wait4); bytes are Redis's network input plus output (INFO stats) during the run, divided by the
targets. A run that does not assess every target stops the benchmark.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from auditor.inventory import target_mapping  # noqa: E402 - the project root is on the path only now
from bench.common import Sample, auditor_script, measure, spread, table  # noqa: E402
from tests.conftest import child_env  # noqa: E402
from tests.zones.harness import PASSWORD, RedisServer, Worker, recorded_fleet  # noqa: E402


def _redis_bytes(redis: RedisServer) -> int:
    """Bytes Redis has received and sent since it started (INFO stats)."""
    import redis as client

    stats = client.Redis(port=redis.port, password=PASSWORD).info("stats")
    return int(stats["total_net_input_bytes"]) + int(stats["total_net_output_bytes"])


def _assessed(run_dir: Path, targets: int) -> bool:
    results = json.loads((run_dir / "results.json").read_text())
    return len(results["targets"]) == targets and all(not t["connection_error"] for t in results["targets"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", type=int, default=200, help="dispatched targets (default 200)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each side (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--concurrency", type=int, default=4, help="targets each worker collects at once")
    args = parser.parse_args()
    auditor = auditor_script()
    if not shutil.which("redis-server"):
        raise SystemExit("bench: redis-server is not installed (apt-get install redis-server)")
    root = Path(tempfile.mkdtemp(prefix="auditor-bench-zones-"))
    redis = RedisServer(root / "redis").start()
    workers: list[Worker] = []
    try:
        hosts = recorded_fleet(root / "recorded", math.ceil(args.targets / 7))[:args.targets]
        inventory = root / "fleet.yaml"
        inventory.write_text(json.dumps({"targets": [{**target_mapping(t), "zone": "bench"} for t in hosts]}))
        workers = [Worker(root / f"worker-{i}.log", redis.url(), "bench", ["*"],
                          extra=("--concurrency", str(args.concurrency), "--answer-from", str(root / "recorded")))
                   for i in range(args.workers)]
        for worker in workers:
            worker.wait_ready()
        env = child_env({"AUDITOR_BROKER_PASSWORD": PASSWORD})
        common = ["--no-sign", "--no-history", "--format", "none", "--quiet", "--workers", "32"]

        def dispatched(index: int) -> tuple[Sample, int]:
            out = root / f"dispatched-{index}"
            before = _redis_bytes(redis)
            sample = measure([auditor, "scan", "--inventory", str(inventory), "--broker", redis.url(),
                              "--zone-timeout", "120", "--out", str(out), *common], env=env)
            through = _redis_bytes(redis) - before
            if sample.exit_status not in (0, 1, 3) or not _assessed(out, len(hosts)):
                raise SystemExit(f"bench: dispatched run {index} did not assess every target "
                                 f"(exit {sample.exit_status}); see {out}/results.json")
            return sample, through

        def local(index: int) -> Sample:
            out = root / f"local-{index}"
            sample = measure([auditor, "replay", str(root / "dispatched--1"), "--allow-unsigned", "--out", str(out),
                              *common], env=env)
            if sample.exit_status not in (0, 1, 3) or not _assessed(out, len(hosts)):
                raise SystemExit(f"bench: local replay {index} did not assess every target (exit "
                                 f"{sample.exit_status}); see {out}/results.json")
            return sample

        dispatched(-1)  # warm-up, and the evidence the local side replays
        remote: list[Sample] = []
        sent: list[int] = []
        here: list[Sample] = []
        for index in range(args.runs):
            sample, through = dispatched(index)
            remote.append(sample)
            sent.append(through)
            here.append(local(index))
        n = len(hosts)
        rows = [("", "wall s (min / median / max)", "coordinator CPU ms per target", "Redis bytes per target"),
                ("dispatched (zone bench)", spread([s.seconds for s in remote]),
                 spread([s.cpu_seconds * 1000 / n for s in remote], "{:.1f}"), spread([b / n for b in sent], "{:.0f}")),
                ("local replay (no broker)", spread([s.seconds for s in here]),
                 spread([s.cpu_seconds * 1000 / n for s in here], "{:.1f}"), "0")]
        print(f"{n} targets, {args.workers} workers x {args.concurrency}, {args.runs} runs each, interleaved")
        print(table(rows))
        cpu = statistics.median(a.cpu_seconds / b.cpu_seconds for a, b in zip(remote, here, strict=True))
        print(f"median coordinator CPU, dispatched / local replay: {cpu:.2f}x")
        return 0
    finally:
        for worker in workers:
            worker.stop()
        redis.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
