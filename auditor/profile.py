"""The controller's profile: the requirements (R1..R12), the parameters checks are judged by, and who is who.

The built-in default (auditor/profiles/default.yaml) encodes the agreement's security annex. A
controller's profile is YAML that `extends: default` and overrides what it needs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.models import Role
from auditor.yamlfile import YamlDoc, describe, load_yaml

DEFAULT_PROFILE = Path(__file__).parent / "profiles" / "default.yaml"

_PROFILE_KEYS = {"extends", "name", "description", "controller", "processor", "agreement", "parameters"}
_PARTY_KEYS = {"name", "contact", "cvr", "address"}
_AGREEMENT_KEYS = {"reference", "annex", "date"}
_PARAM_KEYS = {"type", "default", "requirement", "description", "choices"}
_REQUIREMENT_KEYS = {"id", "title", "annex", "dmaerket", "iso27001", "cis", "evidence", "not_scannable"}
_EVIDENCE_CLASSES = {"automated", "semi", "attested"}


@dataclass(frozen=True)
class ParameterDef:
    """One controller parameter: what it means, its type, its default and the requirement it serves."""

    name: str
    type: str  # int, bool, str, strings, roles, ports_by_role
    default: Any
    requirement: str
    description: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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

    def document(self) -> dict[str, Any]:
        """The effective profile as plain data: stored in each run as profile.json."""
        return {
            "name": self.name,
            "description": self.description,
            "sources": list(self.sources),
            "controller": dict(self.controller),
            "processor": dict(self.processor),
            "agreement": dict(self.agreement),
            "parameters": {k: self.parameters[k] for k in sorted(self.parameters)},
            "requirements": [
                {"id": r.id, "title": r.title, "annex": list(r.annex), "dmaerket": list(r.dmaerket),
                 "iso27001": list(r.iso27001), "cis": list(r.cis), "evidence": r.evidence,
                 "not_scannable": r.not_scannable}
                for r in self.requirements
            ],
        }

    def canonical_json(self) -> bytes:
        # Source paths differ between machines; the hash covers only what the checks are judged by.
        doc = self.document()
        doc.pop("sources")
        return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json()).hexdigest()


def load_profile(path: Path | str | None = None) -> Profile:
    """The default profile, or a controller's profile that extends it."""
    base = _load_default()
    if path is None:
        return base
    return _apply_overrides(base, load_yaml(path, "profile"), seen=())


def profile_from_document(document: Mapping[str, Any]) -> Profile:
    """Rebuild a profile stored in a run folder (profile.json), for replay under the same profile."""
    base = _load_default()
    return Profile(
        name=str(document.get("name", base.name)),
        description=str(document.get("description", "")),
        controller=dict(document.get("controller", {})),
        processor=dict(document.get("processor", {})),
        agreement=dict(document.get("agreement", {})),
        parameters={**base.parameters, **dict(document.get("parameters", {}))},
        definitions=base.definitions,
        requirements=base.requirements,
        sources=tuple(document.get("sources", ())),
    )


def _load_default() -> Profile:
    doc = load_yaml(DEFAULT_PROFILE, "profile")
    top = doc.mapping(allowed={"name", "description", "parameters", "requirements"})
    definitions: dict[str, ParameterDef] = {}
    for name in doc.mapping("parameters"):
        spec = doc.mapping("parameters", name, allowed=_PARAM_KEYS)
        definitions[name] = ParameterDef(
            name, spec["type"], spec["default"], spec["requirement"], spec["description"],
            tuple(spec.get("choices", ())),
        )
    requirements = []
    for index, _ in enumerate(top["requirements"]):
        item = doc.mapping("requirements", index, allowed=_REQUIREMENT_KEYS)
        if item["evidence"] not in _EVIDENCE_CLASSES:
            raise doc.error(f"evidence must be one of {sorted(_EVIDENCE_CLASSES)}", "requirements", index)
        requirements.append(Requirement(
            item["id"], item["title"], tuple(item["annex"]), tuple(item["dmaerket"]),
            tuple(item["iso27001"]), tuple(item["cis"]), item["evidence"], item["not_scannable"],
        ))
    for definition in definitions.values():
        _check_value(doc, definition, definition.default, ("parameters", definition.name, "default"))
    return Profile(
        name=top["name"], description=top.get("description", ""), controller={}, processor={}, agreement={},
        parameters={d.name: d.default for d in definitions.values()}, definitions=definitions,
        requirements=tuple(requirements), sources=(str(DEFAULT_PROFILE),),
    )


