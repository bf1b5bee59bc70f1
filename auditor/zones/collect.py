"""The worker's half of a scan: connect, detect the system, run the planned collectors, keep every record.

It asks exactly what the runner's `_assess` asks (the host key, the system, each collector's declared
requests, then `collect`), so the coordinator, replaying these records through the runner, finds every fact
it needs, and the records are those a local scan would have stored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from auditor.clock import Clock
from auditor.collectors import COLLECTORS, SYSTEM
from auditor.collectors.ssh_wire import HOSTKEY_COMMAND
from auditor.collectors.system import detect
from auditor.collectors.system import requests as system_requests
from auditor.errors import AuditorError, CommandTimeout, ConnectError, TransportError
from auditor.files import dump_json, sha256_bytes
from auditor.models import EvidenceRef, SystemFacts, TargetKind
from auditor.plan import TargetPlan, collectors_for
from auditor.transports import open_transport
from auditor.transports.base import Command, CommandResult, FileContent, Transport, fetch, slow_first
from auditor.transports.budget import Limits
from auditor.transports.environment import withhold_from_proxies
from auditor.transports.recording import RecordingTransport
from auditor.transports.replay import RecordedRun

log = logging.getLogger(__name__)


class MemorySink:
    """An evidence sink that keeps each record's bytes, exactly as the evidence store would write them."""

    def __init__(self) -> None:
        self.records: list[bytes] = []
        self._lock = threading.Lock()

    def save(self, target: str, record: dict[str, Any], same_as: tuple[str, str] | None = None) -> EvidenceRef:
        data = dump_json(record)
        with self._lock:
            self.records.append(data)
        return EvidenceRef(f"shipped/{target}", sha256_bytes(data), record["source"])


class FailureNoting:
    """Passes every call to the real transport, and notes each fact that failed (a timeout, a refused
    connection), so the coordinator's runner meets the same error where the worker met it."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.target = inner.target
        self.failures: list[dict[str, str]] = []

    def run(self, command: Command) -> CommandResult:
        try:
            return self.inner.run(command)
        except TransportError as exc:  # (a recorded run's FactMissing is met again on the coordinator itself)
            self._note("command", str(command), exc)
            raise

    def read_file(self, path: str) -> FileContent:
        try:
            return self.inner.read_file(path)
        except TransportError as exc:
            self._note("file", path, exc)
            raise

    def run_many(self, commands: Sequence[Command]) -> list[CommandResult]:
        return self.inner.run_many(commands)  # a failed batch is asked again one by one, and noted then

    def read_many(self, paths: Sequence[str]) -> list[FileContent]:
        return self.inner.read_many(paths)

    def fetch(self, commands: Sequence[Command], paths: Sequence[str]) -> tuple[list[CommandResult],
                                                                                list[FileContent]]:
        return fetch(self.inner, commands, paths)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # original_record, when a recorded run answers

    def _note(self, kind: str, source: str, exc: TransportError) -> None:
        self.failures.append({"kind": kind, "source": source, "type": type(exc).__name__, "message": exc.message})


def collect_view(plan: TargetPlan, parameters: Mapping[str, Mapping[str, Any]], clock: Clock,
                 trust_new_host_keys: bool, answer_from: RecordedRun | None = None,
                 ) -> tuple[list[bytes], dict[str, str] | None, list[dict[str, str]]]:
    """The records of one view of the target (logged in or from the network), or why it could not be opened.

    answer_from: a recorded run that answers instead of the hosts (rehearsals, benchmarks); its records are
    shipped as they were recorded.
    """
    # A worker learns its targets one task at a time: the secrets of those it has been sent are withheld from
    # every later target's ProxyCommand.
    withhold_from_proxies(plan.target.options.get(key, "") for key in ("password_env", "passphrase_env"))
    try:
        transport: Transport = answer_from.open(plan.target, plan.login) if answer_from is not None else \
            open_transport(plan.target, login=plan.login, trust_new_host_keys=trust_new_host_keys)
    except AuditorError as exc:
        return [], {"type": type(exc).__name__, "message": str(exc)}, []
    except Exception as exc:  # a library's surprise: the coordinator reports it as the runner would
        return [], {"type": "ConnectError", "message": f"could not open the target: {type(exc).__name__}: {exc}"}, []
    sink = MemorySink()
    noting = FailureNoting(transport)
    # The target's own limits, as the runner applies them: a worker's memory must not grow with what a host sends.
    recorder = RecordingTransport(noting, sink, clock, Limits.of(plan.target))
    try:
        _collect(plan, parameters, recorder)
    except Exception:  # what was collected is shipped; the coordinator meets the same gap and reports it
        log.debug("collecting %s stopped", plan.target.name, exc_info=True)
    finally:
        recorder.close()
    return sink.records, None, noting.failures


def _collect(plan: TargetPlan, parameters: Mapping[str, Mapping[str, Any]], recorder: RecordingTransport) -> None:
    target = plan.target
    if target.kind is TargetKind.SSH:
        _prefetch(recorder, [HOSTKEY_COMMAND], [])
    if plan.detects_system:
        _prefetch(recorder, *system_requests())
        try:
            system = detect(recorder.view(SYSTEM))
        except AuditorError:
            return
    else:
        system = SystemFacts(platform=None)
    runnable, _ = plan.for_system(system)
    needed = collectors_for(runnable)

    def params(name: str) -> dict[str, Any]:
        given = parameters.get(name, {})
        return {p: target if p == "target" else given[p] for p in COLLECTORS[name].parameters}

    planned = [COLLECTORS[name].requests(system, **params(name)) for name in needed]
    _prefetch(recorder, slow_first(c for r in planned for c in r[0]), [p for r in planned for p in r[1]])
    for name in needed:
        try:
            COLLECTORS[name].collect(recorder.view(name), system, **params(name))
        except (ConnectError, CommandTimeout):
            if not plan.detects_system:
                return
        except Exception:  # the coordinator's own collect meets the same records and reports the failure
            log.debug("collector %s failed on %s", name, target.name, exc_info=True)


def _prefetch(recorder: RecordingTransport, commands: Sequence[Command], paths: Sequence[str]) -> None:
    try:
        recorder.prefetch(commands, paths)
    except AuditorError as exc:
        log.debug("prefetch on %s failed: %s", recorder.target, exc)
