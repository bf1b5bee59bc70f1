"""The controller's profile: requirements, parameters, tailoring, waivers and attestations.

The built-in default (auditor/profiles/default.yaml) encodes the agreement's security annex as
requirements R1..R12 with their control references. A controller's profile `extends: default` (or
another profile file) and overrides parameters, tailors which checks evidence which requirement,
changes severities, scopes checks by target, role, location or tag, and adds waivers and attestations.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from auditor.attestations import parse_attestations
from auditor.catalogue import frameworks
from auditor.errors import InputError
from auditor.models import Attestation, CheckSpec, Role, Scope, Severity, Waiver
from auditor.records import record
from auditor.waivers import (
    as_utc,
    named_targets,
    parse_scope,
    parse_waivers,
    printable_text,
    refuse_duplicate_ids,
    text_list,
)
from auditor.yamlfile import YamlDoc, describe, kind_of, load_package_yaml, load_yaml, token

DEFAULT_PROFILE = Path(__file__).parent / "profiles" / "default.yaml"

_PROFILE_KEYS = {"extends", "name", "description", "controller", "processor", "agreement", "parameters",
                 "tailoring", "checks", "waivers", "attestations"}
_STORED_ONLY = {"sources", "requirements", "sha256"}  # keys of a stored profile.json that are derived
_PARTY_KEYS = {"name", "contact", "cvr", "address"}
_AGREEMENT_KEYS = {"reference", "annex", "date", "period"}
_PARAM_KEYS = {"type", "default", "requirement", "description", "choices", "range"}
_REQUIREMENT_KEYS = {"id", "title", "annex", "dmaerket", "iso27001", "cis", "evidence", "not_scannable", "applies_to"}
_EVIDENCE_CLASSES = {"automated", "semi", "attested"}
_CHECK_KEYS = {"severity", "enabled", "targets", "roles", "locations", "tags"}
_FRAMEWORK_OF = {"dmaerket": "d-maerket", "iso27001": "iso27001-2022", "cis": "cis-v8"}
_INT_CEILING = 10**9  # a whole-number parameter without its own `range:` may be 0 to this


@record
class ParameterDef:
    """One controller parameter: what it means, its type, its default and the requirement it serves."""

    name: str
    type: str  # int, bool, str, strings, roles, ports_by_role, paths_by_role
    default: Any
    requirement: str
    description: str
    choices: tuple[str, ...] = ()
    range: tuple[int, int] | None = None  # a whole number's sensible values, lowest and highest


@record
class Requirement:
    """One requirement of the agreement's annex, with the annex text verbatim and its control references."""

    id: str
    title: str
    annex: tuple[str, ...]
    dmaerket: tuple[str, ...]
    iso27001: tuple[str, ...]
    cis: tuple[str, ...]
    evidence: str
    not_scannable: str
    # The targets the requirement speaks of (R11: home workstations); its verdict is theirs alone. Empty: all.
    applies_to: Scope = Scope()


@record
class CheckTailoring:
    """A profile's changes to one check: severity, whether it runs, and on which targets."""

    severity: Severity | None = None
    enabled: bool = True
    scope: Scope = field(default_factory=Scope)
    where: str = ""


