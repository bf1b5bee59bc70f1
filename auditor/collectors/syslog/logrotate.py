"""logrotate.conf and its includes (logrotate(8), https://man7.org/linux/man-pages/man8/logrotate.8.html)."""

from __future__ import annotations

import fnmatch
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import replace

from auditor.collectors.syslog.facts import PERIOD_DAYS, Rotation

LOGROTATE_CONF, LOGROTATE_DIR = "/etc/logrotate.conf", "/etc/logrotate.d"
# logrotate skips these in an included folder (its default tabooext list); ".rhn-cfg-tmp-*" is a pattern:
# RHN writes "name.rhn-cfg-tmp-XXXXXX", so that one is matched anywhere in the name.
_TABOO = (".rpmorig", ".rpmsave", ",v", ".swp", ".rpmnew", "~", ".cfsaved", ".dpkg-dist",
          ".dpkg-old", ".dpkg-new", ".disabled", ".ucf-old", ".ucf-dist", ".ucf-new")
_TABOO_INFIX = ".rhn-cfg-tmp-"
_SCRIPTS = ("postrotate", "prerotate", "firstaction", "lastaction", "preremove")


def parse_logrotate(texts: Mapping[str, str], main: str = LOGROTATE_CONF,
                    folder_files: Sequence[str] = ()) -> list[Rotation]:
    """logrotate.conf with its includes, in logrotate's order: one Rotation per pattern of every rule.

    Global options set before an `include` apply to the included rules, as logrotate applies them.
    """
    rules: list[Rotation] = []
    defaults = Rotation(pattern="*")
    reading: list[str] = []  # the include chain: a file that includes itself, directly or not, is read once

    def read(path: str) -> None:
        nonlocal defaults
        if path in reading:
            return
        reading.append(path)
        block: Rotation | None = None
        patterns: list[str] = []
        script = False
        for raw in texts.get(path, "").splitlines():
            line = raw.strip()
            if script:
                script = line != "endscript"
                continue
            if not line or line.startswith("#"):
                continue
            for token in _brace_split(line):
                words = token.replace("=", " ", 1).split() if not token.startswith(("/", '"')) else [token]
                word = words[0].lower() if words else ""
                if token == "{":
                    block = replace(defaults, source=path)
                elif token == "}":
                    if block is not None:
                        rules.extend(replace(block, pattern=p) for p in patterns)
                    block, patterns = None, []
                elif word in _SCRIPTS:
                    script = True
                elif word == "include" and block is None and len(words) > 1:
                    target = words[1].strip('"')
                    for included in ([target] if target in texts else sorted(
                            p for p in folder_files if p.startswith(target.rstrip("/") + "/")
                            and not _taboo(p))):
                        read(included)
                elif word in PERIOD_DAYS or word in ("size", "rotate", "maxage"):
                    changed = _option(block or defaults, word, words[1:])
                    if block is None:
                        defaults = changed
                    else:
                        block = changed
                elif block is None and (token.startswith(("/", '"', "'", "~", "*"))):
                    try:
                        patterns.extend(shlex.split(token, posix=True))
                    except ValueError:  # an unbalanced quote: logrotate rejects the line, so do we
                        continue
        reading.pop()

    read(main)
    return rules


def _taboo(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(_TABOO) or _TABOO_INFIX in name


def _option(rotation: Rotation, word: str, args: list[str]) -> Rotation:
    number = int(args[0]) if args and args[0].lstrip("-").isdigit() else None
    if word in PERIOD_DAYS or word == "size":
        return replace(rotation, frequency=word)
    if word == "rotate" and number is not None:
        return replace(rotation, rotate=number)
    if word == "maxage" and number is not None:
        return replace(rotation, maxage=number)
    return rotation


def _brace_split(line: str) -> list[str]:
    parts = re.split(r"([{}])", line)
    return [p.strip() for p in parts if p.strip()]


def rotation_for(path: str, rules: Sequence[Rotation]) -> Rotation:
    """The first logrotate rule whose pattern matches the file (logrotate ignores later duplicates)."""
    return next((rule for rule in rules if glob_matches(path, rule.pattern)), Rotation())


def glob_matches(path: str, pattern: str) -> bool:
    """glob(3) as logrotate expands its patterns: `*`, `?` and `[...]` never match a `/`."""
    names, parts = path.split("/"), pattern.split("/")
    return len(names) == len(parts) and all(fnmatch.fnmatchcase(n, p) for n, p in zip(names, parts, strict=True))
