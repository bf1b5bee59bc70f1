"""Why a finding's status changed between two runs when the host is not the reason: the profile (a check
enabled, disabled or rescoped, a parameter changed), a waiver (added, expired, removed), an attestation (its
review date passed, or the profile changed it), or the run's own selection (--skip, missing rights).

`auditor diff` and changes.json set such changes apart instead of listing them as "fixed" or "new failures".
Pure functions of the two runs' profiles (profile.json) and findings; no clock, no files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import field
from fnmatch import fnmatchcase
from typing import Any

from auditor.records import record

_BAD = {"fail", "error"}
_PROFILE_SKIPS = ("removed by the profile", "outside the profile's scope")
_COMPARED = ("parameters", "checks", "tailoring", "waivers", "attestations")


@record
class ProfileSide:
    """What one run was judged under.

    Attributes:
        sha256: the profile's hash ("" when unknown).
        document: the profile itself (the run's profile.json); None when the run folder is no longer at hand.
        params: check id -> the profile parameters the check reads (the run's results.json).
        expired_waivers: ids of the waivers that had expired when the run started.
    """

    sha256: str = ""
    document: Mapping[str, Any] | None = None
    params: Mapping[str, Sequence[str]] = field(default_factory=dict)
    expired_waivers: Sequence[str] = ()


def differences(old: ProfileSide, new: ProfileSide) -> list[str]:
    """What the newer run's profile changed, one line each ("~ parameters.x: 90 -> 30"); [] when unknown."""
    if old.document is None or new.document is None:
        return []
    lines = []
    for section in _COMPARED:
        before, after = _keyed(section, old.document), _keyed(section, new.document)
        for key in sorted(before.keys() | after.keys()):
            if key not in after:
                lines.append(f"- {section}.{key}")
            elif key not in before:
                lines.append(f"+ {section}.{key} = {_short(after[key])}")
            elif before[key] != after[key]:
                lines.append(f"~ {section}.{key}: {_short(before[key])} -> {_short(after[key])}")
    return lines


def cause(target: str, check: str, before: tuple[str, str] | None, after: tuple[str, str] | None,
          old: ProfileSide, new: ProfileSide) -> str:
    """Why (target, check) went from `before` to `after` (status, message) if not because of the host; "" if
    only the host explains it."""
    was, now = before or ("", ""), after or ("", "")
    if not target:  # organisation-wide: attestations are statements in the profile, never host facts
        return _attestation_cause(check, was[0], now[0], old, new)
    if "waived" in (was[0], now[0]):
        return _waiver_cause(check, was[0], now[0], old, new)
    if now[0] == "skipped" and now[1].startswith(_PROFILE_SKIPS):
        return f"the profile no longer runs it here: {now[1]}"
    if was[0] == "skipped" and was[1].startswith(_PROFILE_SKIPS):
        return "the profile runs it here again"
    changed = _changed_settings(check, old, new)
    if changed:
        return changed
    return ""


NO_LONGER_FOUND = "no longer found in the newer run"


def not_checked(before: tuple[str, str] | None, after: tuple[str, str] | None) -> str:
    """A failure the newer run did not check again: why, else "". Skipped (--skip, missing rights) or not run
    (an error in place of the check's findings) gives the run's reason; no finding at all on an assessed target
    means the resource (a port, a disk) is no longer there, which is no fix of the host's security."""
    if not before or before[0] not in _BAD:
        return ""
    if after is None:
        return NO_LONGER_FOUND
    return after[1] if after[0] in ("skipped", "error") else ""


def not_assessed(target: str, in_run: bool, has_findings: bool, reason: str) -> str:
    """Why the newer run has no finding for a failure of `target` if the target itself is why, else "": it left
    the run, or it was not assessed (`reason`: its connection error, which the history does not keep)."""
    if not in_run:
        return "the target is no longer in the run"
    if reason:
        return f"the target was not assessed: {reason.removeprefix(f'{target}: ')}"
    return "" if has_findings else "the target was not assessed in the newer run"


def _changed_settings(check: str, old: ProfileSide, new: ProfileSide) -> str:
    if old.document is None or new.document is None:
        return ""
    parts = []
    before, after = _tailoring(old.document, check), _tailoring(new.document, check)
    if before.get("enabled", True) != after.get("enabled", True):
        parts.append("enabled by the profile" if after.get("enabled", True) else "disabled by the profile")
    else:  # a severity changes no status; a scope does
        keys = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k) and k != "severity")
        if keys:
            parts.append(f"the profile's settings for {check} changed ({', '.join(keys)})")
    old_values, new_values = old.document.get("parameters", {}), new.document.get("parameters", {})
    for name in sorted({*old.params.get(check, ()), *new.params.get(check, ())}):
        if old_values.get(name) != new_values.get(name):
            parts.append(f"parameter {name} changed: {_short(old_values.get(name))} -> "
                         f"{_short(new_values.get(name))}")
    return "; ".join(parts)


def _waiver_cause(check: str, was: str, now: str, old: ProfileSide, new: ProfileSide) -> str:
    if now == "waived":
        covering = _waivers_for(check, new)
        old_ids = {w.get("id") for w in _waivers(old)}
        added = [i for i in covering if i not in old_ids]
        if added and old.document is not None:
            return f"waiver {', '.join(added)} added to the profile"
        return f"waiver {', '.join(covering)} now covers it" if covering else "a waiver now covers it"
    covering = _waivers_for(check, old)
    expired = [i for i in covering if i in new.expired_waivers and i not in old.expired_waivers]
    if expired:
        return f"waiver {', '.join(expired)} expired"
    removed = [i for i in covering if new.document is not None and i not in {w.get("id") for w in _waivers(new)}]
    if removed:
        return f"waiver {', '.join(removed)} removed from the profile"
    return f"waiver {', '.join(covering)} no longer covers it" if covering else "no waiver covers it any more"


def _attestation_cause(check: str, was: str, now: str, old: ProfileSide, new: ProfileSide) -> str:
    subject = check.removeprefix("ATTEST-")
    if old.document is not None and new.document is not None:
        before = [a for a in old.document.get("attestations", ()) if _attests(a, subject)]
        after = [a for a in new.document.get("attestations", ()) if _attests(a, subject)]
        if before != after:
            return f"the profile's attestation for {subject} changed"
    if now == "fail":
        return f"the attestation for {subject} is past its review date"
    return f"the attestation for {subject} is in force again" if was == "fail" else f"attestation for {subject}"


def _attests(attestation: Mapping[str, Any], subject: str) -> bool:
    return subject in (attestation.get("requirement"), attestation.get("check"))


def _waivers(side: ProfileSide) -> list[Mapping[str, Any]]:
    return list((side.document or {}).get("waivers", ()))


def _waivers_for(check: str, side: ProfileSide) -> list[str]:
    return [str(w.get("id")) for w in _waivers(side) if fnmatchcase(check, str(w.get("check", "")))]


def _tailoring(document: Mapping[str, Any], check: str) -> Mapping[str, Any]:
    return document.get("checks", {}).get(check) or {}


def _keyed(section: str, document: Mapping[str, Any]) -> dict[str, Any]:
    value = document.get(section) or {}
    if isinstance(value, list):  # waivers and attestations: by id
        return {str(item.get("id")): item for item in value}
    return dict(value)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:79] + "…"