@record
class Profile:
    name: str
    description: str
    controller: Mapping[str, str]
    processor: Mapping[str, str]
    agreement: Mapping[str, str]
    parameters: Mapping[str, Any]
    definitions: Mapping[str, ParameterDef]
    requirements: tuple[Requirement, ...]
    sources: tuple[str, ...]  # the files it was built from, most general first
    tailoring: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)  # R -> add/remove
    checks: Mapping[str, CheckTailoring] = field(default_factory=dict)
    waivers: tuple[Waiver, ...] = ()
    attestations: tuple[Attestation, ...] = ()
    references: tuple[tuple[str, str], ...] = ()  # (check id or glob, file:line) for validate()
    scope_targets: tuple[tuple[str, str, str], ...] = ()  # (target, file:line, key path) for validate_targets()

    def requirements_of(self, spec: CheckSpec) -> tuple[str, ...]:
        """The requirements a check gives evidence for under this profile (the check's own, tailored)."""
        ids = [r.id for r in self.requirements
               if (r.id in spec.requirements and spec.id not in self.tailoring.get(r.id, {}).get("remove", ()))
               or spec.id in self.tailoring.get(r.id, {}).get("add", ())]
        return tuple(ids)

    def effective_checks(self, checks: Mapping[str, CheckSpec]) -> dict[str, CheckSpec]:
        """The checks with this profile's severities and requirement mapping applied."""
        tailored = {}
        for check_id, spec in checks.items():
            severity = self.checks[check_id].severity if check_id in self.checks else None
            tailored[check_id] = dataclasses.replace(spec, severity=severity or spec.severity,
                                                     requirements=self.requirements_of(spec))
        return tailored

    def validate(self, checks: Mapping[str, CheckSpec]) -> None:
        """Refuse references to checks that are not installed, and requirements nothing evidences."""
        for pattern, where in self.references:
            if not any(fnmatch.fnmatchcase(check_id, pattern) for check_id in checks):
                # Ids are upper case by definition: 'net-0020' means NET-0020 (not the nearer DB-0020 as typed).
                close = difflib.get_close_matches(pattern.upper(), list(checks), n=1)
                raise InputError(f"check {token(pattern)} matches no installed check", where,
                                 f"did you mean {close[0]}?" if close else "see `auditor checks list`")
        effective = self.effective_checks(checks)
        for requirement in self.requirements:
            covered = any(requirement.id in s.requirements for s in effective.values()) or requirement.not_scannable \
                or any(a.requirement == requirement.id for a in self.attestations)
            if not covered:
                raise InputError(f"requirement {requirement.id} is evidenced by no check, no attestation and no "
                                 "'not_scannable' statement", self.sources[-1],
                                 "map a check to it, attest it, or state why it cannot be scanned")

    def validate_targets(self, names: Iterable[str], inventory: str) -> None:
        """Refuse a check's or waiver's scope that names a target the inventory lacks: the check would be skipped
        on every target (or the waiver cover nothing), silently, where a typo is the likely cause."""
        known = sorted(set(names))
        for name, where, label in self.scope_targets:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                listed = ", ".join(known[:10]) + (f" and {len(known) - 10} more" if len(known) > 10 else "")
                raise InputError(f"{label}: unknown target {token(name)}, not in the inventory {inventory}", where,
                                 f"{hint}use one of its targets: {listed}")

    def document(self) -> dict[str, Any]:
        """The effective profile as plain data: stored in each run as profile.json, and loadable again."""
        return {
            "name": self.name,
            "description": self.description,
            "sources": list(self.sources),
            "controller": dict(self.controller),
            "processor": dict(self.processor),
            "agreement": dict(self.agreement),
            "parameters": {k: self.parameters[k] for k in sorted(self.parameters)},
            "tailoring": {r: {f"{k}_checks": list(v) for k, v in t.items()} for r, t in self.tailoring.items()},
            "checks": {c: _check_doc(t) for c, t in self.checks.items()},
            "waivers": [_waiver_doc(w) for w in self.waivers],
            "attestations": [_attestation_doc(a) for a in self.attestations],
            "requirements": [
                {"id": r.id, "title": r.title, "annex": list(r.annex), "dmaerket": list(r.dmaerket),
                 "iso27001": list(r.iso27001), "cis": list(r.cis), "evidence": r.evidence,
                 "not_scannable": r.not_scannable,
                 **({"applies_to": {"roles": list(r.applies_to.roles), "locations": list(r.applies_to.locations)}}
                    if r.applies_to != Scope() else {})}
                for r in self.requirements
            ],
        }

    def canonical_json(self) -> bytes:
        # Source paths differ between machines; the hash covers only what the checks are judged by.
        doc = self.document()
        doc.pop("sources")
        return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json()).hexdigest()


def _check_doc(t: CheckTailoring) -> dict[str, Any]:
    return {"severity": t.severity.value if t.severity else None, "enabled": t.enabled,
            **{k: list(v) for k, v in dataclasses.asdict(t.scope).items() if v}}


def _waiver_doc(w: Waiver) -> dict[str, Any]:
    return {"id": w.id, "check": w.check, **{k: list(v) for k, v in dataclasses.asdict(w.scope).items() if v},
            "reason": w.reason, "approver": w.approver, "created": w.created.isoformat(),
            "expires": w.expires.isoformat(), "expires_utc": as_utc(w.expires), "risk": w.risk,
            "instruction": w.instruction}


def _attestation_doc(a: Attestation) -> dict[str, Any]:
    return {"id": a.id, "requirement": a.requirement or None, "check": a.check or None, "statement": a.statement,
            "attestor": dict(a.attestor), "date": a.attested_on.isoformat(), "next_review": a.next_review.isoformat(),
            "maturity": a.maturity or None,
            "artefacts": [{"path": x.path, "sha256": x.sha256, "size": x.size} for x in a.artefacts]}


