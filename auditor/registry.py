"""Discovers check packs through the `auditor.checks` entry-point group and validates every check.

The built-in `checks/` pack is registered there exactly like a third-party pack: the engine never
imports it by name. A malformed check is refused at load time with the pack, the id and file:line.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import importlib.machinery
import os
import pkgutil
import re
from collections.abc import Collection, Iterable, Iterator
from types import FunctionType, ModuleType
from typing import Any

from auditor.catalogue import frameworks
from auditor.entry_points import entry_points
from auditor.errors import CheckDefinitionError
from auditor.models import CheckSpec, ControlRef, Platform, Role, Severity, TargetKind
from auditor.plugin import CHECK_ATTRIBUTE

ENTRY_POINT_GROUP = "auditor.checks"
_ID = re.compile(r"^[A-Z]{2,6}-\d{4}$")
_TARGET_PARAMETER = "target"
_SUFFIXES = sorted(importlib.machinery.all_suffixes(), key=len, reverse=True)  # the longest first, as inspect's
_CO_VARARGS, _CO_VARKEYWORDS = 0x04, 0x08  # inspect.CO_VARARGS and CO_VARKEYWORDS, as CPython's code.h defines them


def discover(collectors: Collection[str], parameters: Collection[str],
             requirements: Collection[str]) -> dict[str, CheckSpec]:
    """Every check of every installed pack, validated, keyed by id (sorted)."""
    specs: dict[str, CheckSpec] = {}
    for entry_point in sorted(entry_points(ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            root = entry_point.load()
        except Exception as exc:  # a third-party pack may fail in any way; name it and stop
            raise CheckDefinitionError(f"check pack {entry_point.name!r} ({entry_point.value}) failed to "
                                       f"import: {type(exc).__name__}: {exc}",
                                       fix="fix or uninstall that pack") from None
        for func in _check_functions(root, entry_point.name):
            spec = build_spec(func, entry_point.name, collectors, parameters, requirements)
            if spec.id in specs:
                other = specs[spec.id]
                raise CheckDefinitionError(f"{spec.id} is defined twice: {other.source} (pack '{other.pack}') "
                                           f"and {spec.source} (pack '{spec.pack}')",
                                           fix="give one of them a new id")
            specs[spec.id] = spec
    return dict(sorted(specs.items()))


def _check_functions(root: ModuleType, pack: str) -> Iterator[Any]:
    modules = [root]
    for name in _submodules(getattr(root, "__path__", []), f"{root.__name__}."):
        try:
            modules.append(importlib.import_module(name))
        except Exception as exc:
            raise CheckDefinitionError(f"check pack {pack!r}: module {name} failed to import: "
                                       f"{type(exc).__name__}: {exc}", fix="fix that module") from None
    for module in modules:
        for value in vars(module).values():
            # Only functions defined in this module: a re-exported check is not a second definition.
            if hasattr(value, CHECK_ATTRIBUTE) and getattr(value, "__module__", None) == module.__name__:
                yield value


def _submodules(paths: Iterable[str], prefix: str) -> Iterator[str]:
    """The modules and packages under a package's folders, each package's own after it, names sorted: what
    pkgutil.walk_packages gives, without its import of inspect (7 ms of every start). A path that is not a folder
    (a zip file) is pkgutil's."""
    seen: set[str] = set()
    for path in paths:
        if not os.path.isdir(path):
            yield from (info.name for info in pkgutil.walk_packages([path], prefix) if info.name not in seen)
            continue
        for entry in sorted(os.listdir(path)):
            name, package = _module_name(entry), False
            if not name and "." not in entry and os.path.isdir(os.path.join(path, entry)):
                name, package = entry, any(_module_name(e) == "__init__" for e in os.listdir(os.path.join(path, entry)))
                if not package:
                    continue  # a folder that is not a package
            if not name or name == "__init__" or "." in name or prefix + name in seen:
                continue
            seen.add(prefix + name)
            yield prefix + name
            if package:
                yield from _submodules(importlib.import_module(prefix + name).__path__, f"{prefix}{name}.")


def _module_name(file_name: str) -> str | None:
    """The module a file holds, by its suffix (.py, .pyc, an extension's), as inspect.getmodulename says."""
    for suffix in _SUFFIXES:
        if file_name.endswith(suffix):
            return file_name[:-len(suffix)]
    return None


def _source(func: Any) -> str:
    # The file the function was compiled from (what inspect.getsourcefile returns for a check, without its
    # lookups: 0.1 ms a check, on every start).
    path = getattr(getattr(func, "__code__", None), "co_filename", "?")
    with contextlib.suppress(ValueError):  # another drive on Windows: keep the absolute path
        path = os.path.relpath(path)
    return f"{path}:{func.__code__.co_firstlineno}"


