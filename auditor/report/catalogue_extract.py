"""Babel extractors for the message catalogue (`make catalogue` runs them through `pybabel extract`).

Checks, collectors and the runner write their sentences as English f-strings; no check calls gettext.
`extract_messages` reads such a module's syntax tree and turns every sentence-like string into a message
template: literal text stays, each `{expression}` becomes a named placeholder (`{device}`,
`{problems}`), and a comment tells the translator what each placeholder holds. At render time
report/message_templates.py matches a finding's English message against these templates and fills the
Danish one with the same values (themselves translated when they are catalogued fragments).

`extract_yaml` takes the built-in profile's requirement titles, annex text, parameter descriptions and the
D-mærket criteria titles.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

import yaml

# (line number, function name, message, comments), as Babel expects from an extractor.
Extracted = tuple[int, str | None, str, list[str]]

_WORD = re.compile(r"[A-Za-z]{3,}")
# Stripped from both ends of a template (and of a message before matching): fragments such as
# "; the auditd service is {service}" are joined to a sentence by their punctuation.
EDGES = " \t\n;,:"
# Text that is code, not prose: regular expressions, scripts run on hosts, PowerShell, format specs.
_NOT_PROSE = re.compile(r"\\|\(\?|\n|^\^|\$\w|\[pscustomobject\]|\|\s*ConvertTo-Json|^-{1,2}\w")
_SKIPPED_CALLS = {"compile", "search", "match", "fullmatch", "findall", "finditer", "sub", "split", "error",
                  "Command", "InputError", "getLogger"}
_LOGGERS = {"log", "logger", "logging", "LOG"}  # log.warning(...) is not a message; Verdict.warning(...) is
_SKIPPED_KEYWORDS = {"observed", "expected", "id", "fix", "label"}
_SKIPPED_NAMES = {"observed", "expected", "__all__"}


def extract_messages(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Mapping[str, Any]
                     ) -> Iterator[Extracted]:
    """Every sentence-like string literal and f-string of a Python module, as a message template."""
    source = fileobj.read().decode("utf-8")
    tree = ast.parse(source)
    skipped = _skipped_nodes(tree)
    metadata = _check_metadata(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        found = _template(node, source, skipped)
        if found is None:
            continue
        text, names = found
        line = getattr(node, "lineno", 0)
        if id(node) in metadata:  # a check's title and remediation, whatever they hold
            yield line, None, text, [metadata[id(node)]]
        elif _is_prose(text):
            yield line, None, text, [f"{{{name}}}: {expr}" for name, expr in names]


def _check_metadata(tree: ast.AST) -> dict[int, str]:
    """The title= and remediation= values of @check(...) decorators, with a comment naming the check."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) == "check":
            ids = [str(k.value.value) for k in node.keywords if k.arg == "id" and isinstance(k.value, ast.Constant)]
            for keyword in node.keywords:
                if keyword.arg in ("title", "remediation"):
                    found[id(keyword.value)] = f"{ids[0] if ids else 'check'} {keyword.arg}"
    return found


def _template(node: ast.AST, source: str, skipped: set[int]) -> tuple[str, list[tuple[str, str]]] | None:
    """The template of a str literal, an f-string or a `+` chain of them (None for anything else): the text
    with `{name}` placeholders, stripped, and each placeholder's name and source expression."""
    parts = _parts(node)
    if parts is None or not any(isinstance(p, str) for p in parts):
        return None
    skipped.update(_chain(node))  # the pieces of a `+` chain are not messages of their own
    text: list[str] = []
    names: list[tuple[str, str]] = []
    used: set[str] = set()
    for part in parts:
        if isinstance(part, str):
            text.append(part.replace("{", "{{").replace("}", "}}"))
            continue
        name = _unique(_name(part), used)
        names.append((name, ast.get_source_segment(source, part) or name))
        text.append("{" + name + "}")
    return "".join(text).strip(EDGES), names


def _chain(node: ast.AST) -> set[int]:
    if isinstance(node, ast.BinOp):
        return {id(node.left), id(node.right), *_chain(node.left), *_chain(node.right)}
    return set()