def load_profile(path: Path | str | None = None) -> Profile:
    """The default profile, or a controller's profile that extends it."""
    base = _load_default()
    if path is None:
        return base
    return _apply_overrides(base, load_yaml(path, "profile"), seen=())


def load_stored_profile(path: Path) -> Profile:
    """The profile a run was judged by (its profile.json), for `auditor replay` under the same profile."""
    doc = load_yaml(path, "stored profile")
    if isinstance(doc.data, dict):
        for key in _STORED_ONLY:
            doc.data.pop(key, None)
        for waiver in doc.data.get("waivers") or []:
            if isinstance(waiver, dict):
                waiver.pop("expires_utc", None)
        for attestation in doc.data.get("attestations") or []:
            if isinstance(attestation, dict):
                for key in [k for k, v in attestation.items() if v is None]:
                    del attestation[key]
        for tailoring in (doc.data.get("checks") or {}).values():
            if isinstance(tailoring, dict) and tailoring.get("severity") is None:
                tailoring.pop("severity", None)
    return _apply_overrides(_load_default(), doc, seen=())


def _load_default() -> Profile:
    doc = load_package_yaml(DEFAULT_PROFILE, "profile")
    top = doc.mapping(allowed={"name", "description", "parameters", "requirements"})
    definitions: dict[str, ParameterDef] = {}
    for name in doc.mapping("parameters"):
        spec = doc.mapping("parameters", name, allowed=_PARAM_KEYS)
        definitions[name] = ParameterDef(
            name, spec["type"], spec["default"], spec["requirement"], spec["description"],
            tuple(spec.get("choices", ())), tuple(spec["range"]) if "range" in spec else None,
        )
    requirements = []
    catalogues = frameworks()
    for index, _ in enumerate(top["requirements"]):
        item = doc.mapping("requirements", index, allowed=_REQUIREMENT_KEYS)
        if item["evidence"] not in _EVIDENCE_CLASSES:
            raise doc.error(f"evidence must be one of {sorted(_EVIDENCE_CLASSES)}", "requirements", index)
        for key, framework in _FRAMEWORK_OF.items():
            for control in item[key]:
                if control not in catalogues[framework].controls:
                    raise doc.error(f"{item['id']}: control {control!r} is not in the {framework} catalogue",
                                    "requirements", index, key, fix="fix the id or add it to auditor/catalogues")
        applies_to = doc.mapping("requirements", index, "applies_to", allowed={"roles", "locations"})
        requirements.append(Requirement(
            item["id"], item["title"], tuple(item["annex"]), tuple(item["dmaerket"]),
            tuple(item["iso27001"]), tuple(item["cis"]), item["evidence"], item["not_scannable"],
            parse_scope(doc, applies_to, "requirements", index, "applies_to"),
        ))
    for definition in definitions.values():
        _check_value(doc, definition, definition.default, ("parameters", definition.name, "default"))
    return Profile(
        name=top["name"], description=top.get("description", ""), controller={}, processor={}, agreement={},
        parameters={d.name: d.default for d in definitions.values()}, definitions=definitions,
        requirements=tuple(requirements), sources=("builtin:default",),  # no machine-specific path
    )


