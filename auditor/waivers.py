"""Waivers: controller-approved exceptions with an approver, a risk rating and an expiry.

A FAIL of a matching check on a matching target becomes WAIVED (the raw status is kept), does not fail
the exit code, and is listed in the report. An expired waiver no longer applies and is flagged; one that
matched nothing is reported as unused. Expiry is an aware date-time; a date alone means the end of
that day in Europe/Copenhagen (the processor's and controller's legal time zone), so a waiver "until
2026-10-25" holds until 2026-10-25 23:00 UTC (CET) and one "until 2026-07-01" until 2026-07-01 22:00 UTC (CEST).
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from typing import Any

from auditor.errors import InputError
from auditor.inventory import TARGET_NAME
from auditor.models import Attestation, Finding, Location, Role, Scope, Status, Target, Waiver, WaiverUse
from auditor.yamlfile import YamlDoc, describe

RISKS = ("low", "medium", "high", "critical")
SCOPE_KEYS = ("targets", "roles", "locations", "tags")
# A scope value that matches nothing would silently turn a check or a waiver off everywhere: refused.
_SCOPE_VALUES = {"roles": tuple(r.value for r in Role), "locations": tuple(loc.value for loc in Location)}
_WAIVER_KEYS = {"id", "check", "targets", "roles", "locations", "tags", "reason", "approver", "created", "expires",
                "risk", "instruction"}


@cache
def copenhagen() -> tzinfo:
    """Europe/Copenhagen, read from the time zone database when a waiver first needs it (not by every command)."""
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Copenhagen")


def end_of_day(day: date) -> datetime:
    """The first instant after `day` in Europe/Copenhagen, as an aware datetime (DST handled by zoneinfo)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=copenhagen())


