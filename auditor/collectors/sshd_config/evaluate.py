"""The effective sshd configuration for a connection, computed from the files as sshd computes it.

servconf.c in short: command-line options (`-o`, `-p`, `-g`) are read first, then the files; for each keyword
the FIRST value read wins. Lines after a `Match` apply only when its criteria hold: while the daemon starts
(no connection) only `Match all` holds, so the global values come from lines outside Match blocks; for a
connection (`sshd -T -C`) sshd reads the files again, keeps only the lines of the Match blocks that apply
(first value wins among them) and lays the keywords allowed in a Match over the global values. An included
file cannot clobber its includer's Match state: a Match inside a drop-in ends with that drop-in, and an
Include inside a Match block is read only when the block applies. Algorithm lists are then assembled with the
compiled-in defaults (kex.c `kex_assemble_names`): `+` appends to the default list, `-` removes from it, `^`
puts in front of it, and a plain list replaces it; wildcards expand against the algorithms the build supports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from auditor.collectors.sshd_config.conditions import Connection, applies, parse_condition, port_number
from auditor.collectors.sshd_config.openssh import Build, version_text
from auditor.collectors.sshd_config.tree import ConfigFile, Directive, Included, split_line
from auditor.collectors.sshd_config.values import (
    EVALUATED,
    GLOBAL_ONLY,
    INTRODUCED,
    KEYWORDS,
    LISTS,
    MATCH_KEYWORDS,
    canonical_keyword,
    printed,
)
from auditor.records import record

_REPEATED = frozenset({"port", "listenaddress", "hostkey"})  # keywords whose every value counts


@record
class Evaluated:
    """Attributes:
    options: keyword -> value as `sshd -T` prints it, for every evaluated keyword (the compiled-in default
        where nothing sets it); other keywords set in the files, as written.
    lists: the algorithm keywords, assembled.
    ports: the ports the daemon listens on (Port, `-p`, ports named in ListenAddress).
    problems: lines sshd would refuse, with where.
    """

    options: Mapping[str, str]
    lists: Mapping[str, tuple[str, ...]]
    ports: tuple[int, ...]
    problems: tuple[str, ...]


class _Values:
    """Values as read, first one wins (every one for the repeated keywords)."""

    def __init__(self, build: Build) -> None:
        self.build = build
        self.first: dict[str, str] = {}
        self.repeated: dict[str, list[str]] = {}
        self.problems: list[str] = []

    def set(self, directive: Directive) -> None:
        keyword = canonical_keyword(directive.keyword, self.build.version)
        argument = " ".join(directive.args) if keyword not in EVALUATED else directive.args[0]
        if keyword == "port" and not _is_port(argument):
            self.problems.append(f"{directive.where}: Badly formatted port number (sshd refuses this file)")
            return
        if keyword in _REPEATED:
            self.repeated.setdefault(keyword, []).append(argument)
            return
        if keyword in self.first:
            return
        if keyword in EVALUATED and len(directive.args) > 1:
            self.problems.append(f"{directive.where}: {directive.keyword}: extra arguments at end of line (sshd "
                                 "refuses this file)")
            return
        try:
            if keyword in LISTS:
                if not argument:  # `Ciphers ""`
                    raise ValueError(f"{directive.keyword} missing argument")
                refused = self.build.refusal(keyword, argument)
                if refused:
                    raise ValueError(refused)
            elif keyword in EVALUATED:
                argument = printed(keyword, argument)
        except ValueError as exc:
            self.problems.append(f"{directive.where}: {exc} (sshd refuses this file)")
            return
        self.first[keyword] = argument


def evaluate(root: ConfigFile, build: Build, connection: Connection | None = None,
             command_line: Sequence[str] = (), command_line_ports: Sequence[int] = ()) -> Evaluated:
    """What sshd makes of `root` (and its command-line options) for `connection` (None: at start-up)."""
    values = _Values(build)
    for number, line in enumerate(command_line, start=1):
        split = split_line(line)
        if split is not None:
            values.set(Directive(split[0], split[1], f"command-line option {number}"))
    if command_line_ports:  # sshd ignores the files' Port lines when -p is given
        values.repeated["port"] = [str(p) for p in command_line_ports]
        ports_fixed = True
    else:
        ports_fixed = False
    _walk(root, [True], match_only=False, never_match=False, connection=None,
          apply=lambda d: None if ports_fixed and d.keyword == "port" else values.set(d), problems=values.problems,
          release=build.release)
    options = dict(values.first)
    if connection is not None:
        matched = _Values(build)
        _walk(root, [False], match_only=True, never_match=False, connection=connection,
              apply=lambda d: matched.set(d) if canonical_keyword(d.keyword, build.version) in MATCH_KEYWORDS else None,
              problems=[], release=build.release)
        options.update(matched.first)
        values.problems.extend(p for p in matched.problems if p not in values.problems)
    for keyword, default in build.defaults.items():
        options.setdefault(keyword, default)
    lists = {key: build.assemble(key, options.get(key, "")) for key in LISTS}
    for key, assembled in lists.items():
        options[key] = ",".join(assembled)
    return Evaluated(options, lists, _ports(values.repeated), tuple(values.problems))


def _walk(file: ConfigFile, active: list[bool], *, match_only: bool, never_match: bool,
          connection: Connection | None, apply: Callable[[Directive], None], problems: list[str],
          release: tuple[int, int] | None) -> None:
    """servconf.c `parse_server_config_depth`: `active` is shared with the includer, flags are this file's."""
    for entry in file.entries:
        if isinstance(entry, Included):
            before = active[0]
            for child in entry.files:
                _walk(child, active, match_only=match_only, never_match=not match_only and not before,
                      connection=connection, apply=apply, problems=problems, release=release)
                active[0] = before  # an included file never clobbers its includer's Match state
            continue
        if entry.keyword not in KEYWORDS:  # read or not, such a line stops sshd
            if connection is None:
                problems.append(f"{entry.where}: Bad configuration option: {entry.keyword} (sshd refuses this file)")
            continue
        added = INTRODUCED.get(entry.keyword)
        if release is not None and added is not None and release < added:  # as a typo, for this older sshd
            if connection is None:
                since, here = version_text(added), version_text(release)
                problems.append(f"{entry.where}: Bad configuration option: {entry.keyword} (OpenSSH {since} added "
                                f"it; this host's is {here}: sshd refuses this file)")
            continue
        if entry.keyword == "match":
            try:
                criteria = parse_condition(entry.args)
            except ValueError as exc:
                problems.append(f"{entry.where}: {exc} (sshd refuses this file)")
                active[0] = False
                continue
            active[0] = not never_match and applies(criteria, connection)
            match_only = False
            continue
        if active[0]:
            apply(entry)
        elif connection is None and entry.keyword in GLOBAL_ONLY:
            problems.append(f"{entry.where}: {entry.keyword} is not allowed within a Match block (sshd refuses "
                            "this file)")


