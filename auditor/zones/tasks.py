"""The worker's task: check the target against the inventory rules and the allow-list, collect, ship."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the zones extra; only annotations here
    from celery import Celery  # type: ignore[import-untyped]

from auditor.clock import SystemClock
from auditor.errors import InputError
from auditor.records import record
from auditor.transports.replay import RecordedRun
from auditor.zones.allow import AllowList
from auditor.zones.app import TASK
from auditor.zones.collect import collect_view
from auditor.zones.task import read_task
from auditor.zones.wire import PayloadError, pack

log = logging.getLogger("auditor.zones.worker")


@record
class WorkerPolicy:
    """What this worker may do: its zone, its allow-list, its payload cap, whether to trust new host keys."""

    zone: str
    allow: AllowList
    max_payload: int
    trust_new_host_keys: bool = False
    answer_from: RecordedRun | None = None


def scan_target(policy: WorkerPolicy, doc: Any) -> dict[str, Any]:
    """Collect one target; an error document (never an exception) says why a task was refused."""
    source = f"zone {policy.zone} task"
    try:
        plan, parameters = read_task(doc, source)
    except (InputError, KeyError, TypeError, ValueError) as exc:
        log.error("refused a task: %s", exc)
        return {"error": f"worker in zone {policy.zone} refused the task: {exc}"}
    refusal = policy.allow.refusal(plan.target)
    if refusal:
        log.error("refused: %s", refusal)
        return {"target": plan.target.name, "error": f"worker in zone {policy.zone} refused: {refusal}"}
    clock = SystemClock()
    records, opened, failures = collect_view(plan, parameters, clock, policy.trust_new_host_keys, policy.answer_from)
    result: dict[str, Any] = {"target": plan.target.name, "zone": policy.zone, "login": plan.login,
                              "open_error": opened, "failures": failures, "network_failures": []}
    network: list[bytes] = []
    if opened is not None and plan.login and opened.get("type") != "NoTcpConnection":
        # As the runner does: checks of what the network shows still run when the login fails after TCP connected
        # (with no TCP connection at all, the network view could only wait for the same failure again).
        view, _ = plan.without_login()
        if view.checks:
            network, result["network_error"], result["network_failures"] = collect_view(
                view, parameters, clock, policy.trust_new_host_keys, policy.answer_from)
    try:
        result["records"] = pack(records, policy.max_payload)
        result["network"] = pack(network, policy.max_payload)
    except PayloadError as exc:
        log.error("%s: %s", plan.target.name, exc)
        return {"target": plan.target.name, "error": f"worker in zone {policy.zone}: {exc}"}
    log.info("collected %s: %d records", plan.target.name, len(records) + len(network))
    return result


def register(app: Celery, policy: WorkerPolicy) -> None:
    """The scan task on this worker's app, bound to its policy."""

    @app.task(name=TASK, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
    def _scan(doc: Any) -> dict[str, Any]:
        return scan_target(policy, doc)
