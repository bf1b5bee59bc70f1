"""YAML input with positions: safe_load semantics, plus file:line:col for every value, for error messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import InputError

PathKey = tuple[str | int, ...]


@dataclass
class YamlDoc:
    """A parsed YAML document and the position of each value, addressed by its key path."""

    data: Any
    file: str
    marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)  # where each key itself stands

    def where(self, *path: str | int) -> str:
        """'file:line:col' of the value at `path`, or of its nearest ancestor that has a position."""
        key: PathKey = tuple(path)
        while key not in self.marks and key:
            key = key[:-1]
        line, col = self.marks.get(key, (1, 1))
        return f"{self.file}:{line}:{col}"

    def error(self, what: str, *path: str | int, fix: str = "", label: str | None = None) -> InputError:
        """An InputError at `path`; `label` names the place in words (default: the dotted key path)."""
        label = ".".join(str(p) for p in path) if label is None else label
        return InputError(f"{label}: {what}" if label else what, self.where(*path), fix)

    def mapping(self, *path: str | int, allowed: Iterable[str] | None = None, label: str | None = None,
                ) -> dict[str, Any]:
        """The mapping at `path` (empty when absent); unknown keys are refused with a suggestion."""
        value = self.get(*path)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(f"must be a mapping (key: value), got {_kind(value)}", *path, label=label)
        if allowed is not None:
            known = sorted(allowed)
            for key in value:
                if key not in known:
                    close = difflib.get_close_matches(str(key), known, n=1)
                    hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
                    place = label if label is not None else ".".join(str(p) for p in path)
                    line, col = self.key_marks.get((*path, key), self.marks.get((*path, key), (1, 1)))
                    what = f"{place}: unknown key {key!r}" if place else f"unknown key {key!r}"
                    raise InputError(what, f"{self.file}:{line}:{col}", hint)
        return value

    def get(self, *path: str | int) -> Any:
        value = self.data
        for part in path:
            in_dict = isinstance(value, dict) and part in value
            in_list = isinstance(value, list) and isinstance(part, int) and part < len(value)
            if in_dict or in_list:
                value = value[part]
            else:
                return None
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def describe(value: Any) -> str:
    """How a value reads in an error message: text quoted, other values named by type."""
    return repr(value) if isinstance(value, str) else _kind(value)


def load_yaml(path: Path | str, what: str) -> YamlDoc:
    """Read and parse a YAML file with safe_load semantics. `what` names it in errors ("inventory")."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} file not found", str(path), "check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"cannot read {what} file ({reason})", str(path),
                         "make it a readable UTF-8 text file") from None
    return parse_yaml(text, str(path), what)


def parse_yaml(text: str, file: str, what: str) -> YamlDoc:
    # libyaml's loader when PyYAML was built with it (the wheels are): same safe semantics, about 5x faster.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError(f"{what} file is empty", f"{file}:1:1", f"write the {what} as YAML")
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        raise InputError(f"not valid YAML: {exc.problem or exc.context}", where,
                         "fix the YAML syntax at that position") from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", file, "fix the YAML syntax") from None
    finally:
        loader.dispose()
    doc = YamlDoc(data, file)
    _record_marks(node, (), doc)
    return doc


def _record_marks(node: yaml.Node, path: PathKey, doc: YamlDoc) -> None:
    doc.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise InputError(f"key {key!r} appears twice in the same mapping",
                                 f"{doc.file}:{line}:{key_node.start_mark.column + 1}", "keep one of them")
            seen.add(key)
            doc.key_marks[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _record_marks(value_node, (*path, key), doc)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_marks(item, (*path, index), doc)
