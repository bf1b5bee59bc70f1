"""Running Windows PowerShell for collectors: a constant script per question, JSON back, never a sentence.

Every script is a constant in its collector (no target data is ever pasted into it) and ends in
`ConvertTo-Json`, so the answer is parsed from fields, not from localised text. Enum properties arrive as
numbers from Windows PowerShell 5.1 and as numbers or names from PowerShell 7; the parsers accept both.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from auditor.transports.base import Command, CommandResult, cmd

# UTF-8 out, whatever the console code page: a localised name (a volume label, an adapter) survives.
_PRELUDE = "$ProgressPreference='SilentlyContinue'; [Console]::OutputEncoding=[Text.Encoding]::UTF8; "
_MS_DATE = re.compile(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/")


def ps(script: str, *, timeout: float = 60.0) -> Command:
    """`powershell -NoProfile -NonInteractive -Command <constant script>`."""
    return cmd("powershell", "-NoProfile", "-NonInteractive", "-Command", _PRELUDE + script, timeout=timeout)


def decode_output(text: str) -> str:
    """Undo UTF-16 that reached us as UTF-8 with NULs (a redirected PowerShell 5.1 pipe), and drop a BOM."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text.lstrip("\ufeff").strip()


def json_objects(result: CommandResult) -> list[dict[str, Any]]:
    """ConvertTo-Json output as a list of objects: one object, an array, or nothing at all ("")."""
    text = decode_output(result.stdout)
    if not text:
        return []
    data = json.loads(text)
    if isinstance(data, dict):
        return [data]
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def json_object(result: CommandResult) -> dict[str, Any]:
    """A single ConvertTo-Json object ({} when there was no output)."""
    objects = json_objects(result)
    return objects[0] if objects else {}


def as_list(value: Any) -> list[Any]:
    """ConvertTo-Json writes a one-element array as the element itself, and an empty one as null. Windows
    PowerShell 5.1 writes an array that is wrapped in a PSObject (a calculated property's value, a nested array) as
    {"value": [...], "Count": n}, because of System.Array's ETS Count alias (PowerShell issues #3222, #5579)."""
    if value is None:
        return []
    if isinstance(value, dict) and set(value) == {"value", "Count"} and isinstance(value["value"], list):
        return list(value["value"])
    return value if isinstance(value, list) else [value]


def enum_name(value: Any, names: dict[int, str]) -> str:
    """An enum as PowerShell serialised it (number, name, or {"value":..}) -> its name."""
    if isinstance(value, dict):
        value = value.get("Value", value.get("value"))
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return names.get(value, str(value))
    return str(value or "")


def epoch(value: Any) -> int | None:
    """A date as ConvertTo-Json writes it ("/Date(1732550400000)/" in 5.1, ISO 8601 in 7) -> epoch seconds."""
    if isinstance(value, dict):
        value = value.get("value") or value.get("DateTime")
    if not isinstance(value, str) or not value:
        return None
    match = _MS_DATE.search(value)
    if match:
        return int(match.group(1)) // 1000
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())