def _apply_overrides(base: Profile, doc: YamlDoc, seen: tuple[str, ...]) -> Profile:
    if not isinstance(doc.data, dict):
        raise doc.error(f"a profile must be a mapping, got {kind_of(doc.data)}",
                        fix="start it with `extends: default`")
    top = doc.mapping(allowed=_PROFILE_KEYS)
    parent = top.get("extends", "default")
    if parent != "default":
        if not isinstance(parent, str) or not parent.strip():
            got = "nothing" if parent is None or isinstance(parent, str) else describe(parent)
            raise doc.error(f"extends must be 'default' or a path to another profile, got {got}", "extends",
                            label="", fix="write extends: default, or the path of the parent profile relative to "
                                          "this file")
        parent_path = (Path(doc.file).parent / parent).resolve()
        if str(parent_path) in seen or parent_path == Path(doc.file).resolve():
            raise doc.error(f"profiles extend each other in a loop ({parent})", "extends",
                            fix="make one of them extend default")
        _refuse_missing_parent(doc, parent, parent_path)
        base = _apply_overrides(base, load_yaml(parent_path, "profile"), (*seen, str(Path(doc.file).resolve())))
    parameters = dict(base.parameters)
    for name, value in doc.mapping("parameters").items():
        if name not in base.definitions:
            doc.mapping("parameters", allowed=base.definitions)  # raises, naming the closest known one
        _check_value(doc, base.definitions[name], value, ("parameters", name))
        parameters[name] = value
    tailoring, tailoring_refs = _tailoring(doc, base)
    checks, check_refs = _check_tailoring(doc)
    waivers = parse_waivers(doc)
    attestations = parse_attestations(doc, Path(doc.file).parent)
    known = {r.id for r in base.requirements}
    for att in attestations:
        if att.requirement and att.requirement not in known:
            raise InputError(f"attestation {token(att.id)}: unknown requirement {token(att.requirement)}", att.where,
                             f"use one of {', '.join(sorted(known))}")
    for key in ("name", "description"):
        if key in top and not (isinstance(top[key], str) and printable_text(top[key])):
            raise doc.error(f"must be text without control characters, got {describe(top[key])}", key)
    refuse_duplicate_ids("waiver", (*base.waivers, *waivers))
    refuse_duplicate_ids("attestation", (*base.attestations, *attestations))
    references = (*tailoring_refs, *check_refs, *((w.check, w.where) for w in waivers),
                  *((a.check, a.where) for a in attestations if a.check))
    # Waivers are parsed one per entry of `waivers:`, so a waiver's index is its place in the list.
    scope_targets = (*(t for check_id, c in checks.items() for t in named_targets(doc, c.scope, "checks", check_id)),
                     *(t for index, w in enumerate(waivers) for t in named_targets(doc, w.scope, "waivers", index)))
    return Profile(
        name=str(top.get("name", Path(doc.file).stem)),
        description=str(top.get("description", base.description)),
        controller={**base.controller, **_strings(doc, "controller", _PARTY_KEYS)},
        processor={**base.processor, **_strings(doc, "processor", _PARTY_KEYS)},
        agreement={**base.agreement, **_strings(doc, "agreement", _AGREEMENT_KEYS)},
        parameters=parameters,
        definitions=base.definitions,
        requirements=base.requirements,
        sources=(*base.sources, str(Path(doc.file))),
        tailoring={**base.tailoring, **tailoring},
        checks={**base.checks, **checks},
        waivers=(*base.waivers, *waivers),
        attestations=(*base.attestations, *attestations),
        references=(*base.references, *references),
        scope_targets=(*base.scope_targets, *scope_targets),
    )


def _refuse_missing_parent(doc: YamlDoc, parent: str, parent_path: Path) -> None:
    """A parent that is no profile file, said where `extends:` names it, not only as the missing path."""
    if parent_path.is_dir():
        inside = sorted(p.name for p in parent_path.glob("*.yaml") if p.is_file())
        example = f"{parent.rstrip('/')}/{inside[0] if inside else 'profile.yaml'}"
        raise doc.error(f"{describe(parent)} is a folder, not a profile file", "extends",
                        fix=f"name the profile file inside it (e.g. extends: {example}), or extend default")
    if not parent_path.is_file():
        builtin = sorted(p.stem for p in DEFAULT_PROFILE.parent.glob("*.yaml"))
        close = difflib.get_close_matches(parent.strip().lower().removesuffix(".yaml")[:40], builtin, n=1)
        hint = f"did you mean {close[0]}? (the built-in profile); or " if close else ""
        raise doc.error(f"no such file: {describe(parent)} ({parent_path})", "extends",
                        fix=f"{hint}give the parent profile's path relative to this file"
                            + ("" if close else ", or extend default"))


def _tailoring(doc: YamlDoc, base: Profile) -> tuple[dict[str, dict[str, tuple[str, ...]]], list[tuple[str, str]]]:
    known = [r.id for r in base.requirements]
    result: dict[str, dict[str, tuple[str, ...]]] = {}
    refs: list[tuple[str, str]] = []
    for requirement in doc.mapping("tailoring", allowed=known):
        item = doc.mapping("tailoring", requirement, allowed={"add_checks", "remove_checks"},
                           label=f"tailoring of {requirement}")
        entry = {}
        for key in ("add", "remove"):
            ids = text_list(doc, item.get(f"{key}_checks"), "tailoring", requirement, f"{key}_checks")
            refs.extend((i, doc.where("tailoring", requirement, f"{key}_checks")) for i in ids)
            entry[key] = ids
        result[requirement] = entry
    return result, refs