def moment(doc: YamlDoc, value: Any, *path: str | int) -> datetime:
    """A profile date or date-time: a date means the end of that day in Copenhagen; a time needs a zone."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
        except ValueError:
            raise doc.error(f"not a date or date-time: {describe(value)}", *path,
                            fix="write 2026-12-31 or 2026-12-31T17:00:00+01:00") from None
    if isinstance(value, datetime) and value.tzinfo is None:
        raise doc.error("a date-time needs an explicit time zone", *path,
                        fix="add the offset, e.g. 2026-12-31T17:00:00+01:00, or give a date alone")
    if not isinstance(value, date):
        raise doc.error(f"not a date: {describe(value)}", *path, fix="write a date such as 2026-12-31")
    try:
        # 9999-12-31 ("forever") ends in year 10000, and an instant at either end of the calendar may not be
        # one in UTC, where as_utc() writes every expiry: refused here rather than a traceback later.
        instant = value if isinstance(value, datetime) else end_of_day(value)
        instant.astimezone(UTC)
    except OverflowError:
        raise doc.error(f"{value.isoformat()} is beyond the calendar auditor computes with", *path,
                        fix="a waiver never lasts forever: write the date it ends, e.g. 2027-12-31") from None
    return instant


def plain_date(doc: YamlDoc, value: Any, *path: str | int) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise doc.error(f"must be a date, got {describe(value)}", *path, fix="write e.g. 2026-11-01")


def text_list(doc: YamlDoc, value: Any, *path: str | int) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise doc.error(f"must be a list of names, got {describe(value)}", *path, fix="write e.g. [web-01, db-1]")


def parse_scope(doc: YamlDoc, item: dict[str, Any], *path: str | int) -> Scope:
    """The targets, roles, locations and tags a rule is limited to; a value that can match no target is refused."""
    lists = {key: text_list(doc, item.get(key), *path, key) for key in SCOPE_KEYS}
    for key, values in lists.items():
        for index, value in enumerate(values):
            allowed = _SCOPE_VALUES.get(key)
            if allowed is not None and value not in allowed:
                close = difflib.get_close_matches(value[:40], allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise doc.error(f"unknown {key[:-1]} {describe(value)}", *path, key, index,
                                fix=f"{hint}use one of {', '.join(allowed)}")
            if key == "targets" and not TARGET_NAME.fullmatch(value):
                raise doc.error(f"{describe(value)} is not a target name", *path, key, index,
                                fix="write the target's name as the inventory gives it")
            if key == "tags" and not (value.isprintable() and 0 < len(value) <= 64):
                raise doc.error(f"{describe(value)} is not a tag (1-64 characters, no control characters)",
                                *path, key, index, fix="write the tag as the inventory gives it")
    return Scope(*(lists[key] for key in SCOPE_KEYS))


def named_targets(doc: YamlDoc, scope: Scope, *path: str | int) -> tuple[tuple[str, str, str], ...]:
    """(name, file:line:col, key path) of each target a scope names. Only the scan knows the inventory's target
    names, so the profile keeps where each one is written, to refuse a name the inventory lacks there."""
    label = ".".join(str(p) for p in (*path, "targets"))
    return tuple((name, doc.where(*path, "targets", index), label) for index, name in enumerate(scope.targets))


def required_text(doc: YamlDoc, item: dict[str, Any], key: str, *path: str | int) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise doc.error(f"needs {key!r} (text)", *path, fix=f"add {key}: ...")
    if not printable_text(value):
        raise doc.error(f"{key} holds a control character", *path, key, fix="remove it (line breaks are allowed)")
    return value.strip()


def printable_text(value: str) -> bool:
    """True when `value` holds no control character but line breaks and tabs (it reaches reports and terminals)."""
    return value.replace("\n", "").replace("\t", "").isprintable()


def parse_waivers(doc: YamlDoc) -> tuple[Waiver, ...]:
    items = doc.get("waivers") or []
    if not isinstance(items, list):
        raise doc.error("waivers must be a list", "waivers")
    waivers = []
    for index, _ in enumerate(items):
        here = ("waivers", index)
        item = doc.mapping(*here, allowed=_WAIVER_KEYS, label=f"waiver #{index + 1}")
        risk = item.get("risk")
        if risk not in RISKS:
            raise doc.error(f"risk must be one of {', '.join(RISKS)}, got {describe(risk)}", *here, "risk")
        if "expires" not in item:
            raise doc.error("needs 'expires' (a waiver never lasts forever)", *here,
                            fix="add expires: 2026-12-31 (end of that day, Europe/Copenhagen)")
        refuse_bad_id(doc, item, *here)
        created = plain_date(doc, item.get("created"), *here, "created")
        expires = moment(doc, item["expires"], *here, "expires")
        if datetime.combine(created, time(0), tzinfo=copenhagen()) >= expires:
            raise doc.error(f"expires ({str(item['expires'])[:32]}) before it was created ({created.isoformat()})",
                            *here, "expires", label=f"waiver #{index + 1}",
                            fix="fix the dates: a waiver is created first and expires later")
        if not printable_text(str(item.get("instruction", ""))):
            raise doc.error("instruction holds a control character", *here, "instruction",
                            fix="remove it (line breaks are allowed)")
        waivers.append(Waiver(
            id=str(item.get("id") or f"W{index + 1}"),
            check=required_text(doc, item, "check", *here),
            scope=parse_scope(doc, item, *here),
            reason=required_text(doc, item, "reason", *here),
            approver=required_text(doc, item, "approver", *here),
            created=created,
            expires=expires,
            risk=risk,
            instruction=str(item.get("instruction", "")),
            where=doc.where(*here),
        ))
    return tuple(waivers)


def refuse_bad_id(doc: YamlDoc, item: dict[str, Any], *path: str | int) -> None:
    """An `id:` is what approvals, reports and `diff` cite: short text on one line (or a number)."""
    value = item.get("id")
    if value is not None and not (isinstance(value, str | int) and not isinstance(value, bool)
                                  and str(value).isprintable() and 0 < len(str(value)) <= 64):
        raise doc.error(f"id must be 1-64 characters on one line, got {describe(value)}", *path, "id",
                        fix="write e.g. id: W-2026-01")


def refuse_duplicate_ids(label: str, items: Iterable[Waiver | Attestation]) -> None:
    """Refuse two waivers (or two attestations) with one id anywhere in a profile and the profiles it extends.

    The id is what a controller approves and what findings, the exceptions table, the history and `diff` cite;
    two "W1" would show one waiver's scope against another's findings. Ids are never renamed behind the
    author's back (a qualified or renumbered id would change when a parent profile changes), so a duplicate is
    an input error naming both places.
    """
    seen: dict[str, str] = {}
    for item in items:
        if item.id in seen:
            raise InputError(f"{label} id {item.id!r} is already used at {seen[item.id]}", item.where,
                             f"give one of them its own `id:` (a {label} without one is numbered by its position "
                             "in its file)")
        seen[item.id] = item.where


def _covers(waiver: Waiver, finding: Finding, target: Target) -> bool:
    return fnmatch.fnmatchcase(finding.check_id, waiver.check) and waiver.scope.matches(target)


def apply_waivers(findings: Sequence[Finding], target: Target, waivers: Iterable[Waiver],
                  as_of: datetime) -> list[Finding]:
    """FAIL findings covered by a waiver active at `as_of` become WAIVED; everything else is unchanged."""
    active = [w for w in waivers if as_of < w.expires]
    out = []
    for finding in findings:
        waiver = next((w for w in active if finding.status is Status.FAIL and _covers(w, finding, target)), None)
        if waiver is None:
            out.append(finding)
        else:
            out.append(dataclasses.replace(finding, status=Status.WAIVED, raw_status=finding.status,
                                           waiver=waiver.id))
    return out


def waiver_uses(waivers: Iterable[Waiver], findings: Iterable[tuple[Finding, Target]],
                as_of: datetime) -> tuple[WaiverUse, ...]:
    """How each waiver fared: active with what it covered, expired (with what it would have covered), unused."""
    pairs = list(findings)
    uses = []
    for waiver in waivers:
        if as_of >= waiver.expires:
            would = tuple(f"{f.check_id}@{t.name}" for f, t in pairs
                          if f.status is Status.FAIL and _covers(waiver, f, t))
            uses.append(WaiverUse(waiver, "expired", would))
            continue
        matched = tuple(f"{f.check_id}@{t.name}" for f, t in pairs if f.waiver == waiver.id)
        uses.append(WaiverUse(waiver, "active" if matched else "unused", matched))
    return tuple(uses)


def as_utc(moment_: datetime) -> str:
    return moment_.astimezone(UTC).isoformat().replace("+00:00", "Z")
