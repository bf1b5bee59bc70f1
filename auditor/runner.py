"""The runner: for each target, connect, detect the system, plan, collect each fact once, evaluate.

One target's failure never stops the run: an unreachable target is recorded with its reason, a failing
collector turns the checks that need it into ERROR findings, a crashing check into an ERROR with its
traceback text. Targets run in parallel; each uses one connection.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from auditor import __version__
from auditor.answers import AnswerWatch
from auditor.attestations import attestation_findings
from auditor.caps import DEFAULT_CAPS, Caps, cap_result
from auditor.clock import Clock, iso
from auditor.collectors import COLLECTORS, SYSTEM
from auditor.collectors.ssh_wire import HOSTKEY_COMMAND
from auditor.collectors.system import UNAME, detect
from auditor.collectors.system import requests as system_requests
from auditor.errors import (
    AuditorError,
    AuthenticationError,
    CommandTimeout,
    ConnectError,
    NoTcpConnection,
    PermissionMissing,
    TransportError,
    UnsupportedTarget,
)
from auditor.models import (
    CheckSpec,
    ErrorReason,
    EvidenceRef,
    Finding,
    ScanResult,
    Status,
    SystemFacts,
    Target,
    TargetKind,
    TargetResult,
    Verdict,
)
from auditor.plan import Selection, Skip, TargetPlan, collectors_for, plan_target
from auditor.profile import Profile
from auditor.records import record
from auditor.transports import open_transport
from auditor.transports.base import Command, CommandResult, Transport, slow_first
from auditor.transports.budget import Limits
from auditor.transports.environment import withhold_from_proxies
from auditor.transports.recording import ConsumerView, EvidenceSink, RecordingTransport
from auditor.transports.ssh_network import abort_connections
from auditor.waivers import apply_waivers, waiver_uses

log = logging.getLogger(__name__)

# Collectors run at once on a transport that allows it: enough to overlap their follow-up commands.
_COLLECTORS_AT_ONCE = 4

ORGANISATION = "_organisation"  # evidence folder of organisation-wide facts; no target name starts with "_"
_VERDICT_STATUSES = {Status.PASS, Status.FAIL, Status.WARN, Status.NOT_APPLICABLE}


class RunObserver(Protocol):
    """Progress of a run, for the console (or anything else that wants to watch)."""

    def target_started(self, target: Target) -> None: ...
    def target_finished(self, result: TargetResult) -> None: ...


@record
class ScanOptions:
    """Attributes:
    selection: the checks the user chose (--check, --skip).
    workers: targets scanned at once.
    replay_from: answer from this run folder's evidence instead of touching hosts.
    trust_new_host_keys: accept (and record) SSH host keys not yet in known_hosts.
    """

    selection: Selection = field(default_factory=Selection)
    workers: int = 8
    replay_from: Path | None = None
    trust_new_host_keys: bool = False
    caps: Caps = DEFAULT_CAPS  # how much of a host's answer a finding may carry (auditor/caps.py)
    # Workers are forked processes, not threads: for work that waits on no host (a replay), where threads under
    # one GIL only contend. Needs a ForkableSink (each child's records are handed back to it) and Linux.
    in_processes: bool = False


@runtime_checkable
class ForkableSink(Protocol):
    """An evidence sink that processes forked from this one can report to (the bundle's EvidenceStore): a child
    hands back the entries of the records it saved, and this store adopts them into its index."""

    def save(self, target: str, record: dict[str, Any], same_as: tuple[str, str] | None = None) -> EvidenceRef: ...
    def mark(self) -> int: ...
    def entries_since(self, mark: int) -> list[Any]: ...
    def adopt(self, entries: list[Any]) -> None: ...


class _NullObserver:
    def target_started(self, target: Target) -> None:
        """Nothing to show."""

    def target_finished(self, result: TargetResult) -> None:
        """Nothing to show."""


# How the runner reaches a target: (target, log in?) -> transport. Tests pass recorded hosts here.
OpenTarget = Callable[[Target, bool], Transport]


def run_scan(
    run_id: str,
    targets: Sequence[Target],
    checks: Mapping[str, CheckSpec],
    profile: Profile,
    store: EvidenceSink,
    options: ScanOptions | None = None,
    observer: RunObserver | None = None,
    open_target: OpenTarget | None = None,
    *,
    clock: Clock,
) -> ScanResult:
    """Scan every target; on Ctrl-C, stop early and return what was collected (interrupted=True).

    clock: the run's "now": its start and end, the time recorded with each new fact, and the moment
    waivers and attestations are judged at.
    """
    observer = observer or _NullObserver()
    options = options or ScanOptions()
    # Every target's secret variables are known before the first connection: a ProxyCommand started for one
    # target must not see another's password (transports/environment.py).
    withhold_from_proxies(t.options.get(key, "") for t in targets for key in ("password_env", "passphrase_env"))
    checks = profile.effective_checks(checks)
    open_target = open_target or _opener(options)
    started = clock.now()
    cancel = threading.Event()
    results: dict[str, TargetResult] = {}
    interrupted = False
    connections = _OpenConnections()

    def assess(target: Target) -> TargetResult:
        plan = plan_target(target, checks, profile, options.selection)
        # Whatever a target answered, its findings are bounded before anything shows or stores them.
        result = cap_result(_scan_target(plan, profile, store, clock, cancel, open_target, connections), options.caps)
        # Waivers are judged at the scan's start, so every target of a run sees the same ones in force.
        return dataclasses.replace(result, findings=tuple(apply_waivers(result.findings, target, profile.waivers,
                                                                        started)))

    if options.in_processes and options.workers > 1 and len(targets) > 1 and isinstance(store, ForkableSink) \
            and _can_fork():
        results, interrupted = _in_processes(assess, targets, options.workers, store, observer)
    else:  # work that waits on no host goes on one thread when it cannot fork: more would only contend
        threads = 1 if options.in_processes else options.workers
        results, interrupted = _in_threads(assess, targets, threads, observer, cancel, connections, open_target)
    ordered = tuple(
        results.get(t.name) or TargetResult(t, None, (), "not scanned: the run was interrupted",
                                            ErrorReason.INTERRUPTED)
        for t in targets
    )
    uses = waiver_uses(profile.waivers, ((f, r.target) for r in ordered for f in r.findings), started)
    only = options.selection.only
    selected = {i: spec for i, spec in checks.items() if only is None or i in only}
    return ScanResult(run_id, __version__, started, clock.now(), profile.name, profile.sha256, selected,
                      ordered, interrupted, organisation=_attested(profile, store, started), waivers=uses)


def _can_fork() -> bool:
    from auditor.forked import can_fork  # a replay's: a scan never loads it

    return can_fork()


def _in_threads(assess: Callable[[Target], TargetResult], targets: Sequence[Target], workers: int,
                observer: RunObserver, cancel: threading.Event, connections: _OpenConnections,
                open_target: OpenTarget) -> tuple[dict[str, TargetResult], bool]:
    """Each target on a thread of a pool of `workers`; on Ctrl-C, what finished and interrupted=True."""
    results: dict[str, TargetResult] = {}
    interrupted = False

    def one(target: Target) -> TargetResult:
        observer.target_started(target)
        result = assess(target)
        observer.target_finished(result)
        return result

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="target")
    futures: dict[Future[TargetResult], Target] = {pool.submit(one, t): t for t in targets}
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.2)
            for future in done:
                results[futures[future].name] = future.result()
    except KeyboardInterrupt:
        interrupted = True
        cancel.set()
        getattr(open_target, "interrupt", lambda: None)()  # a zone dispatch stops waiting for its workers
        pool.shutdown(wait=False, cancel_futures=True)
        # Abort what is in flight until every worker has returned: commands (close_all), and connections still
        # waiting for a banner or a key exchange. Again and again, because a connection whose TCP handshake
        # ended in the moment of the Ctrl-C is registered only after the first round, and would otherwise wait
        # out its banner timeout (120 s, say) with the whole run waiting on it.
        while True:
            connections.close_all()
            abort_connections()
            if not wait(futures, timeout=0.1).not_done:
                break
        for future, target in futures.items():
            if future.done() and not future.cancelled() and target.name not in results:
                results[target.name] = future.result()
    finally:
        pool.shutdown(wait=True)
    return results, interrupted


def _in_processes(assess: Callable[[Target], TargetResult], targets: Sequence[Target], workers: int,
                  store: ForkableSink, observer: RunObserver) -> tuple[dict[str, TargetResult], bool]:
    """Each target in one of `workers` forked processes (auditor/forked.py). A child writes its records into the
    run folder itself and sends back the result with the store's entries of what it wrote, which this store
    adopts: the evidence index and the run manifest list every record as if one process had written them."""
    from auditor.forked import ChildFailed, ChildLost, map_forked

    results: dict[str, TargetResult] = {}

    def in_child(target: Target) -> tuple[TargetResult, list[Any]]:
        mark = store.mark()
        return assess(target), store.entries_since(mark)

    def arrived(index: int, answer: tuple[TargetResult, list[Any]]) -> None:
        result, entries = answer
        store.adopt(entries)
        observer.target_started(result.target)
        observer.target_finished(result)
        results[targets[index].name] = result

    try:
        map_forked(in_child, targets, workers, arrived)
    except KeyboardInterrupt:
        return results, True
    except ChildFailed as exc:  # a bug, not a target's doing: the run stops, as a crash in the runner would
        log.debug("a replay worker process failed:\n%s", exc)
        last = str(exc).strip().splitlines()[-1:] or ["?"]
        raise AuditorError(f"a replay worker process failed ({last[0]}); the evidence written so far is kept; "
                           "AUDITOR_LOG_LEVEL=DEBUG shows the traceback") from None
    except ChildLost as exc:
        for index in exc.missing:
            results[targets[index].name] = TargetResult(
                targets[index], None, (), f"not assessed: its worker process {exc.status}",
                ErrorReason.INTERRUPTED)
    return results, False


def _attested(profile: Profile, store: EvidenceSink, as_of: datetime) -> tuple[Finding, ...]:
    """Organisation-wide findings of the attestations, each pointing at its artefacts' recorded hashes."""
    findings = []
    for finding, attestation in zip(attestation_findings(profile.attestations, as_of), profile.attestations,
                                    strict=True):
        refs = tuple(store.save(ORGANISATION, {"kind": "artefact", "target": ORGANISATION, "source": a.path,
                                               "sha256_of_file": a.sha256, "size": a.size,
                                               "attestation": attestation.id, "collected_at": iso(as_of)})
                     for a in attestation.artefacts)
        findings.append(dataclasses.replace(finding, evidence=refs))
    return tuple(findings)


class _OpenConnections:
    """The transports in use, so that an interrupt can close them all from the main thread."""

    def __init__(self) -> None:
        self._open: set[RecordingTransport] = set()
        self._closed: set[RecordingTransport] = set()  # by close_all, which an interrupt calls until all are done
        self._lock = threading.Lock()

    def add(self, recorder: RecordingTransport) -> None:
        with self._lock:
            self._open.add(recorder)

    def remove(self, recorder: RecordingTransport) -> None:
        with self._lock:
            self._open.discard(recorder)
        recorder.close()

    def close_all(self) -> None:
        """Close every transport in use that this has not closed yet."""
        with self._lock:
            recorders = list(self._open - self._closed)
            self._closed.update(recorders)
        for recorder in recorders:
            recorder.close()


def _opener(options: ScanOptions) -> OpenTarget:
    if options.replay_from is not None:
        from auditor.transports.replay import RecordedRun

        # The evidence index is read once per run and each target gets its slice: linear in targets.
        return RecordedRun(options.replay_from).open

    def open_target(target: Target, login: bool) -> Transport:
        return open_transport(target, login=login, trust_new_host_keys=options.trust_new_host_keys)

    return open_target


def _connection_reason(exc: AuditorError) -> ErrorReason:
    if isinstance(exc, UnsupportedTarget):
        return ErrorReason.UNSUPPORTED
    if isinstance(exc, AuthenticationError):
        return ErrorReason.AUTH_FAILED
    if isinstance(exc, CommandTimeout):
        return ErrorReason.TIMEOUT
    return ErrorReason.UNREACHABLE


def _scan_target(plan: TargetPlan, profile: Profile, store: EvidenceSink, clock: Clock, cancel: threading.Event,
                 open_target: OpenTarget, connections: _OpenConnections) -> TargetResult:
    target = plan.target
    try:
        transport = open_target(target, plan.login)
    except AuditorError as exc:
        failed = TargetResult(target, None, (), str(exc), _connection_reason(exc))
        network, rest = plan.without_login()
        # Interrupted: no new connection. No TCP connection at all: the network view could only wait for the same
        # failure again (a port that drops packets would cost a second connect_timeout).
        if not plan.login or not network.checks or cancel.is_set() or isinstance(exc, NoTcpConnection):
            return failed
        # Checks of what the network shows (SSH-0100) need no login: they run; the others carry the login's failure.
        seen = _scan_target(network, profile, store, clock, cancel, open_target, connections)
        ran = [f for f in seen.findings if f.status is not Status.SKIPPED]
        if seen.connection_error or all(f.status is Status.ERROR for f in ran):
            return failed  # the network view failed too: the target is unreachable
        # The finding names its target already: its message gives what went wrong, not the name again.
        why = exc.message if isinstance(exc, TransportError) else str(exc)
        not_assessed = [Finding(spec.id, target.name, Status.ERROR, f"Not assessed: {why}",
                                requirements=spec.requirements, error_reason=failed.error_reason, error=str(exc))
                        for spec in rest]
        findings = sorted((*seen.findings, *not_assessed), key=lambda f: f.check_id)
        return TargetResult(target, seen.system, tuple(findings), str(exc), failed.error_reason)
    except Exception as exc:  # a library's surprise on one target must not stop the run for the others
        log.debug("opening %s failed", target.name, exc_info=True)
        return TargetResult(target, None, (), f"could not open the target: {type(exc).__name__}: {exc}",
                            ErrorReason.UNREACHABLE)
    recorder = RecordingTransport(transport, store, clock, Limits.of(target))
    connections.add(recorder)
    try:
        return _assess(plan, profile, recorder, cancel)
    except Exception as exc:  # the same: what was collected stays in the evidence, the target is an error
        log.debug("assessing %s failed", target.name, exc_info=True)
        return TargetResult(target, None, (), f"the scan of this target failed: {type(exc).__name__}: {exc}",
                            ErrorReason.COLLECTOR_FAILED)
    finally:
        connections.remove(recorder)


def _assess(plan: TargetPlan, profile: Profile, recorder: RecordingTransport, cancel: threading.Event,
            ) -> TargetResult:
    target = plan.target
    system_view = recorder.view(SYSTEM)
    if target.kind is TargetKind.SSH:
        # The verified host key is evidence of whom we talked to, whatever the checks.
        _prefetch(recorder, [HOSTKEY_COMMAND], [])
    if plan.detects_system:
        _prefetch(recorder, *system_requests())
        try:
            system = detect(system_view)
        except AuditorError as exc:
            why = _connection_reason(exc) if isinstance(exc, TransportError) else ErrorReason.COLLECTOR_FAILED
            return TargetResult(target, None, (), f"could not detect the target's system: {exc}", why)
        if system.platform is None:  # an answer naming no platform auditor knows: nothing could be judged
            return TargetResult(target, system, (), _undetected(system_view.run(UNAME)), ErrorReason.UNSUPPORTED)
    else:
        system = SystemFacts(platform=None)  # an endpoint, or a host seen only from the network

    runnable, skipped = plan.for_system(system)
    # In check order, as the profile lists them, whichever step skipped them.
    findings = [_skipped(skip, target) for skip in sorted((*plan.skipped, *skipped), key=lambda s: s.check.id)]
    needed = collectors_for(runnable)
    planned = [COLLECTORS[name].requests(system, **_parameters(name, profile, target)) for name in needed]
    commands, paths = slow_first(c for r in planned for c in r[0]), [p for r in planned for p in r[1]]
    if recorder.concurrent:
        # On this machine every command starts at once, the slow ones (apt's reader, a Perl pg_lsclusters) first:
        # started collector by collector, a slow command of a collector planned late started 0.13 s late. Each
        # collector then waits for its own answers only.
        recorder.start(commands, paths)
    else:
        _prefetch(recorder, commands, paths)  # elsewhere, one batch
    facts: dict[str, Any] = {SYSTEM: system}
    used: dict[str, list[EvidenceRef]] = {SYSTEM: system_view.used}
    failures: dict[str, str] = {}
    unheard: dict[str, str] = {}  # collectors to whose questions the target answered nothing in time
    heard = False  # some collector's question was answered
    missing_rights: dict[str, str] = {}
    for name, consumer, view, outcome in _gathered(needed, recorder, system, profile, target, cancel):
        if isinstance(outcome, PermissionMissing):
            missing_rights[name] = str(outcome)
        elif isinstance(outcome, (ConnectError, CommandTimeout)):
            if not plan.detects_system:  # an endpoint where nothing answered is not assessed, like a host
                return TargetResult(target, system, tuple(findings), str(outcome), _connection_reason(outcome))
            failures[name] = unheard[name] = str(outcome)
        elif isinstance(outcome, AuditorError):
            failures[name] = str(outcome)
        elif isinstance(outcome, Exception):  # a collector bug on one host must not stop the run
            log.debug("collector %s failed on %s", name, target.name, exc_info=outcome)
            failures[name] = f"collector '{name}' failed: {type(outcome).__name__}: {outcome}"
        else:
            facts[name] = outcome
        used[name] = view.used
        if consumer.limited and name not in failures:  # judged on half a fact, a check could pass falsely
            failures[name] = f"not assessed within the target's limits: {consumer.limited[0]}"
        # On a host we logged in to, what the network shows (SSH-0100's banner) does not make the host assessed.
        heard = heard or (view.heard and (COLLECTORS[name].needs_login or not plan.detects_system))
        if name in facts and view.timeouts():  # facts partly made of timeouts are not judged (answers.py)
            failures[name] = view.timeouts()
            if not view.heard:
                unheard[name] = failures[name]

    for spec in runnable:
        if cancel.is_set():
            return TargetResult(target, system, tuple(findings), "interrupted before every check ran",
                                ErrorReason.INTERRUPTED)
        evidence = tuple(dict.fromkeys(ref for name in spec.facts for ref in used.get(name, ())))
        lacking = [missing_rights[name] for name in spec.facts if name in missing_rights]
        if lacking:
            findings.append(Finding(spec.id, target.name, Status.SKIPPED, lacking[0], requirements=spec.requirements,
                                    evidence=evidence, skip_reason=lacking[0]))
            continue
        failed = [failures[name] for name in spec.facts if name in failures]
        if failed:
            findings.append(Finding(spec.id, target.name, Status.ERROR, f"Could not collect evidence: {failed[0]}",
                                    requirements=spec.requirements, evidence=evidence,
                                    error_reason=ErrorReason.COLLECTOR_FAILED, error="; ".join(failed)))
            continue
        findings.extend(_evaluate(spec, target, profile, facts, evidence))
    if unheard and not heard:
        first = next(iter(unheard.values()))
        return TargetResult(target, system, tuple(findings), "nothing asked after the system was detected was "
                            f"answered in time: {first}", ErrorReason.TIMEOUT)
    return TargetResult(target, system, tuple(findings))


_Gathered = tuple[str, ConsumerView, AnswerWatch, Any]  # collector, its view, its watch, its facts or exception


def _gathered(needed: Sequence[str], recorder: RecordingTransport, system: SystemFacts, profile: Profile,
              target: Target, cancel: threading.Event) -> list[_Gathered]:
    """Each needed collector's facts (or the exception it raised), in `needed` order; until a cancel, which leaves
    the rest out. On a transport that runs commands side by side (this machine), the collectors run together:
    what one asks after the prefetched batch (a follow-up command) then waits on no other collector's."""

    def one(name: str) -> _Gathered | None:
        if cancel.is_set():
            return None
        consumer = recorder.view(name)
        view = AnswerWatch(consumer)
        try:
            outcome: Any = COLLECTORS[name].collect(view, system, **_parameters(name, profile, target))
        except Exception as exc:  # judged by the caller, in order
            outcome = exc
        return name, consumer, view, outcome

    if recorder.concurrent and len(needed) > 1:
        with ThreadPoolExecutor(max_workers=_COLLECTORS_AT_ONCE, thread_name_prefix="collect") as pool:
            gathered = list(pool.map(one, needed))
    else:
        gathered = [one(name) for name in needed]  # after a cancel, each returns at once
    return [item for item in itertools.takewhile(lambda item: item is not None, gathered) if item is not None]


def _undetected(uname: CommandResult) -> str:
    """Why a target whose system answered no known platform is not assessed, quoting what it said."""
    said = " ".join(uname.stdout.split())
    quoted = repr(said[:60] + ("…" if len(said) > 60 else ""))
    return (f"its platform could not be detected: `{uname.command}` answered {quoted}, which names none of the "
            "platforms auditor assesses (Linux, macOS, Windows)")


def _parameters(collector: str, profile: Profile, target: Target) -> dict[str, Any]:
    """The profile values a collector declared it needs (where to look), by name; "target" is the target."""
    return {name: target if name == "target" else profile.parameters[name]
            for name in COLLECTORS[collector].parameters}


def _skipped(skip: Skip, target: Target) -> Finding:
    if skip.status is Status.NOT_APPLICABLE:  # as the check itself would say it: a verdict, not a skip
        return Finding(skip.check.id, target.name, Status.NOT_APPLICABLE, skip.reason,
                       requirements=skip.check.requirements)
    return Finding(skip.check.id, target.name, Status.SKIPPED, skip.reason, requirements=skip.check.requirements,
                   skip_reason=skip.reason)


def _prefetch(recorder: RecordingTransport, commands: Sequence[Command], paths: Sequence[str]) -> None:
    try:
        recorder.prefetch(commands, paths)
    except AuditorError as exc:
        # Prefetch is an optimisation; each collector asks again and meets (and reports) the error itself.
        log.debug("prefetch on %s failed: %s", recorder.target, exc)


def _evaluate(spec: CheckSpec, target: Target, profile: Profile, facts: Mapping[str, Any],
              evidence: tuple[EvidenceRef, ...]) -> list[Finding]:
    kwargs = {name: facts[name] for name in spec.facts}
    for name in spec.params:
        kwargs[name] = target if name == "target" else profile.parameters[name]
    assert spec.func is not None
    try:
        returned = spec.func(**kwargs)
        verdicts = [returned] if isinstance(returned, Verdict) else list(returned)
        for verdict in verdicts:
            if not isinstance(verdict, Verdict) or verdict.status not in _VERDICT_STATUSES:
                raise TypeError(f"{spec.id} returned {verdict!r}; a check returns Verdicts of pass, fail, warn "
                                "or not_applicable")
    except Exception as exc:
        return [Finding(spec.id, target.name, Status.ERROR, f"The check failed: {type(exc).__name__}: {exc}",
                        requirements=spec.requirements, evidence=evidence, error_reason=ErrorReason.CHECK_BUG,
                        error=traceback.format_exc())]
    if not verdicts:
        return [Finding(spec.id, target.name, Status.NOT_APPLICABLE,
                        "Nothing this check judges was found on the target.", requirements=spec.requirements,
                        evidence=evidence)]
    return [
        Finding(spec.id, target.name, v.status, v.message, v.resource, spec.requirements, dict(v.observed),
                dict(v.expected), evidence)
        for v in verdicts
    ]
