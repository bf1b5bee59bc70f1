"""rsyslog.conf in RainerScript and legacy syntax (https://www.rsyslog.com/doc/configuration/basic_structure.html)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping

from auditor.collectors.syslog._lexing import closing_bracket, strip_comment
from auditor.collectors.syslog.facts import Daemon, Forward

RSYSLOG_CONF, RSYSLOG_DIR = "/etc/rsyslog.conf", "/etc/rsyslog.d"
_TLS_DRIVERS = ("gtls", "ossl", "mbedtls")
_OBJECT = re.compile(r"\b(action|global|include|module|input|template|ruleset|main_queue|timezone|parser"
                     r"|lookup_table|dyn_stats|percentile_stats|property|constant)\s*\(", re.IGNORECASE)
_PARAM = re.compile(r'([A-Za-z][\w.]*)\s*=\s*("(?:[^"\\]|\\.)*"|\[[^\]]*\]|[^\s)]+)')
_LEGACY_FORWARD = re.compile(r"^(@@?)(?:\(([^)]*)\))?(\[[^\]]+\]|[^:;\s]+)(?::(\d+))?")


def parse_rsyslog(texts: Mapping[str, str], main: str = RSYSLOG_CONF) -> Daemon:
    """rsyslog.conf plus includes: local files written and forwarding actions (legacy and RainerScript)."""
    order: list[str] = []
    problems: list[str] = []
    statements: list[tuple[str, int, str, dict[str, str]]] = []  # (file, line, legacy text | "", params)

    def read(path: str) -> None:
        order.append(path)
        for line_no, kind, text, params in _statements(texts.get(path, "")):
            if kind == "include":
                target = params.get("file", text.split(None, 1)[-1]).strip('"')
                target += "*" if target.endswith("/") else ""  # a folder includes every file in it
                matches = sorted(p for p in texts if fnmatch.fnmatchcase(p, target) and p not in order)
                if not matches and not target.startswith(RSYSLOG_DIR + "/"):
                    problems.append(f"{path}:{line_no}: include {target} was not read")
                for included in matches:
                    read(included)
            else:
                statements.append((path, line_no, text, params))

    read(main)
    driver = "ptcp"
    for _, _, text, params in statements:  # the default stream driver is global, wherever it is set
        if text.lower().startswith("$defaultnetstreamdriver "):
            driver = text.split()[1].strip('"').lower()
        elif params.get("type") == "global" and "defaultnetstreamdriver" in params:
            driver = params["defaultnetstreamdriver"].lower()
    legacy: dict[str, str] = {}
    files: list[str] = []
    forwards: list[Forward] = []
    for path, line_no, text, params in statements:
        source = f"{path}:{line_no}"
        if text.startswith("$"):
            name, _, value = text[1:].partition(" ")
            legacy[name.lower()] = value.strip().strip('"')
        elif text:
            action = _legacy_action(text)
            if action.lstrip("-").startswith("/"):
                files.append(action.lstrip("-").split(";")[0])
            elif (match := _LEGACY_FORWARD.match(action)) is not None:
                protocol = "tcp" if match.group(1) == "@@" else "udp"
                forwards.append(_omfwd("rsyslog", match.group(3).strip("[]"), protocol,
                                       legacy.get("actionsendstreamdriver", driver),
                                       legacy.get("actionsendstreamdrivermode", "0"),
                                       legacy.get("actionsendstreamdriverauthmode", ""), source))
        elif params.get("type") == "omfile" and "file" in params:
            files.append(params["file"])
        elif params.get("type") == "omfwd":
            forwards.append(_omfwd("rsyslog", params.get("target", ""), params.get("protocol", "udp").lower(),
                                   params.get("streamdriver", driver), params.get("streamdrivermode", "0"),
                                   params.get("streamdriverauthmode", ""), source))
        elif params.get("type") == "omrelp":
            tls = params.get("tls", "off").lower() == "on"
            auth = params.get("tls.authmode", "anon" if tls else "").lower()
            forwards.append(Forward("rsyslog", params.get("target", ""), "relp", tls,
                                    auth if auth in ("", "anon") else f"x509/{auth}", source))
    return Daemon("rsyslog", config_files=tuple(order), log_files=tuple(dict.fromkeys(files)),
                  forwards=tuple(forwards), problems=tuple(problems))


def _omfwd(daemon: str, target: str, protocol: str, driver: str, mode: str, auth: str, source: str) -> Forward:
    tls = protocol == "tcp" and driver.lower() in _TLS_DRIVERS and mode.strip() == "1"
    # Without an explicit mode, the TLS drivers authenticate nobody (rsyslog's "anon").
    return Forward(daemon, target.strip('"'), protocol, tls, (auth.lower() or "anon") if tls else "", source)


def _legacy_action(line: str) -> str:
    """The action part of a selector, property-filter, `&` or `if ... then` line."""
    if line.startswith("&"):
        return line[1:].strip()
    if line.startswith(":"):
        return line[line.rfind('"') + 1:].strip() if '"' in line else ""
    if line.lower().startswith("if ") and " then " in line:
        return line.split(" then ", 1)[1].strip()
    parts = line.split(None, 1)
    return parts[1].strip() if len(parts) == 2 else ""


def _statements(text: str) -> list[tuple[int, str, str, dict[str, str]]]:
    """(line, kind, legacy line, params): RainerScript objects as params, other lines as legacy text."""
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.DOTALL)
    text = "\n".join(strip_comment(line) for line in text.splitlines())
    found: list[tuple[int, str, str, dict[str, str]]] = []
    pos = 0
    rest: list[str] = []
    for match in _OBJECT.finditer(text):
        if match.start() < pos:
            continue
        end = closing_bracket(text, match.end() - 1, "(", ")")
        body = text[match.end():end]
        params = {k.lower().replace("streamdriver.", "streamdriver").replace("streamdrivername", "streamdriver"):
                  v.strip('"') for k, v in _PARAM.findall(body)}
        kind = match.group(1).lower()
        params["type"] = params.get("type", kind).lower()
        line_no = text.count("\n", 0, match.start()) + 1
        found.append((line_no, "include" if kind == "include" else "object", "", params))
        rest.append(text[pos:match.start()])
        rest.append("\n" * body.count("\n") + " ")
        pos = end + 1
    rest.append(text[pos:])
    pending, start = "", 0
    for line_no, raw in enumerate("".join(rest).splitlines(), 1):
        if raw.rstrip().endswith("\\"):  # a legacy selector continued on the next line
            pending, start = pending + (raw.rstrip()[:-1].lstrip() if pending else raw.rstrip()[:-1]), start or line_no
            continue
        line = (pending + (raw.lstrip() if pending else raw)).strip()
        line_no, pending, start = start or line_no, "", 0
        if line.lower().startswith("$includeconfig "):
            found.append((line_no, "include", line, {}))
        elif line:  # RainerScript leftovers ("}", "stop", "else {") carry no file or forward action
            found.append((line_no, "legacy", line, {}))
    return sorted(found, key=lambda s: s[0])
