"""Configuration files that include others (postgresql.conf, pg_hba.conf, my.cnf), read as the server reads them.

A file is parsed into directives: a meaningful line (kept with its file and line number, so a finding can name
`file:line`), or an include of a file or of a folder. Included files are fetched a round at a time (every file a
round discovers in one batch), then the lines are laid out in the order the server reads them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from auditor.collectors.databases._host import list_folder, read_files
from auditor.records import record
from auditor.transports.base import Transport

MAX_DEPTH = 10  # servers stop at 10 (PostgreSQL) or so levels of nesting; a loop is cut there too
MAX_FILES = 200


@record
class Setting:
    """A setting's (a variable's) effective value and where it comes from: "file:line", "command line" or
    "default"."""

    value: str
    where: str = "default"


@record
class Line:
    """One meaningful line: where it is, and its text without the comment."""

    file: str
    number: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.number}"


@record
class Directive:
    """A parsed line: kind "line", or "include" / "include_if_exists" / "include_dir" with `path` (absolute)."""

    kind: str
    line: Line
    path: str = ""


Parser = Callable[[str, str], list[Directive]]  # (file path, text) -> directives


@dataclass
class Loaded:
    """The lines of a file and everything it includes, in reading order, with the files read and what failed."""

    lines: list[Line] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def resolve(base_file: str, path: str) -> str:
    """An include's path: absolute as given, else relative to the folder of the file that names it."""
    return posixpath.normpath(path if path.startswith("/") else posixpath.join(posixpath.dirname(base_file), path))


def load(host: Transport, main: str, parse: Parser, folder_suffix: str, required: bool = True) -> Loaded:
    """Read `main` and what it includes; a missing main file is a problem when `required`."""
    parsed: dict[str, list[Directive] | None] = {}
    folders: dict[str, tuple[str, ...] | None] = {}
    loaded = Loaded()
    pending = [main]
    while pending and len(parsed) < MAX_FILES:
        reads = read_files(host, pending)
        for path, read in reads.items():
            parsed[path] = parse(path, read.text) if read.text is not None else None
            if read.text is not None:
                loaded.files.append(path)
        wanted: list[str] = []
        for directives in (d for d in (parsed[p] for p in pending) if d):
            for directive in directives:
                if directive.kind == "include_dir" and directive.path not in folders:
                    folders[directive.path] = list_folder(host, directive.path, folder_suffix)
                    wanted += list(folders[directive.path] or ())
                elif directive.kind.startswith("include") and directive.kind != "include_dir":
                    wanted.append(directive.path)
        pending = [p for p in dict.fromkeys(wanted) if p not in parsed]
    if parsed.get(main) is None:
        if required:
            loaded.problems.append(f"{main} could not be read")
        return loaded
    _lay_out(main, parsed, folders, loaded, 0)
    return loaded


def _lay_out(path: str, parsed: dict[str, list[Directive] | None], folders: dict[str, tuple[str, ...] | None],
             loaded: Loaded, depth: int) -> None:
    for directive in parsed.get(path) or ():
        if directive.kind == "line":
            loaded.lines.append(directive.line)
            continue
        if depth >= MAX_DEPTH:
            loaded.problems.append(f"{directive.line.where}: includes nest deeper than {MAX_DEPTH} levels (a loop?)")
            continue
        targets: Sequence[str]
        if directive.kind == "include_dir":
            listed = folders.get(directive.path)
            if listed is None:
                loaded.problems.append(f"{directive.line.where}: the included folder {directive.path} does not exist")
            targets = listed or ()
        else:
            targets = (directive.path,)
        for target in targets:
            if parsed.get(target) is None:
                if directive.kind == "include":
                    loaded.problems.append(f"{directive.line.where}: the included file {target} could not be read")
                continue
            _lay_out(target, parsed, folders, loaded, depth + 1)
