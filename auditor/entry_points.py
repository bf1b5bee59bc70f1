"""Installed entry points of one group, read from the distributions' metadata folders on sys.path.

importlib.metadata answers the same question, but importing it (it brings the email, csv and zipfile packages)
costs about 20 ms of every scan, a tenth of `auditor scan`'s start-up. This reads what it reads, the same way:
`entry_points.txt` in each `*.dist-info` and `*.egg-info` folder of each folder on sys.path, parsed as its
`Sectioned` parses it (`[group]` lines, `name = value` lines, `#` comments), one distribution per normalised name
with the first on sys.path winning. When sys.path holds anything this does not read (a zip file or egg),
importlib.metadata answers instead.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from typing import Any

from auditor.records import record

_METADATA_FOLDER = re.compile(r"(?P<name>[^-]+)(?:-[^-]*)*\.(?:dist|egg)-info")


@record
class EntryPoint:
    name: str
    value: str  # module[:attribute[.attribute]] [extras]
    group: str

    def load(self) -> Any:
        """The object the entry point names, as importlib.metadata.EntryPoint.load() gives it."""
        module_name, _, attributes = self.value.split("[", 1)[0].strip().partition(":")
        found: Any = importlib.import_module(module_name.strip())
        for attribute in filter(None, attributes.strip().split(".")):
            found = getattr(found, attribute)
        return found


def entry_points(group: str) -> list[EntryPoint]:
    """Every entry point of `group`, from the installed distributions visible on sys.path."""
    folders = [os.path.abspath(entry or ".") for entry in sys.path]
    if any(os.path.isfile(folder) for folder in folders):  # a zip or egg on sys.path: importlib.metadata reads it
        return _from_importlib(group)
    found: list[EntryPoint] = []
    seen: set[str] = set()
    for folder in folders:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue  # a sys.path entry that does not exist
        for name in names:
            if not name.endswith(("dist-info", "egg-info")):  # most names are modules: no regex for them (0.7 ms)
                continue
            match = _METADATA_FOLDER.fullmatch(name)
            if match is None:
                continue
            distribution = re.sub(r"[-_.]+", "_", match["name"]).lower()
            if distribution in seen:
                continue
            seen.add(distribution)
            found.extend(_read(os.path.join(folder, name, "entry_points.txt"), group))
    return found


def _read(path: str, group: str) -> list[EntryPoint]:
    if not os.path.isfile(path):
        return []  # most distributions have no entry points: a failed open costs 10 times this look
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return []  # no entry points, or a damaged file: importlib.metadata skips those too
    found, section = [], None
    for line in map(str.strip, text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
        elif section == group:
            name, equals, value = line.partition("=")
            if not equals:
                return []  # not an entry point: a damaged file, passed over whole
            found.append(EntryPoint(name.strip(), value.strip(), group))
    return found


def _from_importlib(group: str) -> list[EntryPoint]:
    import importlib.metadata

    return [EntryPoint(e.name, e.value, group) for e in importlib.metadata.entry_points(group=group)]
