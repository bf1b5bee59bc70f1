"""sshd_config files as sshd reads them: lines split by sshd's own rules, `Include` spliced in place.

The rules followed are OpenSSH's (servconf.c `process_server_config_line_depth`, misc.c `strdelim` and
`argv_split`): the keyword ends at whitespace or one `=`, is case-insensitive, and a line whose keyword starts
with `#` is a comment; arguments are split on blanks, with single or double quotes and backslash escapes, and a
word starting with `#` ends the line. `Include` takes one or more glob patterns, relative ones under /etc/ssh;
each pattern's matches are read in glob(3)'s order (byte order: sshd sets no locale) and parsed in place, up to
sshd's nesting limit. The tree is pure data: which files and globs it still needs is reported, never fetched here.
"""

from __future__ import annotations

from collections.abc import Mapping

from auditor.records import record
from auditor.transports.base import IS_A_DIRECTORY, FileContent

SSHDIR = "/etc/ssh"
MAX_DEPTH = 16  # SERVCONF_MAX_DEPTH
_BLANKS = " \t"


@record
class Directive:
    """One configuration line: `keyword` lower-case, its arguments, and where it stands ("path line N")."""

    keyword: str
    args: tuple[str, ...]
    where: str


@record
class Included:
    """An `Include` line and the files its patterns matched, in the order sshd parses them."""

    directive: Directive
    files: tuple[ConfigFile, ...]


@record
class ConfigFile:
    """A config file's lines, with the files it includes in place."""

    path: str
    entries: tuple[Directive | Included, ...] = ()


@record
class Tree:
    """Attributes:
    root: the main file as parsed (None when it could not be read).
    wanted_files: files the tree names that were not given yet (read them and build again).
    wanted_globs: Include patterns (absolute) whose matches were not given yet.
    problems: what sshd would reject, and files that could not be read, each with where.
    unread: the files it names that could not be read (missing, or no right to read them).
    """

    root: ConfigFile | None
    wanted_files: frozenset[str] = frozenset()
    wanted_globs: frozenset[str] = frozenset()
    problems: tuple[str, ...] = ()
    unread: tuple[str, ...] = ()



def include_pattern(argument: str) -> str:
    """Where an Include argument points: relative patterns are under /etc/ssh, as sshd resolves them."""
    return argument if argument.startswith(("/", "~")) else f"{SSHDIR}/{argument}"


def split_line(line: str) -> tuple[str, tuple[str, ...]] | None:
    """(lower-case keyword, arguments) of one line, None for a blank or comment line.

    Raises ValueError with sshd's reason for a line sshd rejects (unbalanced quotes, no argument).
    """
    text = line.rstrip(" \t\r\n\f").lstrip(" \t\r\n")
    end = 0
    while end < len(text) and text[end] not in " \t\r\n=":
        end += 1
    keyword, rest = text[:end], text[end:]
    if not keyword or keyword.startswith("#"):
        return None
    if '"' in keyword or "'" in keyword:  # sshd splits the keyword as any word: "PermitRootLogin" is PermitRootLogin
        keyword = "".join(split_arguments(keyword)) or keyword
    rest = rest.lstrip(" \t\r\n")
    if rest.startswith("="):
        rest = rest[1:].lstrip(" \t\r\n")
    args = split_arguments(rest)
    if not args:
        raise ValueError(f'no argument after keyword "{keyword}"')
    return keyword.lower(), args


def split_arguments(text: str) -> tuple[str, ...]:
    """misc.c `argv_split(s, terminate_on_comment=1)`: blanks split, quotes group, `\\` escapes."""
    args: list[str] = []
    i = 0
    while i < len(text):
        if text[i] in _BLANKS:
            i += 1
            continue
        if text[i] == "#":
            break
        word: list[str] = []
        quote = ""
        while i < len(text):
            char = text[i]
            if char == "\\" and i + 1 < len(text) and (text[i + 1] in "'\"\\" or (not quote and text[i + 1] == " ")):
                i += 1
                word.append(text[i])
            elif not quote and char in _BLANKS:
                break
            elif not quote and char in "'\"":
                quote = char
            elif quote and char == quote:
                quote = ""
            else:
                word.append(char)
            i += 1
        if quote:
            raise ValueError("invalid quotes")
        args.append("".join(word))
    return tuple(args)


def build_tree(main: str, files: Mapping[str, FileContent], globs: Mapping[str, tuple[str, ...]]) -> Tree:
    """The tree under `main` from the files and glob matches fetched so far; what is missing is listed."""
    wanted_files: set[str] = set()
    wanted_globs: set[str] = set()
    problems: list[str] = []
    unread: list[str] = []

    def parse(path: str, depth: int) -> ConfigFile | None:
        content = files.get(path)
        if content is None:
            wanted_files.add(path)
            return None
        if depth > 0 and content.error == IS_A_DIRECTORY:
            # sshd opens an included folder as a file and reads nothing from it: the files in it do not apply
            return ConfigFile(path, ())
        if not content.exists or content.error:
            problems.append(f"{path}: {content.error or 'does not exist'}")
            unread.append(path)
            return None
        entries: list[Directive | Included] = []
        for number, line in enumerate(content.text.split("\n"), start=1):
            where = f"{path} line {number}"
            try:
                split = split_line(line)
            except ValueError as exc:
                problems.append(f"{where}: {exc} (sshd refuses this file)")
                continue
            if split is None:
                continue
            directive = Directive(split[0], split[1], where)
            if directive.keyword != "include":
                entries.append(directive)
                continue
            if depth >= MAX_DEPTH:
                problems.append(f"{where}: too many nested includes (sshd refuses this file)")
                continue
            included: list[ConfigFile] = []
            for argument in directive.args:
                pattern = include_pattern(argument)
                if not any(char in pattern for char in "*?["):
                    matches: tuple[str, ...] = (pattern,)  # glob(3) gives a plain path back when it exists
                    if pattern in files and not files[pattern].exists:
                        matches = ()
                elif pattern in globs:
                    matches = globs[pattern]
                else:
                    wanted_globs.add(pattern)
                    continue
                for match in matches:
                    child = parse(match, depth + 1)
                    if child is not None:
                        included.append(child)
            entries.append(Included(directive, tuple(included)))
        return ConfigFile(path, tuple(entries))

    root = parse(main, 0)
    return Tree(root, frozenset(wanted_files), frozenset(wanted_globs), tuple(problems), tuple(unread))


def glob_order(matches: list[str]) -> tuple[str, ...]:
    """glob(3)'s order in the C locale sshd runs in: by bytes, duplicates once."""
    return tuple(sorted(dict.fromkeys(matches), key=lambda p: p.encode("utf-8", "surrogateescape")))



def include_patterns(root: ConfigFile) -> set[str]:
    """Every Include pattern of the tree (absolute), in any file of it."""
    found: set[str] = set()
    for entry in root.entries:
        if isinstance(entry, Included):
            found.update(include_pattern(a) for a in entry.directive.args)
            for child in entry.files:
                found |= include_patterns(child)
    return found
