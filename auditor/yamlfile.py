"""YAML input with positions: safe_load semantics, plus file:line:col for every value, for error messages."""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import InputError
from auditor.files import READ_INPUT_FLAGS, dump_json, load_json, sha256_bytes, write_atomic

PathKey = tuple[str | int, ...]

MAX_INPUT_BYTES = 1 << 20  # 1 MiB: some 10,000 targets; parsing it takes about 2 s and 100 MB at most
MAX_NODES = 250_000  # values in a document, aliases counted each time they are used (billion laughs)
MAX_DEPTH = 64  # nesting levels; auditor's own files use fewer than 6
_CORE = "tag:yaml.org,2002:"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_REFUSED_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("binary", "set", "omap", "pairs")}
_TAG_WORDS = {"tag:yaml.org,2002:timestamp": "a calendar date or date-time", "tag:yaml.org,2002:int": "an integer",
              "tag:yaml.org,2002:float": "a number", "tag:yaml.org,2002:bool": "true or false",
              "tag:yaml.org,2002:null": "null"}
_TAG_FIX = {"tag:yaml.org,2002:timestamp": "write a real date as YYYY-MM-DD (e.g. 2026-02-28)",
            "tag:yaml.org,2002:int": "write digits only, or remove the !!int tag",
            "tag:yaml.org,2002:float": "write a number such as 2.5, or remove the !!float tag"}
_KEY_LIKE = re.compile(r"[\w.-]{1,40}")
_PACKAGE = Path(__file__).resolve().parent
PACKAGE_YAML = (_PACKAGE / "profiles", _PACKAGE / "catalogues")  # the YAML files shipped inside auditor


@dataclass
class YamlDoc:
    """A parsed YAML document and the position of each value, addressed by its key path."""

    data: Any
    file: str
    marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)  # where each key itself stands
    # A shipped file's positions are found only when an error needs one (load_package_yaml).
    locate: Callable[[], YamlDoc] | None = field(default=None, repr=False, compare=False)

    def _positions(self) -> None:
        if self.locate is not None:
            found, self.locate = self.locate(), None
            self.marks, self.key_marks = found.marks, found.key_marks

    def where(self, *path: str | int) -> str:
        """'file:line:col' of the value at `path`, or of its nearest ancestor that has a position."""
        self._positions()
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
            raise self.error(f"must be a mapping (key: value), got {kind_of(value)}", *path, label=label)
        if allowed is not None:
            known = sorted(allowed)
            for key in value:
                if key not in known:
                    close = difflib.get_close_matches(str(key)[:40], known, n=1)
                    hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
                    place = label if label is not None else ".".join(str(p) for p in path)
                    self._positions()
                    line, col = self.key_marks.get((*path, key), self.marks.get((*path, key), (1, 1)))
                    what = f"{place}: unknown key {quote_key(key)}" if place else f"unknown key {quote_key(key)}"
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


def kind_of(value: Any) -> str:
    """A value named by its type only ("a list", "text"): for a place where quoting it could echo a whole file."""
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number",
            float: "a number", date: "a date", datetime: "a date-time"}.get(type(value), type(value).__name__)


