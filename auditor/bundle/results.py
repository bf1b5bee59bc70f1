"""ScanResult <-> results.json: the canonical artefact of a run, which every report is rendered from."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

from auditor.bundle.layout import RESULTS
from auditor.clock import iso
from auditor.errors import InputError
from auditor.files import dump_json, load_json, write_atomic
from auditor.models import (
    CheckSpec,
    ControlRef,
    ErrorReason,
    EvidenceRef,
    Finding,
    Location,
    Platform,
    Provenance,
    Role,
    ScanResult,
    Scope,
    Severity,
    Status,
    SystemFacts,
    Target,
    TargetKind,
    TargetResult,
    Waiver,
    WaiverUse,
)

SCHEMA_VERSION = 1


def to_document(result: ScanResult) -> dict[str, Any]:
    findings = result.findings()
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "id": result.run_id,
            "started_at": iso(result.started_at),
            "finished_at": iso(result.finished_at),
            "scanner_version": result.scanner_version,
            "profile_name": result.profile_name,
            "profile_sha256": result.profile_sha256,
            "interrupted": result.interrupted,
            "replayed_from": result.replayed_from,
            # A replay names the run it re-evaluated by manifest hash, and how far that run's signature was checked.
            **({"replayed_manifest_sha256": result.replayed_manifest, "replayed_signature": result.replayed_signature}
               if result.replayed_from else {}),
            **_provenance(result.provenance),
        },
        "summary": dict(sorted(Counter(f.status.value for f in findings).items())),
        "targets": [_target(t) for t in result.targets],
        "checks": {spec.id: _check(spec) for spec in result.checks.values()},
        "findings": [_finding(f) for f in findings],
        "waivers": [_waiver_use(u) for u in result.waivers],
    }


def write_results(result: ScanResult, run_dir: Path) -> Path:
    path = run_dir / RESULTS
    write_atomic(path, dump_json(to_document(result)), durable=False)  # flushed by the run manifest
    return path


def read_results(run_dir: Path, *, findings: bool = True) -> ScanResult:
    """The run's results.json; findings=False leaves the findings out (a replay needs the targets and the run's
    times, not 7,800 findings of a 200-target run)."""
    path = run_dir / RESULTS
    try:
        document = load_json(path.read_bytes())
    except FileNotFoundError:
        raise InputError("not a run folder (no results.json)", str(run_dir),
                         "give the folder a scan wrote, e.g. reports/<run-id>") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"results.json cannot be read ({exc})", str(path), "restore the run folder") from None
    try:
        if not isinstance(document, dict):  # valid JSON of another shape ([] or "x"): no .get to call
            raise TypeError(f"a JSON {type(document).__name__}, not an object")
        if not findings:
            document["findings"] = []
        return from_document(document)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"results.json does not have the expected shape ({type(exc).__name__}: {exc})",
                         str(path), f"it must be schema_version {SCHEMA_VERSION} written by auditor") from None


def from_document(document: dict[str, Any]) -> ScanResult:
    if document.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"schema_version {document.get('schema_version')!r} is not {SCHEMA_VERSION}")
    run = document["run"]
    by_target: dict[str, list[Finding]] = {}
    for item in document["findings"]:
        finding = Finding(
            check_id=item["check_id"], target=item["target"], status=Status(item["status"]),
            message=item["message"], resource=item.get("resource", ""),
            requirements=tuple(item.get("requirements", ())), observed=item.get("observed", {}),
            expected=item.get("expected", {}),
            evidence=tuple(EvidenceRef(e["path"], e["sha256"], e.get("source", "")) for e in item["evidence"]),
            skip_reason=item.get("skip_reason", ""),
            error_reason=ErrorReason(item["error_reason"]) if item.get("error_reason") else None,
            error=item.get("error", ""),
            raw_status=Status(item["raw_status"]) if item.get("raw_status") else None,
            waiver=item.get("waiver", ""),
        )
        by_target.setdefault(finding.target, []).append(finding)
    organisation = tuple(by_target.pop("", ()))
    targets = []
    for item in document["targets"]:
        target = Target(item["name"], TargetKind(item["kind"]), Role(item["role"]), Location(item["location"]),
                        tuple(item.get("tags", ())), item.get("options", {}))
        system = item.get("system")
        facts = None if system is None else SystemFacts(
            Platform(system["platform"]) if system.get("platform") else None, system.get("os_name", ""),
            system.get("os_version", ""), system.get("os_id", ""), system.get("hostname", ""),
            system.get("architecture", ""), system.get("kernel", ""), bool(system.get("is_root", False)),
        )
        reason = item.get("error_reason")
        targets.append(TargetResult(target, facts, tuple(by_target.get(target.name, ())),
                                    item.get("connection_error", ""), ErrorReason(reason) if reason else None))
    checks = {
        check_id: CheckSpec(
            id=check_id, title=c["title"], severity=Severity(c["severity"]),
            requirements=tuple(c["requirements"]),
            controls=tuple(ControlRef(*ref.split(":", 1)) for ref in c["controls"]),
            platforms=frozenset(Platform(p) for p in c["platforms"]),
            target_kinds=frozenset(TargetKind(k) for k in c["target_kinds"]),
            requires_root=bool(c["requires_root"]), remediation=c["remediation"],
            facts=tuple(c.get("facts", ())), params=tuple(c.get("params", ())), source=c.get("source", ""),
            pack=c.get("pack", ""), roles=frozenset(Role(r) for r in c.get("roles", ())),  # none before 2026-12-04
        )
        for check_id, c in document["checks"].items()
    }
    waivers = tuple(
        WaiverUse(Waiver(w["id"], w["check"], Scope(*(tuple(w.get(k, ())) for k in ("targets", "roles", "locations",
                                                                                       "tags"))),
                         w["reason"], w["approver"], date.fromisoformat(w["created"]),
                         datetime.fromisoformat(w["expires"]), w["risk"], w.get("instruction", ""), w.get("where", "")),
                  w["state"], tuple(w.get("matched", ())))
        for w in document.get("waivers", ())
    )
    return ScanResult(run["id"], run["scanner_version"], datetime.fromisoformat(run["started_at"]),
                      datetime.fromisoformat(run["finished_at"]), run.get("profile_name", ""),
                      run["profile_sha256"], checks, tuple(targets), bool(run.get("interrupted", False)),
                      run.get("replayed_from", ""), organisation, waivers,
                      run.get("replayed_manifest_sha256", ""), run.get("replayed_signature", ""),
                      _read_provenance(run))


def _provenance(p: Provenance) -> dict[str, Any]:
    """When the facts were collected (a replay: by the run it re-evaluated, whose times and profile follow);
    the run's own started_at is when they were evaluated."""
    def when(moment: datetime | None) -> str | None:
        return iso(moment) if moment else None

    collected = {"evidence_collected_from": when(p.collected_from), "evidence_collected_to": when(p.collected_to)}
    if p.source_started_at is None:
        return collected
    return {**collected, "replayed_started_at": when(p.source_started_at),
            "replayed_finished_at": when(p.source_finished_at), "replayed_profile_name": p.source_profile_name,
            "replayed_profile_sha256": p.source_profile_sha256}