def _parts(node: ast.AST) -> list[Any] | None:
    """The literal strings and placeholder expressions of a string expression, in order."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        parts: list[Any] = []
        for value in node.values:
            if isinstance(value, ast.Constant | ast.FormattedValue):
                parts.append(value.value)
        return parts
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _parts(node.left), _parts(node.right)
        if left is None and right is None:
            return None
        return [*(left if left is not None else [node.left]), *(right if right is not None else [node.right])]
    return None


def _name(expr: ast.AST) -> str:
    """A placeholder name a translator can read, from the expression that fills it."""
    match expr:
        case ast.Name(id=name):
            return name
        case ast.Attribute(attr=attr):
            return attr
        case ast.Call(func=ast.Attribute(attr="join"), args=[arg, *_]):
            return _name(arg)
        case ast.Call(func=ast.Attribute(attr=attr), args=[]):
            return attr
        case ast.Call(func=ast.Name(id=func), args=[arg, *_]) if func in ("len", "str", "sorted", "round", "int"):
            return ("count_" if func == "len" else "") + _name(arg)
        case ast.Call(func=ast.Name(id=func)) | ast.Call(func=ast.Attribute(attr=func)):
            return func
        case ast.Subscript(slice=ast.Constant(value=str() as key)):
            return key
        case ast.Subscript(value=value):
            return _name(value)
        case ast.BoolOp(values=[first, *_]):
            return _name(first)
        case ast.BinOp(left=left):
            return _name(left)
        case ast.IfExp():
            return "choice"
        case ast.GeneratorExp(generators=[gen, *_]) | ast.ListComp(generators=[gen, *_]):
            return _name(gen.iter)
    return "value"


def _unique(name: str, used: set[str]) -> str:
    name = re.sub(r"\W+", "_", name).strip("_").lower() or "value"
    name = name if name[0].isalpha() else f"value_{name}"
    candidate, index = name, 2
    while candidate in used:
        candidate, index = f"{name}_{index}", index + 1
    used.add(candidate)
    return candidate


def _is_prose(text: str) -> bool:
    """Words a reader reads: a space and a word of three letters, or a template joining values with a short word
    ("{label} is {value} ({why})")."""
    literal = re.sub(r"\{\w+\}", "", text.replace("{{", "").replace("}}", ""))
    shaped = re.sub(r"\{\w+\}", "X", text)
    words = _WORD.search(literal) or (shaped != text and re.search(r"(?:^|\s)[a-z]{2}(?:\s|$)", literal))
    return " " in literal.strip() and bool(words) and not _NOT_PROSE.search(shaped)


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """Docstrings, dict keys, observed/expected values, regexes, commands, log calls and input errors."""
    skipped: set[int] = set()

    def skip(node: ast.AST) -> None:
        skipped.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(node, ast.Module | ast.ClassDef
                                                                             | ast.FunctionDef):
            skip(body[0])
        if isinstance(node, ast.JoinedStr):  # its pieces are the template, not messages of their own
            skipped.update(id(v) for v in node.values)
        elif isinstance(node, ast.Dict):
            for key in node.keys:
                if key is not None:
                    skip(key)
        elif isinstance(node, ast.keyword) and node.arg in _SKIPPED_KEYWORDS:
            skip(node.value)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id in _SKIPPED_NAMES for t in targets) and node.value:
                skip(node.value)
        elif isinstance(node, ast.Call) and (_call_name(node) in _SKIPPED_CALLS or _is_log_call(node)):
            for arg in node.args:
                skip(arg)
        elif isinstance(node, ast.Compare | ast.Subscript):  # `x == "text"`, `d["key"]`: data, not words
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.Constant):
                    skip(child)
    return skipped


def _is_log_call(call: ast.Call) -> bool:
    return isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name) \
        and call.func.value.id in _LOGGERS


def _call_name(call: ast.Call) -> str:
    if isinstance(call.func, ast.Name):
        return call.func.id
    return call.func.attr if isinstance(call.func, ast.Attribute) else ""


# ---- YAML: the built-in profile and the D-mærket catalogue ----------------------------------------------

_YAML_KEYS = {"title", "annex", "not_scannable", "description"}


def extract_yaml(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Mapping[str, Any]
                 ) -> Iterator[Extracted]:
    """Requirement titles, annex text, statements and parameter descriptions of a profile; every control
    title of a catalogue (its `controls` mapping)."""
    root = yaml.compose(fileobj.read().decode("utf-8"))
    if root is not None:
        yield from _yaml_strings(root, (), catalogue=_has_key(root, "controls"))


def _has_key(node: yaml.Node, key: str) -> bool:
    return isinstance(node, yaml.MappingNode) and any(k.value == key for k, _ in node.value)


def _yaml_strings(node: yaml.Node, path: Sequence[str], *, catalogue: bool) -> Iterator[Extracted]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _yaml_strings(value, (*path, str(key.value)), catalogue=catalogue)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _yaml_strings(item, path, catalogue=catalogue)
    elif isinstance(node, yaml.ScalarNode) and node.tag.endswith(":str") and path:
        wanted = (catalogue and len(path) == 2 and path[0] == "controls") or \
                 (not catalogue and path[-1] in _YAML_KEYS and "choices" not in path)
        if wanted and node.value.strip():
            yield node.start_mark.line + 1, None, node.value.strip(), [".".join(path)]


# ---- Templates: English written in place, as w.text("...") ----------------------------------------------

_TEMPLATE_TEXT = re.compile(r"""\bw\.text\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\)""")


def extract_template_texts(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Mapping[str, Any]
                           ) -> Iterator[Extracted]:
    """Every `w.text("...")` of a report template whose argument is a string literal."""
    source = fileobj.read().decode("utf-8")
    for match in _TEMPLATE_TEXT.finditer(source):
        text = ast.literal_eval(match.group(1))
        if isinstance(text, str) and text.strip():
            yield source.count("\n", 0, match.start()) + 1, None, text, []
