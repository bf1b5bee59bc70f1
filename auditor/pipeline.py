"""The scan pipeline, from a loaded profile and inventory to a finished run folder:
plan and collect and evaluate (runner), then bundle (results, history, reports, signed manifest, seal).

The CLI parses flags into a `RunRequest` and calls `run`; nothing here reads argparse or prints. "Now"
comes from the clock the caller passes (the CLI passes the system clock).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.bundle.evidence import EvidenceStore
from auditor.bundle.finish import finish, prune
from auditor.bundle.layout import PROFILE, RESULTS
from auditor.bundle.manifest import Verification
from auditor.bundle.provenance import provenance_of
from auditor.clock import Clock
from auditor.collectors import COLLECTORS
from auditor.errors import ExitCode, InputError
from auditor.files import dump_json, write_atomic
from auditor.models import CheckSpec, ScanResult, Status, Target, TargetKind
from auditor.plan import Selection
from auditor.profile import Profile
from auditor.records import record
from auditor.registry import discover
from auditor.runner import OpenTarget, RunObserver, ScanOptions, run_scan

if TYPE_CHECKING:
    from auditor.report.pdf_process import PdfProcess


@record
class RunRequest:
    """Everything a scan or replay needs, decided before anything is touched.

    Attributes:
        replay_from: answer from this run folder's evidence instead of the hosts; replayed: that run as verified
            first (bundle/manifest.py `replayable`): only the files its manifest lists are used, and the new run
            names it, with how far its signature was checked; replayed_results: its results.json as already read
            (None: read when needed).
        only / skip: check ids chosen with --check / --skip.
        out: the run folder (None: reports_dir/<run-id>).
        formats / lang: reports rendered into the run folder before it is signed.
        signer: the unlocked signing key, or None for an unsigned run.
        seal_to: raw X25519 public keys the finished run is sealed to.
        history: the history database (None: not recorded).
        audit_head: the head of the tool's audit log, recorded in the run manifest.
        keep: keep only the newest N run folders in reports_dir (0: all).
        legacy_ssh: every SSH target may be logged into with legacy algorithms (--legacy-ssh; as `legacy_ssh: true`).
    """

    profile: Profile
    targets: Sequence[Target]
    reports_dir: Path
    out: Path | None = None
    replay_from: Path | None = None
    replayed: Verification | None = None
    replayed_results: ScanResult | None = None
    only: Sequence[str] = ()
    skip: Sequence[str] = ()
    workers: int = 8
    trust_new_host_keys: bool = False
    legacy_ssh: bool = False
    formats: Sequence[str] = ()
    lang: str = "en"
    signer: Any = None
    seal_to: Sequence[bytes] = ()
    history: Path | None = None
    audit_head: str = ""
    keep: int = 0
    broker: Any = None  # auditor.zones.app.BrokerSettings: zoned targets are dispatched through it (docs/zones.md)
    zone_answer_within: float = 60.0


@record
class RunOutcome:
    """What a finished run left behind, for the caller to show."""

    result: ScanResult
    run_dir: Path
    reports: Sequence[Path] = ()
    report_error: str = ""  # why the reports could not be written (the evidence is intact)
    bundle: Path | None = None
    signed: bool = False
    code: ExitCode = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", exit_code(self.result))


def exit_code(result: ScanResult) -> ExitCode:
    if result.interrupted:
        return ExitCode.INTERRUPTED
    findings = result.findings()
    if any(t.connection_error for t in result.targets) or any(f.status is Status.ERROR for f in findings):
        return ExitCode.INCOMPLETE
    if any(f.status is Status.FAIL for f in findings):
        return ExitCode.FINDINGS
    return ExitCode.OK


def new_run_id(clock: Clock) -> str:
    return f"{clock.now():%Y%m%dT%H%M%SZ}-{os.urandom(2).hex()}"


def load_checks(profile: Profile) -> dict[str, CheckSpec]:
    """Every installed check, validated against the profile (and the profile against them)."""
    checks = discover(COLLECTORS, profile.parameters, [r.id for r in profile.requirements])
    profile.validate(checks)
    return checks


def selection(ids: Sequence[str], checks: Collection[str], flag: str) -> frozenset[str]:
    """Check ids named on the command line, each known (or a did-you-mean), in any case: an id is FAMILY-NNNN
    in upper case by definition, so `tls-0010` can only mean TLS-0010."""
    for check_id in ids:
        if check_id.upper() not in checks:
            close = difflib.get_close_matches(check_id.upper(), list(checks), n=1)
            hint = f"did you mean {close[0]}?" if close else "see `auditor checks list`"
            raise InputError(f"unknown check id {check_id!r}", flag, hint)
    return frozenset(check_id.upper() for check_id in ids)


def prepare_run_dir(out: Path | None, run_id: str, reports_dir: Path) -> Path:
    """A new or empty run folder; an earlier run is never overwritten."""
    run_dir = out or reports_dir / run_id
    if run_dir.exists():
        if not run_dir.is_dir():
            raise InputError("exists and is not a folder", f"--out {run_dir}", "name a new folder")
        if any(run_dir.iterdir()):
            what = "holds an earlier run" if (run_dir / RESULTS).exists() else "is not empty and not a run folder"
            raise InputError(f"{what}; auditor never overwrites evidence", f"--out {run_dir}",
                             "name a new or empty folder")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # the CLI tried this before; a library caller, or a folder changed since, lands here
        raise InputError(f"the run folder cannot be created ({exc.strerror})", f"--out {run_dir}",
                         "choose a folder you can write to") from None
    return run_dir


def run(request: RunRequest, *, clock: Clock, observer: RunObserver | None = None) -> RunOutcome:
    """Scan (or replay) every target, then finish the run folder: results, history, reports, manifest, seal."""
    # The PDF's renderer starts now, so that WeasyPrint's import overlaps the scan (report/pdf_process.py).
    pdf_process = None
    if "pdf" in request.formats:
        from auditor.report.pdf_process import start

        pdf_process = start()
    try:
        return _run(request, clock, observer, pdf_process)
    finally:
        if pdf_process is not None:
            pdf_process.close()


def _run(request: RunRequest, clock: Clock, observer: RunObserver | None,
         pdf_process: PdfProcess | None) -> RunOutcome:
    checks = load_checks(request.profile)
    options = ScanOptions(
        selection=Selection(selection(request.only, checks, "--check") if request.only else None,
                            selection(request.skip, checks, "--skip")),
        workers=request.workers,
        replay_from=request.replay_from,
        in_processes=request.replay_from is not None,  # a replay waits on no host: CPU, one GIL per process
        trust_new_host_keys=request.trust_new_host_keys,
    )
    # How targets are reached (None: the runner connects): a verified replay reads the source's evidence index
    # once and only what its run manifest lists; a run with zones dispatches those targets to their workers.
    open_target: OpenTarget | None = None
    if request.replay_from is not None and request.replayed is not None:
        from auditor.transports.replay import RecordedRun

        open_target = RecordedRun(request.replay_from, request.replayed.listed).open
    run_id = new_run_id(clock)
    run_dir = prepare_run_dir(request.out, run_id, request.reports_dir)
    write_atomic(run_dir / PROFILE, dump_json(request.profile.document()), durable=False)  # the manifest flushes
    store = EvidenceStore(run_dir)
    try:
        targets = [dataclasses.replace(t, options={**t.options, "legacy_ssh": True})
                   if request.legacy_ssh and t.kind is TargetKind.SSH else t for t in request.targets]
        if request.replay_from is None and any(t.options.get("zone") for t in targets):
            from auditor.zones.dispatch import dispatch_zones

            open_target = dispatch_zones(run_id, targets, checks, request.profile, options.selection,
                                         request.broker, request.trust_new_host_keys, request.zone_answer_within)
        result = run_scan(run_id, targets, checks, request.profile, store, options, observer, open_target,
                          clock=clock)
    finally:
        store.write_manifest()
    # When the judged facts were collected: a replay's came from the source run, whatever today's date.
    source = request.replayed_results or request.replay_from
    result = dataclasses.replace(result, provenance=provenance_of(run_dir, source))
    if request.replayed is not None:
        result = dataclasses.replace(result, replayed_from=request.replayed.run_id,
                                     replayed_manifest=request.replayed.manifest_sha256,
                                     replayed_signature=request.replayed.signature.value)
    rendered: dict[str, Any] = {}

    def render() -> None:
        if request.formats:
            rendered.update(_render(run_dir, request.formats, request.lang, pdf_process, request.signer is not None))

    bundle = finish(run_dir, result, db=request.history, render=render, signer=request.signer,
                    audit_head=request.audit_head, seal_to=request.seal_to, written=store.written())
    if request.keep:
        prune(request.reports_dir, request.keep)
    return RunOutcome(result, run_dir, rendered.get("written", ()), rendered.get("error", ""), bundle,
                      request.signer is not None)


def _render(run_dir: Path, formats: Sequence[str], lang: str, pdf_process: PdfProcess | None,
            signed: bool) -> Mapping[str, Any]:
    """Render reports (before the run is signed, `signed` says whether it will be); a rendering failure is
    reported, and the evidence already written stays."""
    from auditor.report.render import render_reports

    try:
        return {"written": render_reports(run_dir, formats, lang, pdf_process=pdf_process, signed=signed)}
    except OSError as exc:
        return {"error": f"the report could not be written ({exc}); the evidence is intact in {run_dir}"}
