"""The runner: for each target, connect, detect the system, plan, collect each fact once, evaluate.

One target's failure never stops the run: an unreachable target is recorded with its reason, a failing
collector turns the checks that need it into ERROR findings, a crashing check into an ERROR with its
traceback text. Targets run in parallel; each uses one connection.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from auditor import __version__
from auditor.attestations import attestation_findings
from auditor.collectors import COLLECTORS, SYSTEM
from auditor.collectors.ssh_wire import HOSTKEY_COMMAND
from auditor.collectors.system import detect
from auditor.collectors.system import requests as system_requests
from auditor.errors import (
    AuditorError,
    AuthenticationError,
    CommandTimeout,
    PermissionMissing,
    TransportError,
    UnsupportedTarget,
)
from auditor.evidence import EvidenceStore, RecordingTransport, iso, utc_now
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
from auditor.plugin import HOSTS
from auditor.profile import Profile
from auditor.transports import open_transport
from auditor.transports.base import Command, Transport
from auditor.waivers import apply_waivers, waiver_uses

log = logging.getLogger(__name__)

NETWORK_COLLECTORS = frozenset({"ssh_wire", "tls"})  # facts gathered without logging in
ORGANISATION = "_organisation"  # evidence folder of organisation-wide facts; no target name starts with "_"
_VERDICT_STATUSES = {Status.PASS, Status.FAIL, Status.WARN, Status.NOT_APPLICABLE}


class RunObserver(Protocol):
    """Progress of a run, for the console (or anything else that wants to watch)."""

    def target_started(self, target: Target) -> None: ...
    def target_finished(self, result: TargetResult) -> None: ...


@dataclass(frozen=True)
class ScanOptions:
    """Attributes:
    only: run just these check ids (None: all).
    skip: check ids excluded by the user; they appear as SKIPPED with that reason.
    workers: targets scanned at once.
    replay_from: answer from this run folder's evidence instead of touching hosts.
    trust_new_host_keys: accept (and record) SSH host keys not yet in known_hosts.
    """

    only: frozenset[str] | None = None
    skip: frozenset[str] = field(default_factory=frozenset)
    workers: int = 8
    replay_from: Path | None = None
    trust_new_host_keys: bool = False


class _NullObserver:
    def target_started(self, target: Target) -> None:
        """Nothing to show."""

    def target_finished(self, result: TargetResult) -> None:
        """Nothing to show."""


def run_scan(
    run_id: str,
    targets: Sequence[Target],
    checks: Mapping[str, CheckSpec],
    profile: Profile,
    store: EvidenceStore,
    options: ScanOptions | None = None,
    observer: RunObserver | None = None,
    open_target: Callable[[Target, ScanOptions], Transport] | None = None,
) -> ScanResult:
    """Scan every target; on Ctrl-C, stop early and return what was collected (interrupted=True)."""
    observer = observer or _NullObserver()
    options = options or ScanOptions()
    checks = profile.effective_checks(checks)
    open_target = open_target or _open
    started = utc_now()
    cancel = threading.Event()
    results: dict[str, TargetResult] = {}
    interrupted = False
    connections = _OpenConnections()

    def one(target: Target) -> TargetResult:
        observer.target_started(target)
        result = _scan_target(target, checks, profile, store, options, cancel, open_target, connections)
        # Waivers are judged at the scan's start, so every target of a run sees the same ones in force.
        result = dataclasses.replace(result, findings=tuple(apply_waivers(result.findings, target,
                                                                           profile.waivers, started)))
        observer.target_finished(result)
        return result

    pool = ThreadPoolExecutor(max_workers=max(1, options.workers), thread_name_prefix="target")
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
        connections.close_all()  # aborts commands in flight, so the workers return promptly
        pool.shutdown(wait=True, cancel_futures=True)
        for future, target in futures.items():
            if future.done() and not future.cancelled() and target.name not in results:
                results[target.name] = future.result()
    finally:
        pool.shutdown(wait=True)
    ordered = tuple(
        results.get(t.name) or TargetResult(t, None, (), "not scanned: the run was interrupted",
                                            ErrorReason.INTERRUPTED)
        for t in targets
    )
    uses = waiver_uses(profile.waivers, ((f, r.target) for r in ordered for f in r.findings), started)
    selected = {i: spec for i, spec in checks.items() if options.only is None or i in options.only}
    return ScanResult(run_id, __version__, started, utc_now(), profile.name, profile.sha256, selected,
                      ordered, interrupted, organisation=_attested(profile, store, started), waivers=uses)


def _attested(profile: Profile, store: EvidenceStore, as_of: datetime) -> tuple[Finding, ...]:
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
        self._lock = threading.Lock()

    def add(self, recorder: RecordingTransport) -> None:
        with self._lock:
            self._open.add(recorder)

    def remove(self, recorder: RecordingTransport) -> None:
        with self._lock:
            self._open.discard(recorder)
        recorder.close()

    def close_all(self) -> None:
        with self._lock:
            recorders = list(self._open)
        for recorder in recorders:
            recorder.close()


def _open(target: Target, options: ScanOptions) -> Transport:
    return open_transport(target, options.replay_from, trust_new_host_keys=options.trust_new_host_keys)


def _connection_reason(exc: AuditorError) -> ErrorReason:
    if isinstance(exc, UnsupportedTarget):
        return ErrorReason.UNSUPPORTED
    if isinstance(exc, AuthenticationError):
        return ErrorReason.AUTH_FAILED
    if isinstance(exc, CommandTimeout):
        return ErrorReason.TIMEOUT
    return ErrorReason.UNREACHABLE


def _scan_target(
    target: Target,
    checks: Mapping[str, CheckSpec],
    profile: Profile,
    store: EvidenceStore,
    options: ScanOptions,
    cancel: threading.Event,
    open_target: Callable[[Target, ScanOptions], Transport],
    connections: _OpenConnections,
) -> TargetResult:
    applicable = [s for s in checks.values() if target.kind in s.target_kinds
                  and (options.only is None or s.id in options.only)]
    if (target.kind is TargetKind.SSH and applicable and options.replay_from is None
            and all(set(s.facts) <= NETWORK_COLLECTORS for s in applicable)):
        # Only checks seen from the network were asked for: no login, as for `auth: none`.
        target = dataclasses.replace(target, options={**target.options, "auth": "none"})
    try:
        transport = open_target(target, options)
    except AuditorError as exc:
        return TargetResult(target, None, (), str(exc), _connection_reason(exc))
    except Exception as exc:  # a library's surprise on one target must not stop the run for the others
        log.debug("opening %s failed", target.name, exc_info=True)
        return TargetResult(target, None, (), f"could not open the target: {type(exc).__name__}: {exc}",
                            ErrorReason.UNREACHABLE)
    recorder = RecordingTransport(transport, store)
    connections.add(recorder)
    try:
        return _assess(target, applicable, profile, recorder, options, cancel)
    except Exception as exc:  # the same: what was collected stays in the evidence, the target is an error
        log.debug("assessing %s failed", target.name, exc_info=True)
        return TargetResult(target, None, (), f"the scan of this target failed: {type(exc).__name__}: {exc}",
                            ErrorReason.COLLECTOR_FAILED)
    finally:
        connections.remove(recorder)


def _assess(target: Target, applicable: list[CheckSpec], profile: Profile, recorder: RecordingTransport,
            options: ScanOptions, cancel: threading.Event) -> TargetResult:
    system_view = recorder.view(SYSTEM)
    if target.kind is TargetKind.SSH:
        # The verified host key is evidence of whom we talked to, whatever the checks.
        _prefetch(recorder, [HOSTKEY_COMMAND], [])
    if target.kind in HOSTS and not _network_only(target):
        _prefetch(recorder, *system_requests())
        try:
            system = detect(system_view)
        except AuditorError as exc:
            why = _connection_reason(exc) if isinstance(exc, TransportError) else ErrorReason.COLLECTOR_FAILED
            return TargetResult(target, None, (), f"could not detect the target's system: {exc}", why)
    else:
        system = SystemFacts(platform=None)  # an endpoint has no operating system to detect

    runnable: list[CheckSpec] = []
    findings: list[Finding] = []
    for spec in applicable:
        reason = _skip_reason(spec, target, system, options, profile)
        if reason:
            findings.append(Finding(spec.id, target.name, Status.SKIPPED, reason, requirements=spec.requirements,
                                    skip_reason=reason))
        else:
            runnable.append(spec)

    needed = list(dict.fromkeys(name for spec in runnable for name in spec.facts if name != SYSTEM))
    planned = [COLLECTORS[name].requests(system, **_parameters(name, profile, target)) for name in needed]
    _prefetch(recorder, [c for r in planned for c in r[0]], [p for r in planned for p in r[1]])
    facts: dict[str, Any] = {SYSTEM: system}
    used: dict[str, list[EvidenceRef]] = {SYSTEM: system_view.used}
    failures: dict[str, str] = {}
    missing_rights: dict[str, str] = {}
    for name in needed:
        if cancel.is_set():
            break
        view = recorder.view(name)
        try:
            facts[name] = COLLECTORS[name].collect(view, system, **_parameters(name, profile, target))
        except PermissionMissing as exc:
            missing_rights[name] = str(exc)
        except AuditorError as exc:
            failures[name] = str(exc)
        except Exception as exc:  # a collector bug on one host must not stop the run
            log.debug("collector %s failed on %s", name, target.name, exc_info=True)
            failures[name] = f"collector '{name}' failed: {type(exc).__name__}: {exc}"
        used[name] = view.used

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
    return TargetResult(target, system, tuple(findings))


def _parameters(collector: str, profile: Profile, target: Target) -> dict[str, Any]:
    """The profile values a collector declared it needs (where to look), by name; "target" is the target."""
    return {name: target if name == "target" else profile.parameters[name]
            for name in COLLECTORS[collector].parameters}


def _network_only(target: Target) -> bool:
    """`auth: none`: we may not log in, so only what is seen from the network is assessed."""
    return target.options.get("auth") == "none"


def _skip_reason(spec: CheckSpec, target: Target, system: SystemFacts, options: ScanOptions,
                 profile: Profile) -> str:
    if spec.id in options.skip:
        return f"excluded by --skip {spec.id}"
    tailoring = profile.checks.get(spec.id)
    if tailoring and not tailoring.enabled:
        return f"removed by the profile ({tailoring.where})"
    if tailoring and not tailoring.scope.matches(target):
        return f"outside the profile's scope for this check ({tailoring.scope.describe()})"
    if _network_only(target):
        return "" if set(spec.facts) <= NETWORK_COLLECTORS else "auth: none: only checks seen from the network run"
    if target.kind not in HOSTS:
        return ""
    if system.platform is None:
        return "the target's platform could not be detected"
    if system.platform not in spec.platforms:
        runs_on = ", ".join(sorted(p.value for p in spec.platforms))
        return f"runs on {runs_on}; target is {system.platform.value}"
    if spec.requires_root and not system.is_root and not target.options.get("sudo"):
        return "needs root; run the scan as root or set sudo: true for this target"
    return ""


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
        return [Finding(spec.id, target.name, Status.NOT_APPLICABLE, "No resources of this kind were found.",
                        requirements=spec.requirements, evidence=evidence)]
    return [
        Finding(spec.id, target.name, v.status, v.message, v.resource, spec.requirements, dict(v.observed),
                dict(v.expected), evidence)
        for v in verdicts
    ]