def describe(value: Any) -> str:
    """How a value reads in an error message: text quoted (a short token), a number or true/false as written
    ("got 70000"), other values named by type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return token(str(value), 24)[1:-1]
    return token(value) if isinstance(value, str) else kind_of(value)


def token(text: str, limit: int = 40) -> str:
    """A piece of an input file as an error may quote it: at most `limit` characters, control characters escaped.

    An error must never echo a file's contents: given the wrong file (`--profile /etc/shadow`), the token
    is all that shows.
    """
    return repr(text if len(text) <= limit else text[:limit] + "…")


def quote_key(key: object) -> str:
    """An unknown key as an error names it: quoted when it looks like a key, else only its length.

    A "key" that is no name (a line of /etc/shadow read as YAML) is file content, not a typo.
    """
    text = str(key)
    return repr(text) if _KEY_LIKE.fullmatch(text) else f"({len(text)} characters, not a key name)"


def load_yaml(path: Path | str, what: str) -> YamlDoc:
    """Read and parse a YAML file with safe_load semantics. `what` names it in errors ("inventory")."""
    return parse_yaml(read_input(path, what), str(path), what)


def load_package_yaml(path: Path, what: str) -> YamlDoc:
    """A YAML file shipped inside auditor (the default profile, the control catalogues), read by libyaml alone,
    or from its compiled copy (compile_package_yaml) while that holds the file's SHA-256.

    These files are the project's own, and a test reads each with load_yaml too (same data, no duplicate key),
    so the refusals load_yaml makes for hostile input are not repeated on every start (5 ms); positions are found
    only when an error about a value needs one.
    """
    text = read_input(path, what)
    digest = sha256_bytes(text.encode())
    try:
        compiled = load_json(_compiled_path(path).read_bytes())
        data = compiled["data"] if compiled["sha256"] == digest else _load_package_text(text)
    except (OSError, ValueError, KeyError, TypeError):  # none, or not ours: the YAML itself answers
        data = _load_package_text(text)
    return YamlDoc(data, str(path), locate=lambda: parse_yaml(text, str(path), what))


def compile_package_yaml(folders: Iterable[Path] = PACKAGE_YAML) -> list[Path]:
    """Write each shipped YAML file's data as JSON into its folder's __pycache__, as compileall does for the
    modules: constructing them in Python cost every command about 6 ms. A file whose data JSON cannot hold as it
    is (a date, a number as a key) gets no copy. Returns the copies written."""
    written = []
    for path in sorted(p for folder in folders for p in folder.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        data = _load_package_text(text)
        document = dump_json({"sha256": sha256_bytes(text.encode()), "data": data})
        try:
            if load_json(document)["data"] != data:
                continue
        except ValueError:
            continue
        target = _compiled_path(path)
        target.parent.mkdir(exist_ok=True)
        write_atomic(target, document, durable=False)
        written.append(target)
    return written


def _compiled_path(path: Path) -> Path:
    return path.parent / "__pycache__" / f"{path.name}.json"


def _load_package_text(text: str) -> Any:
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # a safe loader


def read_input(path: Path | str, what: str) -> str:
    """The text of an input file, refused in one line unless it is a regular UTF-8 file of at most MAX_INPUT_BYTES.

    The file is opened without blocking and checked before a byte is read: a FIFO would wait forever for a
    writer, and /dev/zero or a folder is no input file.
    """
    path = Path(path)
    try:
        fd = os.open(path, READ_INPUT_FLAGS)
    except FileNotFoundError:
        raise InputError(f"{what} file not found", str(path), "check the path") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} file ({exc.strerror or exc})", str(path),
                         "make it a readable UTF-8 text file") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputError(f"{what} is {_special_kind(mode)}, not a regular file", str(path),
                         f"give the path of the {what} file itself")
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{what} file is larger than {MAX_INPUT_BYTES >> 20} MiB", str(path),
                         "is it the right file? it should be a short YAML text")
    try:
        # A byte order mark (Windows Notepad's "UTF-8 with BOM") is no part of the text: YAML skips it, and an
        # Ansible INI inventory's first line would otherwise read as a host named "\ufeff[group]".
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line, column = _line_column(data, exc.start)
        raise InputError(f"cannot read {what} file: not UTF-8 text (byte 0x{data[exc.start]:02x})",
                         f"{path}:{line}:{column}", "save it as UTF-8") from None


def _special_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a device"),
             (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def _line_column(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset into UTF-8 `data`."""
    before = data[:offset]
    start = before.rfind(b"\n") + 1
    return before.count(b"\n") + 1, len(before[start:].decode("utf-8", errors="replace")) + 1


def parse_yaml(text: str, file: str, what: str) -> YamlDoc:
    """Parse YAML text with safe_load semantics; every refusal is one InputError naming file:line:column."""
    # libyaml's loader when PyYAML was built with it (the wheels are): same safe semantics, about 5x faster.
    c_loader = getattr(yaml, "CSafeLoader", None)
    loader = (c_loader or yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError(f"{what} file is empty", f"{file}:1:1", f"write the {what} as YAML")
        _refuse_unbounded(node, file)
        _construct_scalars(loader, node, file)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        lines = text.splitlines()
        if mark and mark.line < len(lines) and lines[mark.line][mark.column:mark.column + 1] == "\t":
            # libyaml says only "found character that cannot start any token" of a tab in the indent
            raise InputError("not valid YAML: a tab character; YAML indents with spaces only", where,
                             "replace the tab with spaces") from None
        raise InputError(f"not valid YAML: {_bounded(exc.problem or exc.context or '')}", where,
                         "fix the YAML syntax at that position") from None
    except yaml.reader.ReaderError as exc:
        # libyaml counts the offset in UTF-8 bytes, the pure-Python reader in characters.
        offset = exc.position if c_loader else len(text[:exc.position].encode("utf-8"))
        line, column = _line_column(text.encode("utf-8"), offset)
        raise InputError(f"not valid YAML: character {_codepoint(exc.character)} is not allowed in YAML",
                         f"{file}:{line}:{column}", "remove it, or write it as an escape in a double-quoted string"
                         ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {_bounded(str(exc))}", file, "fix the YAML syntax") from None
    finally:
        loader.dispose()
    doc = YamlDoc(data, file)
    _record_marks(node, (), doc, set())
    return doc


def _codepoint(character: object) -> str:
    return f"U+{character:04X}" if isinstance(character, int) else repr(character)


def _bounded(problem: str) -> str:
    """A parser's problem text on one line, cut short: it may quote a tag or a token of any length."""
    first = problem.splitlines()[0] if problem else "unreadable"
    return first if len(first) <= 100 and first.isprintable() else repr(first[:100])[1:-1] + "…"


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _at(file: str, node: yaml.Node) -> str:
    return f"{file}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def _refuse_unbounded(root: yaml.Node, file: str) -> None:
    """Refuse alias bombs ("billion laughs"), aliases that contain themselves, and needless depth.

    Each distinct node is visited once and its expanded size (aliases counted every time they are used)
    is summed from its children's, so the check costs the size of the text, not of the expansion.
    """
    size: dict[int, int] = {}
    open_nodes: set[int] = set()  # the path from the root to the node being expanded
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            size[key] = 1 + sum(size[id(child)] for child in _children(node))
            if size[key] > MAX_NODES:
                raise InputError(f"this value expands to more than {MAX_NODES:,} values (aliases count each time "
                                 "they are used)", _at(file, node), "write the values out, or use fewer aliases")
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise InputError("an alias refers to the value that contains it", _at(file, node),
                             "a value cannot contain itself: write it out")
        if depth > MAX_DEPTH:
            raise InputError(f"values are nested more than {MAX_DEPTH} levels deep", _at(file, node),
                             "flatten the structure")
        open_nodes.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node))