def _parameter_names(func: Any) -> tuple[str, ...]:
    """The names inspect.signature gives, read from a plain function's code (51 signatures cost 1 ms a start, and
    inspect's import 7 ms: it is imported only for a check that is not a plain function)."""
    if not isinstance(func, FunctionType) or hasattr(func, "__wrapped__") or hasattr(func, "__signature__") or \
            func.__code__.co_flags & (_CO_VARARGS | _CO_VARKEYWORDS):
        import inspect

        return tuple(inspect.signature(func).parameters)
    code = func.__code__
    return code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]


def build_spec(func: Any, pack: str, collectors: Collection[str], parameters: Collection[str],
               requirements: Collection[str]) -> CheckSpec:
    """Validate one decorated function and turn its metadata into a CheckSpec."""
    meta = getattr(func, CHECK_ATTRIBUTE)
    source = _source(func)
    check_id = meta["id"]

    def fail(problem: str, fix: str) -> CheckDefinitionError:
        return CheckDefinitionError(f"{check_id} (pack '{pack}'): {problem}", source, fix)

    if not isinstance(check_id, str) or not _ID.match(check_id):
        raise CheckDefinitionError(f"check id {check_id!r} (pack '{pack}') is not of the form FAMILY-NNNN",
                                   source, "use 2-6 capital letters, a hyphen and 4 digits, e.g. LOG-0010")
    title = meta["title"]
    if not isinstance(title, str) or not title or len(title) > 100 or title.lower().startswith("ensure"):
        raise fail("title must be 1-100 characters stating the compliant condition, not starting with 'Ensure'",
                   "e.g. title='The system clock is synchronised'")
    if not isinstance(meta["remediation"], str) or not meta["remediation"].strip():
        raise fail("remediation is empty", "say in one or two sentences how to fix a failure")
    if not isinstance(meta["severity"], Severity):
        raise fail(f"severity {meta['severity']!r} is not a Severity", "use Severity.HIGH, MEDIUM, ...")
    for requirement in meta["requirements"]:
        if requirement not in requirements:
            raise fail(f"requirement {requirement!r} is not in the profile",
                       f"use one of {', '.join(sorted(requirements))}")
    catalogues = frameworks()
    for control in meta["controls"]:
        if not isinstance(control, ControlRef) or control.framework not in catalogues:
            raise fail(f"control {control!r} is not a ControlRef of a known framework",
                       f"use ControlRef(framework, control) with framework one of {', '.join(catalogues)}")
        if control.control not in catalogues[control.framework].controls:
            raise fail(f"control {control.control!r} is not in the {control.framework} catalogue",
                       "fix the id, or add the control to auditor/catalogues")
    if not all(isinstance(p, Platform) for p in meta["platforms"]) or not meta["platforms"]:
        raise fail("platforms must be a non-empty list of Platform", "e.g. platforms=(Platform.LINUX,)")
    if not all(isinstance(k, TargetKind) for k in meta["target_kinds"]) or not meta["target_kinds"]:
        raise fail("target_kinds must be a non-empty list of TargetKind", "e.g. target_kinds=(TargetKind.TLS,)")
    roles = meta.get("roles", ())  # a pack decorated by an older auditor has none
    if not all(isinstance(r, Role) for r in roles):
        raise fail("roles must be a list of Role", "e.g. roles=(Role.WORKSTATION,)")

    facts: list[str] = []
    params: list[str] = []
    for name in _parameter_names(func):
        if name in collectors:
            facts.append(name)
        elif name in parameters or name == _TARGET_PARAMETER:
            params.append(name)
        else:
            # A default does not excuse an unknown name: a typo of a profile parameter would silently
            # take the default and the profile would lose control of the check.
            close = difflib.get_close_matches(name, [*collectors, *parameters], n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise fail(f"parameter {name!r} names no collector, profile parameter or 'target'",
                       f"{hint}known collectors: {', '.join(sorted(collectors))}; profile parameters: "
                       "`auditor profile params`")
    return CheckSpec(
        id=check_id, title=title, severity=meta["severity"], requirements=meta["requirements"],
        controls=meta["controls"], platforms=frozenset(meta["platforms"]),
        target_kinds=frozenset(meta["target_kinds"]), requires_root=bool(meta["requires_root"]),
        remediation=meta["remediation"].strip(), facts=tuple(facts), params=tuple(params), source=source,
        pack=pack, roles=frozenset(roles), func=func,
    )