def _check_tailoring(doc: YamlDoc) -> tuple[dict[str, CheckTailoring], list[tuple[str, str]]]:
    result = {}
    refs = []
    for check_id in doc.mapping("checks"):
        item = doc.mapping("checks", check_id, allowed=_CHECK_KEYS, label=f"check {check_id}")
        severity = item.get("severity")
        if severity is not None and (not isinstance(severity, str) or severity not in {s.value for s in Severity}):
            raise doc.error(f"unknown severity {describe(severity)}", "checks", check_id, "severity",
                            fix=f"use one of {', '.join(s.value for s in Severity)}")
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            raise doc.error(f"must be true or false, got {describe(enabled)}", "checks", check_id, "enabled",
                            fix="write enabled: false (no quotes) to turn the check off, or enabled: true")
        scope = parse_scope(doc, item, "checks", check_id)
        result[str(check_id)] = CheckTailoring(Severity(severity) if severity else None, enabled, scope,
                                               doc.where("checks", check_id))
        refs.append((str(check_id), doc.where("checks", check_id)))
    return result, refs


def _strings(doc: YamlDoc, key: str, allowed: set[str]) -> dict[str, str]:
    values = doc.mapping(key, allowed=allowed)
    for name, value in values.items():
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise doc.error(f"must be text, got {describe(value)}", key, name,
                            fix='quote it, e.g. cvr: "12345678"')
        if not printable_text(str(value)):
            raise doc.error("holds a control character", key, name, fix="remove it (line breaks are allowed)")
    return {k: str(v) for k, v in values.items()}


def _check_value(doc: YamlDoc, definition: ParameterDef, value: Any, path: tuple[str, ...]) -> None:
    """Refuse a parameter value of the wrong type, naming the parameter, the place and an example."""
    kind = definition.type
    roles = {r.value for r in Role}
    _refuse_unknown_roles(doc, definition, value, path)
    if kind == "int":
        low, high = definition.range or (0, _INT_CEILING)
        if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            raise doc.error(f"must be a whole number from {low} to {high}, got {token(str(value), 20)[1:-1]}",
                            *path, fix=f"write e.g. {definition.name}: {definition.default}")
    if kind == "str" and definition.choices and isinstance(value, str) and value not in definition.choices:
        raise doc.error(f"{describe(value)} is not one of the values {definition.name} takes", *path,
                        fix="use one of " + ", ".join(f'"{c}"' for c in definition.choices))
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool) and value >= 0,
        "bool": isinstance(value, bool),
        "str": isinstance(value, str) and (not definition.choices or value in definition.choices),
        # Paths, globs and networks: they reach a command's argv on the target, so one line each.
        "strings": isinstance(value, list) and all(isinstance(v, str) and v and v.isprintable() for v in value),
        "roles": isinstance(value, list) and all(isinstance(v, str) and v in roles for v in value),
        "ports_by_role": isinstance(value, dict) and all(
            k in roles and isinstance(v, list) and all(_is_port(p) for p in v) for k, v in value.items()
        ),
        "paths_by_role": isinstance(value, dict) and all(
            k in roles and isinstance(v, list)
            and all(isinstance(p, str) and p.startswith("/") and p.isprintable() for p in v)
            for k, v in value.items()
        ),
    }.get(kind)
    if ok is None:
        raise doc.error(f"parameter type {kind!r} is unknown", *path)
    if not ok:
        example = {
            "int": f"{definition.name}: {definition.default}",
            "bool": f"{definition.name}: true",
            "str": f"{definition.name}: " + (" | ".join(f'"{c}"' for c in definition.choices) or '"text"'),
            "strings": f"{definition.name}: [/srv/data, /home/share]",
            "roles": f"{definition.name}: [workstation, server]",
            "ports_by_role": f'{definition.name}: {{server: [22, "443/tcp"]}}',
            "paths_by_role": f"{definition.name}: {{workstation: [/home], server: [/srv/exports]}}",
        }[kind]
        raise doc.error(f"wrong type for parameter {definition.name!r}: got {describe(value)}", *path,
                        fix=f"write e.g. {example}")


def _refuse_unknown_roles(doc: YamlDoc, definition: ParameterDef, value: Any, path: tuple[str, ...]) -> None:
    """A role name that is none of the roles would silently match no target: refused with the allowed ones."""
    if definition.type == "roles" and isinstance(value, list):
        named = [v for v in value if isinstance(v, str)]
    elif definition.type in ("ports_by_role", "paths_by_role") and isinstance(value, dict):
        named = [k for k in value if isinstance(k, str)]
    else:
        return
    allowed = [r.value for r in Role]
    for role in named:
        if role not in allowed:
            close = difflib.get_close_matches(role[:40], allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise doc.error(f"unknown role {describe(role)}", *path, fix=f"{hint}use one of {', '.join(allowed)}")


def _is_port(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return 0 < value < 65536
    if isinstance(value, str):
        number, _, proto = value.partition("/")
        return number.isdigit() and 0 < int(number) < 65536 and proto in ("", "tcp", "udp")
    return False
