"""What `auditor profile show|params|diff` print: pure functions from profiles to rows and lines."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from auditor.models import CheckSpec
from auditor.profile import Profile


def matrix(profile: Profile, checks: Mapping[str, CheckSpec]) -> list[tuple[str, str, str, str, str]]:
    """One row per requirement: id, title, the checks that evidence it, its attestations, what no scan proves."""
    effective = profile.effective_checks(checks)
    rows = []
    for requirement in profile.requirements:
        mapped = [c for c, spec in effective.items() if requirement.id in spec.requirements
                  and not (c in profile.checks and not profile.checks[c].enabled)]
        attested = [f"{a.id} ({a.attestor.get('name', '')}, review {a.next_review.isoformat()})"
                    for a in profile.attestations if a.requirement == requirement.id]
        rows.append((requirement.id, requirement.title, ", ".join(mapped) or "none yet",
                     "; ".join(attested) or "-", requirement.not_scannable))
    return rows


def parameter_rows(profile: Profile) -> list[tuple[str, str, str, str, str, str]]:
    """name, type, default, value in this profile, requirement, description."""
    return [(d.name, d.type + (f" ({' | '.join(d.choices)})" if d.choices else "")
             + (f" ({d.range[0]} to {d.range[1]})" if d.range else ""),
             json.dumps(d.default),
             json.dumps(profile.parameters[d.name]), d.requirement, d.description)
            for d in profile.definitions.values()]


def diff(a: Profile, b: Profile) -> list[str]:
    """What tailoring B changed relative to A, one line per change (empty: no difference)."""
    left, right = a.document(), b.document()
    lines = []
    for key in ("controller", "processor", "agreement", "parameters", "tailoring", "checks"):
        lines += _mapping_diff(key, left[key], right[key])
    for key, label in (("waivers", "waiver"), ("attestations", "attestation")):
        before = {item["id"]: item for item in left[key]}
        after = {item["id"]: item for item in right[key]}
        for item_id in sorted(before.keys() | after.keys()):
            if item_id not in after:
                lines.append(f"- {label} {item_id} ({_summary(before[item_id])})")
            elif item_id not in before:
                lines.append(f"+ {label} {item_id} ({_summary(after[item_id])})")
            elif before[item_id] != after[item_id]:
                changed = sorted(k for k in before[item_id].keys() | after[item_id].keys()
                                 if before[item_id].get(k) != after[item_id].get(k))
                lines.append(f"~ {label} {item_id}: {', '.join(changed)} changed")
    return lines


def _mapping_diff(section: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    lines = []
    for key in sorted(before.keys() | after.keys()):
        if key not in after:
            lines.append(f"- {section}.{key} (was {json.dumps(before[key])})")
        elif key not in before:
            lines.append(f"+ {section}.{key} = {json.dumps(after[key])}")
        elif before[key] != after[key]:
            lines.append(f"~ {section}.{key}: {json.dumps(before[key])} -> {json.dumps(after[key])}")
    return lines


def _summary(item: Mapping[str, Any]) -> str:
    if "check" in item and "expires" in item:
        return f"{item['check']} until {item['expires']}, approved by {item['approver']}"
    return f"{item.get('requirement') or item.get('check')}: {item['statement']}"