def _is_port(text: str) -> bool:
    """A Port sshd takes: a number from 1 to 65535, or a name the target's services database knows (`Port ssh`),
    which is not judged here."""
    number = port_number(text)
    return number is None or 0 < number <= 65535


def _ports(repeated: Mapping[str, Sequence[str]]) -> tuple[int, ...]:
    given = repeated.get("port", ())
    # `Port https` alone: which port that is, only the target's services database knows
    ports = [p for p in map(port_number, given) if p is not None and p > 0] if given else [22]
    found: list[int] = []
    for address in repeated.get("listenaddress", ()):
        text = address.split()[0]
        if text.startswith("["):
            port = text.rpartition("]:")[2] if "]:" in text else ""
        else:
            port = text.rpartition(":")[2] if text.count(":") == 1 else ""
        number = port_number(port) if port else None
        found += [number] if number is not None and number > 0 else ports
    return tuple(dict.fromkeys(found or ports))


def match_lines(root: ConfigFile) -> list[tuple[Directive, tuple[str, ...]]]:
    """Every Match line of the tree, in the order sshd reads them, with the keywords its block sets (up to the
    next Match line or the end of its file, included files' lines counted)."""
    blocks: list[tuple[Directive, list[str]]] = []

    def walk(file: ConfigFile) -> None:
        current: list[str] | None = None
        for entry in file.entries:
            if isinstance(entry, Included):
                for child in entry.files:
                    if current is not None:
                        current += _keywords(child)
                    walk(child)
                continue
            if entry.keyword == "match":
                current = []
                blocks.append((entry, current))
            elif current is not None:
                current.append(entry.keyword)

    walk(root)
    return [(line, tuple(dict.fromkeys(keys))) for line, keys in blocks]


def _keywords(file: ConfigFile) -> list[str]:
    """The keywords an included file sets before its own first Match line."""
    keys: list[str] = []
    for entry in file.entries:
        if isinstance(entry, Included):
            keys += [k for child in entry.files for k in _keywords(child)]
        elif entry.keyword == "match":
            break
        else:
            keys.append(entry.keyword)
    return keys


def groups_named(root: ConfigFile) -> list[str]:
    """Group names (not patterns) used by `Match Group` lines: what to look up on the target."""
    names: list[str] = []
    for line, _ in match_lines(root):
        try:
            criteria = parse_condition(line.args)
        except ValueError:
            continue
        names += [g for c in criteria if c.attribute == "group" for g in c.value.split(",")
                  if g and not g.startswith("!") and "*" not in g and "?" not in g]
    return list(dict.fromkeys(names))