def _apply_overrides(base: Profile, doc: YamlDoc, seen: tuple[str, ...]) -> Profile:
    if not isinstance(doc.data, dict):
        raise doc.error(f"a profile must be a mapping, got {describe(doc.data)}",
                        fix="start it with `extends: default`")
    top = doc.mapping(allowed=_PROFILE_KEYS)
    parent = top.get("extends", "default")
    if parent != "default":
        if not isinstance(parent, str):
            raise doc.error("extends must be 'default' or a path to another profile", "extends")
        parent_path = (Path(doc.file).parent / parent).resolve()
        if str(parent_path) in seen:
            raise doc.error(f"profiles extend each other in a loop ({parent})", "extends",
                            fix="make one of them extend default")
        base = _apply_overrides(base, load_yaml(parent_path, "profile"), (*seen, str(parent_path)))
    parameters = dict(base.parameters)
    for name, value in doc.mapping("parameters").items():
        if name not in base.definitions:
            doc.mapping("parameters", allowed=base.definitions)  # raises, naming the closest known one
        definition = base.definitions[name]
        _check_value(doc, definition, value, ("parameters", name))
        parameters[name] = value
    return Profile(
        name=str(top.get("name", Path(doc.file).stem)),
        description=str(top.get("description", base.description)),
        controller={**base.controller, **_party(doc, "controller")},
        processor={**base.processor, **_party(doc, "processor")},
        agreement={**base.agreement, **_strings(doc, "agreement", _AGREEMENT_KEYS)},
        parameters=parameters,
        definitions=base.definitions,
        requirements=base.requirements,
        sources=(*base.sources, str(Path(doc.file))),
    )


def _party(doc: YamlDoc, key: str) -> dict[str, str]:
    return _strings(doc, key, _PARTY_KEYS)


def _strings(doc: YamlDoc, key: str, allowed: set[str]) -> dict[str, str]:
    values = doc.mapping(key, allowed=allowed)
    for name, value in values.items():
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise doc.error(f"must be text, got {describe(value)}", key, name,
                            fix='quote it, e.g. cvr: "12345678"')
    return {k: str(v) for k, v in values.items()}


def _check_value(doc: YamlDoc, definition: ParameterDef, value: Any, path: tuple[str, ...]) -> None:
    """Refuse a parameter value of the wrong type, naming the parameter, the place and an example."""
    kind = definition.type
    roles = {r.value for r in Role}
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool) and value >= 0,
        "bool": isinstance(value, bool),
        "str": isinstance(value, str) and (not definition.choices or value in definition.choices),
        "roles": isinstance(value, list) and all(v in roles for v in value),
        "strings": isinstance(value, list) and all(isinstance(v, str) and v for v in value),
        "ports_by_role": isinstance(value, dict) and all(
            k in roles and isinstance(v, list) and all(_is_port(p) for p in v) for k, v in value.items()
        ),
    }.get(kind)
    if ok is None:
        raise doc.error(f"parameter type {kind!r} is unknown", *path)
    if not ok:
        example = {
            "int": f"{definition.name}: {definition.default}",
            "bool": f"{definition.name}: true",
            "str": f"{definition.name}: " + (" | ".join(f'"{c}"' for c in definition.choices) or '"text"'),
            "roles": f"{definition.name}: [workstation, server]",
            "strings": f"{definition.name}: [/srv/data, /home/share]",
            "ports_by_role": f'{definition.name}: {{server: [22, "443/tcp"]}}',
        }[kind]
        raise doc.error(f"wrong type for parameter {definition.name!r}: got {describe(value)}", *path,
                        fix=f"write e.g. {example}")


def _is_port(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return 0 < value < 65536
    if isinstance(value, str):
        number, _, proto = value.partition("/")
        return number.isdigit() and 0 < int(number) < 65536 and proto in ("", "tcp", "udp")
    return False
