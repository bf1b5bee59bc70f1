"""`auditor worker`: a Celery worker that collects the targets of one zone (docs/zones.md).

A small entry module (`python -m auditor.zones.worker` runs it too): tasks run in threads of this one
process, which imports the collectors once and never the CLI.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from auditor.errors import InputError
from auditor.zones.app import PASSWORD_ENV


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The worker's flags (shared by `auditor worker` and this module)."""
    parser.add_argument("--broker", required=True, help=f"redis:// or rediss:// URL (password: ${PASSWORD_ENV})")
    parser.add_argument("--broker-ca", default="", help="CA file of Redis's TLS certificate (rediss://)")
    parser.add_argument("--zone", required=True, help="the zone whose queue this worker consumes")
    parser.add_argument("--allow", action="append", default=[], metavar="CIDR_OR_NAME",
                        help="a network (10.40.0.0/16) or target name glob (db-*) this worker may scan (repeat)")
    parser.add_argument("--concurrency", type=int, default=4, help="targets collected at once (default 4)")
    parser.add_argument("--max-payload", type=int, default=32 * 1024 * 1024, help="bytes a result may take")
    parser.add_argument("--redeliver-after", type=int, default=3600,
                        help="seconds before a target taken by a worker that died goes to another (default 3600)")
    parser.add_argument("--trust-new-host-keys", action="store_true", help="as for `auditor scan`")
    parser.add_argument("--answer-from", metavar="RUN_DIR",
                        help="answer from this recorded run's evidence instead of the hosts (rehearsals, benchmarks)")
    parser.add_argument("--loglevel", default="INFO", help="worker log level (default INFO)")


def run(args: argparse.Namespace) -> int:
    """Start the worker; it runs until stopped (SIGTERM: finish the targets in hand, then stop)."""
    # Imported here: `auditor --help` and every other command build this module's flags, not a worker.
    from auditor.inventory import ZONE_NAME
    from auditor.transports.replay import RecordedRun
    from auditor.zones.allow import AllowList
    from auditor.zones.app import BrokerSettings, make_app, queue_of
    from auditor.zones.tasks import WorkerPolicy, register

    if not ZONE_NAME.match(args.zone):
        raise InputError(f"zone {args.zone!r} is not a zone name", "--zone", "use lower-case letters, digits, - or _")
    settings = BrokerSettings(args.broker, os.environ.get(PASSWORD_ENV, ""), args.broker_ca,
                              args.redeliver_after, max_payload=args.max_payload)
    recorded = RecordedRun(Path(args.answer_from)) if args.answer_from else None
    policy = WorkerPolicy(args.zone, AllowList.parse(args.allow), args.max_payload, args.trust_new_host_keys,
                          recorded)
    app = make_app(settings)
    register(app, policy)
    logging.getLogger("auditor.zones").setLevel(args.loglevel.upper())
    app.worker_main(["worker", f"--loglevel={args.loglevel}", "-Q", queue_of(args.zone), "--pool=threads",
                     f"--concurrency={max(1, args.concurrency)}", f"--hostname=auditor-{args.zone}@%h",
                     "--without-gossip", "--without-mingle"])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m auditor.zones.worker`."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(prog="auditor worker", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except InputError as exc:
        sys.stderr.write(f"auditor: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