def _construct_scalars(loader: Any, root: yaml.Node, file: str) -> None:
    """Refuse unknown tags, and build every scalar before the document, so a bad date or number is refused at
    its own line:column.

    The loader keeps what it built, so constructing the document afterwards reuses these values.
    """
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, PathKey | None]] = [(root, ())]  # a key's own path is None: it has no label
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key_path = None if path is None else (*path, str(key_node.value))
                stack.extend(((key_node, None), (value_node, key_path)))
        else:
            stack.extend((child, None if path is None else (*path, index))
                         for index, child in enumerate(_children(node)))
        if node.tag in _REFUSED_TAGS or (node.tag not in loader.yaml_constructors and node.tag != _MERGE_TAG):
            tag = token(node.tag.replace(_CORE, "!!"))
            raise InputError(f"tag {tag} is not used in auditor files", _at(file, node),
                             "remove the tag: write plain text, numbers, dates, lists and mappings")
        if not isinstance(node, yaml.ScalarNode) or node.tag == _MERGE_TAG:
            continue
        label = ".".join(str(p) for p in path) + ": " if path else ""
        kind = _TAG_WORDS.get(node.tag, node.tag)
        offset = _impossible_offset(loader, node)
        if offset:
            raise InputError(f"{label}{token(str(node.value))} is not {kind}: the UTC offset {offset} is not one "
                             "(offsets run from -23:59 to +23:59)", _at(file, node),
                             "write the offset of the time zone meant, e.g. +01:00, or Z for UTC")
        try:
            loader.construct_object(node)
        except yaml.MarkedYAMLError:
            raise
        except (yaml.YAMLError, ValueError, TypeError, AttributeError, OverflowError) as exc:
            reason = f" ({_bounded(str(exc))})" if node.tag == _TIMESTAMP_TAG and isinstance(exc, ValueError) else ""
            raise InputError(f"{label}{token(str(node.value))} is not {kind}{reason}", _at(file, node),
                             _TAG_FIX.get(node.tag, "quote it to make it text")) from None


def _impossible_offset(loader: Any, node: yaml.Node) -> str:
    """A date-time's UTC offset as written, when no clock has it (+25:00, or +05:75, which YAML would read as
    +06:15); else "". Python's own refusal quotes timedelta's repr, cut short."""
    if node.tag != _TIMESTAMP_TAG or not isinstance(node.value, str):
        return ""
    found = loader.timestamp_regexp.match(node.value)
    if found is None or not found.group("tz_sign"):
        return ""
    hours, minutes = int(found.group("tz_hour")), int(found.group("tz_minute") or 0)
    if hours < 24 and minutes < 60:
        return ""
    return node.value[found.start("tz_sign"):]


def _record_marks(node: yaml.Node, path: PathKey, doc: YamlDoc, visited: set[int]) -> None:
    # A node reached again through an alias keeps the position of its first path: the walk stays linear.
    if id(node) in visited:
        return
    visited.add(id(node))
    doc.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise InputError(f"key {quote_key(key)} appears twice in the same mapping",
                                 f"{doc.file}:{line}:{key_node.start_mark.column + 1}", "keep one of them")
            seen.add(key)
            doc.key_marks[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _record_marks(value_node, (*path, key), doc, visited)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_marks(item, (*path, index), doc, visited)
