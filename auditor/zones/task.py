"""The task document: one target and the collectors its plan needs, as JSON. Never a command string: the
worker derives every command from its own collectors' `requests` and `collect`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auditor.collectors import COLLECTORS, SYSTEM
from auditor.errors import InputError
from auditor.inventory import target_from_mapping, target_mapping
from auditor.models import CheckSpec, Platform, Severity, Target
from auditor.plan import TargetPlan
from auditor.profile import Profile

VERSION = 1


def zone_of(target: Target) -> str | None:
    """The zone a target is scanned from (None: the coordinator itself)."""
    zone = target.options.get("zone")
    return str(zone) if zone else None


def task_document(run_id: str, plan: TargetPlan, profile: Profile) -> dict[str, Any]:
    """What a worker needs to collect one target: who, whether to log in, which collectors under which rule."""
    needs = [{"check": s.id, "facts": list(s.facts), "platforms": sorted(p.value for p in s.platforms),
              "requires_root": s.requires_root} for s in plan.checks]
    collectors = {n for s in plan.checks for n in s.facts if n != SYSTEM}
    parameters = {n: {p: profile.parameters[p] for p in COLLECTORS[n].parameters if p != "target"}
                  for n in sorted(collectors)}
    return {"version": VERSION, "run_id": run_id, "target": target_mapping(plan.target), "login": plan.login,
            "needs": needs, "parameters": parameters}


def read_task(doc: Any, source: str) -> tuple[TargetPlan, dict[str, dict[str, Any]]]:
    """The plan and collector parameters of a task, the target checked by the inventory's own rules."""
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        raise InputError("not an auditor zone task of this version", source, "run the same auditor version")
    target: Target = target_from_mapping(dict(doc["target"]), source)
    specs = []
    for need in doc["needs"]:
        facts = tuple(str(f) for f in need["facts"])
        unknown = [f for f in facts if f not in COLLECTORS and f != SYSTEM]
        if unknown:
            raise InputError(f"unknown collector {unknown[0]!r}", f"{source} target {target.name}",
                             "run the same auditor version on the coordinator and the worker")
        # Only what for_system and collectors_for read: the check itself stays with the coordinator.
        specs.append(CheckSpec(str(need["check"]), "", Severity.LOW, (), (),
                               frozenset(Platform(p) for p in need["platforms"]), frozenset({target.kind}),
                               bool(need["requires_root"]), "", facts))
    parameters = {str(n): dict(v) for n, v in dict(doc["parameters"]).items() if n in COLLECTORS}
    return TargetPlan(target, tuple(specs), (), bool(doc["login"])), parameters


def check_zones(targets: Sequence[Target], broker: str | None) -> None:
    """A zoned target needs a broker: one line naming the first such target."""
    zoned = [t for t in targets if zone_of(t)]
    if zoned and not broker:
        raise InputError(f"target {zoned[0].name!r} is in zone {zone_of(zoned[0])!r} but no broker is given",
                         "--broker", "pass --broker redis://… or add broker: to the inventory (docs/zones.md)")
