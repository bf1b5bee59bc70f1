"""Fetching config trees from a target: the files, and what each Include pattern matches there.

A pattern is expanded by the target's own shell, as a positional parameter of a constant script (`IFS` empty:
no word splitting, only pathname expansion), so nothing from the target becomes shell text; the matches are then
put in glob(3)'s order here. Every round trip fetches all that the trees built so far still lack, together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence

from auditor.collectors.sshd_config.tree import Tree, build_tree, glob_order
from auditor.transports.base import Command, FileContent, Transport, cmd, fetch

# $1.. are patterns; prints "<pattern number><TAB><path>" for each existing match, and "<number><TAB>!" when the
# pattern's folder exists but may not be listed by this account (its matches are then unknown, not none).
GLOB_SCRIPT = ('i=0; IFS=; for p do i=$((i+1)); d=${p%/*}; [ -e "$d" ] && { [ -r "$d" ] && [ -x "$d" ] || '
               'printf \'%s\\t!\\n\' "$i"; }; for f in $p; do [ -e "$f" ] && printf \'%s\\t%s\\n\' "$i" "$f"; done; '
               'done; exit 0')
UNLISTABLE = "!"
MAX_ROUNDS = 8  # nested includes deeper than this many round trips are reported, not followed


def glob_command(patterns: Iterable[str], privileged: bool = False) -> Command:
    """One command expanding every pattern on the target (sorted, so the same set is the same command); as root
    (sudo) when `privileged`, for folders only root may list."""
    return cmd("sh", "-c", GLOB_SCRIPT, "sh", *sorted(set(patterns)), sudo=privileged)


def parse_glob(command: Command, stdout: str) -> tuple[dict[str, tuple[str, ...]], set[str]]:
    """(pattern -> its matches in glob order, patterns whose folder this account may not list), from the glob
    command's answer."""
    patterns = command.argv[4:]
    found: dict[str, list[str]] = {p: [] for p in patterns}
    unlistable: set[str] = set()
    for line in stdout.splitlines():
        index, tab, path = line.partition("\t")
        if tab and index.isdigit() and 0 < int(index) <= len(patterns):
            if path == UNLISTABLE:
                unlistable.add(patterns[int(index) - 1])
            else:
                found[patterns[int(index) - 1]].append(path)
    return {p: glob_order(matches) for p, matches in found.items()}, unlistable


def read_trees(host: Transport, mains: Sequence[str], files: MutableMapping[str, FileContent],
               globs: MutableMapping[str, tuple[str, ...]], blind: set[str], privileged: bool = False,
               ) -> tuple[dict[str, Tree], list[str]]:
    """Each main config file's tree, fetching what is missing (`files` and `globs` are filled as a cache), and
    what could not be fetched; `blind` collects the patterns whose folder could not be listed. `privileged`: sudo
    works, so a file the account may not read (CIS wants sshd_config 0600) is read again with `sudo cat`, and
    patterns are expanded as root."""
    problems: list[str] = []
    retried: set[str] = set()
    for _ in range(MAX_ROUNDS):
        trees = {main: build_tree(main, files, globs) for main in dict.fromkeys(mains)}
        wanted_files = sorted({p for t in trees.values() for p in t.wanted_files})
        wanted_globs = sorted({p for t in trees.values() for p in t.wanted_globs})
        again = sorted({p for t in trees.values() for p in t.unread} - retried) if privileged else []
        if not wanted_files and not wanted_globs and not again:
            return trees, problems
        command = glob_command(wanted_globs, privileged) if wanted_globs else None
        cats = [cmd("cat", "--", path, sudo=True) for path in again]
        retried.update(again)
        results, contents = fetch(host, [*([command] if command else []), *cats], wanted_files)
        for content in contents:
            files[content.path] = content
        for path, result in zip(again, results[len(results) - len(cats):], strict=True):
            if result.ok:
                files[path] = FileContent(path, True, result.stdout.encode("utf-8", "surrogateescape"))
        if command is not None:
            answer = results[0]
            if answer.ok:
                matched, unlistable = parse_glob(command, answer.stdout)
                globs.update(matched)
                blind.update(unlistable)
            else:  # the patterns cannot be expanded here: say so, and read on without them
                globs.update({p: () for p in wanted_globs})
                problems.append(f"Include {', '.join(wanted_globs)} could not be expanded: {answer.failure()}")
    problems.append(f"includes nested deeper than {MAX_ROUNDS} levels were not followed")
    return {main: build_tree(main, files, globs) for main in dict.fromkeys(mains)}, problems


def lookup_groups(stdout: str) -> Mapping[str, tuple[str, ...]]:
    """`getent group a b` -> group name -> its listed members."""
    members: dict[str, tuple[str, ...]] = {}
    for line in stdout.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0]:
            members[fields[0]] = tuple(m for m in fields[3].split(",") if m)
    return members