def _read_provenance(run: dict[str, Any]) -> Provenance:
    def when(key: str) -> datetime | None:
        return datetime.fromisoformat(run[key]) if run.get(key) else None

    return Provenance(when("evidence_collected_from"), when("evidence_collected_to"), when("replayed_started_at"),
                      when("replayed_finished_at"), run.get("replayed_profile_name", ""),
                      run.get("replayed_profile_sha256", ""))


def _target(result: TargetResult) -> dict[str, Any]:
    t = result.target
    system = result.system
    return {
        "name": t.name, "kind": t.kind.value, "role": t.role.value, "location": t.location.value,
        "tags": list(t.tags), "options": dict(t.options),
        "system": None if system is None else {
            "platform": system.platform.value if system.platform else None, "os_name": system.os_name,
            "os_version": system.os_version, "os_id": system.os_id, "hostname": system.hostname,
            "architecture": system.architecture, "kernel": system.kernel, "is_root": system.is_root,
        },
        "assessed": not result.connection_error,
        "connection_error": result.connection_error,
        "error_reason": result.error_reason.value if result.error_reason else None,
    }


def _check(spec: CheckSpec) -> dict[str, Any]:
    return {
        "title": spec.title, "severity": spec.severity.value, "requirements": list(spec.requirements),
        "controls": [str(c) for c in spec.controls], "platforms": sorted(p.value for p in spec.platforms),
        "target_kinds": sorted(k.value for k in spec.target_kinds), "requires_root": spec.requires_root,
        "remediation": spec.remediation, "facts": list(spec.facts), "params": list(spec.params),
        "pack": spec.pack, "source": spec.source, "roles": sorted(r.value for r in spec.roles),
    }


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "check_id": f.check_id, "target": f.target, "status": f.status.value, "message": f.message,
        "resource": f.resource, "requirements": list(f.requirements), "observed": dict(f.observed),
        "expected": dict(f.expected),
        "evidence": [{"path": e.path, "sha256": e.sha256, "source": e.source} for e in f.evidence],
        "skip_reason": f.skip_reason, "error_reason": f.error_reason.value if f.error_reason else None,
        "error": f.error, "raw_status": f.raw_status.value if f.raw_status else None, "waiver": f.waiver,
    }


def _waiver_use(use: WaiverUse) -> dict[str, Any]:
    w = use.waiver
    return {
        "id": w.id, "check": w.check,
        **{k: list(v) for k, v in (("targets", w.scope.targets), ("roles", w.scope.roles),
                                   ("locations", w.scope.locations), ("tags", w.scope.tags)) if v},
        "reason": w.reason, "approver": w.approver, "created": w.created.isoformat(),
        "expires": w.expires.isoformat(), "risk": w.risk, "instruction": w.instruction, "where": w.where,
        "state": use.state, "matched": list(use.matched),
    }
