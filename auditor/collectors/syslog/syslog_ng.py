"""syslog-ng.conf destinations and log paths (syslog-ng.conf(5), https://syslog-ng.github.io/admin-guide/)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from auditor.collectors.syslog._lexing import closing_bracket, strip_comment
from auditor.collectors.syslog.facts import Daemon, Forward

SYSLOG_NG_CONF, SYSLOG_NG_DIR = "/etc/syslog-ng/syslog-ng.conf", "/etc/syslog-ng/conf.d"
_DRIVER = re.compile(r"(?<![\w-])(file|network|syslog|tcp6?|udp6?)\s*\(")
_QUOTES = "\"'"
# A destination's first argument: "quoted", 'quoted', or a bare word.
_FIRST = re.compile(r"""\s*(?:"([^"]*)"|'([^']*)'|([\w.:-]+))""")


def parse_syslog_ng(texts: Mapping[str, str], main: str = SYSLOG_NG_CONF) -> Daemon:
    """syslog-ng.conf plus conf.d: destinations that a `log` path uses (files and network senders)."""
    # A file that could not be read is not in `texts`: the collector reports it as a problem.
    order = [p for p in (main, *sorted(p for p in texts if p != main)) if p in texts]
    destinations: dict[str, list[tuple[str, str, str]]] = {}  # name -> [(driver, arguments, source)]
    logs: list[tuple[str, str, int, str]] = []  # (body, file text, offset, path) of each log path
    for path in order:
        text = "\n".join(strip_comment(line, _QUOTES) for line in texts[path].splitlines())
        for match in re.finditer(r"\b(destination\s+([\w.-]+)|log)\s*\{", text):
            end = closing_bracket(text, match.end() - 1, "{", "}", _QUOTES)
            if match.group(2):
                destinations[match.group(2)] = _drivers(text[match.end():end], text, match.end(), path)
            else:
                logs.append((text[match.end():end], text, match.end(), path))
    used: list[tuple[str, str, str]] = []
    for body, text, offset, path in logs:  # a destination may be defined after the log path using it
        used_names = re.findall(r"""\bdestination\s*\(\s*["']?([\w.-]+)["']?\s*\)""", body)
        used.extend(d for name in used_names for d in destinations.get(name, []))
        for inline in re.finditer(r"\bdestination\s*\{", body):
            stop = closing_bracket(body, inline.end() - 1, "{", "}", _QUOTES)
            used.extend(_drivers(body[inline.end():stop], text, offset + inline.end(), path))
    files: list[str] = []
    forwards: list[Forward] = []
    for driver, args, source in dict.fromkeys(used):
        first = _FIRST.match(args)
        target = next((g for g in first.groups() if g), "") if first else ""
        if driver == "file":
            files.append(target)
            continue
        transport = re.search(r"""\btransport\s*\(\s*["']?(\w+)["']?\s*\)""", args)
        protocol = (transport.group(1).lower() if transport else "udp" if driver.startswith("udp") else "tcp")
        tls_block = re.search(r"\btls\s*\(", args)
        tls = protocol == "tls" or (driver.startswith("tcp") and tls_block is not None)
        verify = re.search(r"""\bpeer[-_]verify\s*\(\s*["']?([\w-]+)["']?\s*\)""", args)
        auth = (verify.group(1).lower() if verify else "required-trusted") if tls else ""
        forwards.append(Forward("syslog-ng", target, "tcp" if protocol == "tls" else protocol, tls, auth, source))
    return Daemon("syslog-ng", config_files=tuple(order), log_files=tuple(dict.fromkeys(files)),
                  forwards=tuple(forwards))


def _drivers(body: str, text: str, offset: int, path: str) -> list[tuple[str, str, str]]:
    found = []
    end = -1
    for match in _DRIVER.finditer(body):
        if match.start() < end:
            continue  # inside the previous driver's options, e.g. tls(key-file(...))
        end = closing_bracket(body, match.end() - 1, "(", ")", _QUOTES)
        line_no = text.count("\n", 0, offset + match.start()) + 1
        found.append((match.group(1), body[match.end():end], f"{path}:{line_no}"))
    return found
