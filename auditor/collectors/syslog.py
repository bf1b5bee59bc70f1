"""Facts about classic syslog daemons (rsyslog, syslog-ng), logrotate and systemd-journal-upload.

For each daemon: whether it runs, which local files it writes, where it forwards logs and with what
transport security; for each written file, the logrotate rule that decides how long it is kept.
Config files are read as they are on disk (rsyslog.conf with its /etc/rsyslog.d includes spliced in
at the include's position, as rsyslog does), because neither daemon can print its effective config.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from auditor.collectors.base import Requests
from auditor.collectors.journald import parse_journald_config
from auditor.collectors.native import NATIVE
from auditor.models import SystemFacts
from auditor.transports.base import Command, Transport, cmd

RSYSLOG_CONF, RSYSLOG_DIR = "/etc/rsyslog.conf", "/etc/rsyslog.d"
SYSLOG_NG_CONF, SYSLOG_NG_DIR = "/etc/syslog-ng/syslog-ng.conf", "/etc/syslog-ng/conf.d"
LOGROTATE_CONF, LOGROTATE_DIR = "/etc/logrotate.conf", "/etc/logrotate.d"
UNITS = ("rsyslog.service", "syslog-ng.service", "systemd-journal-upload.service")
IS_ACTIVE = cmd("systemctl", "is-active", *UNITS)
UPLOAD_CONFIG = cmd("systemd-analyze", "cat-config", "systemd/journal-upload.conf")


def _listing(folder: str, *name: str) -> Command:
    # -L: a symlinked drop-in counts, as it does for the daemon; argv only, the glob never meets a shell.
    return cmd("find", "-L", folder, "-mindepth", "1", "-maxdepth", "1", "-type", "f", *name)


LIST_RSYSLOG = _listing(RSYSLOG_DIR, "-name", "*.conf")
LIST_SYSLOG_NG = _listing(SYSLOG_NG_DIR, "-name", "*.conf")
LIST_LOGROTATE = _listing(LOGROTATE_DIR)
_TLS_DRIVERS = ("gtls", "ossl", "mbedtls")
# logrotate skips these in an included folder (its default tabooext list).
_TABOO = (".rpmorig", ".rpmsave", ",v", ".swp", ".rpmnew", "~", ".cfsaved", ".rhn-cfg-tmp-", ".dpkg-dist",
          ".dpkg-old", ".dpkg-new", ".disabled", ".ucf-old", ".ucf-dist", ".ucf-new")
_PERIOD_DAYS = {"hourly": 1 / 24, "daily": 1, "weekly": 7, "monthly": 30, "yearly": 365}
_SCRIPTS = ("postrotate", "prerotate", "firstaction", "lastaction", "preremove")


@dataclass(frozen=True)
class Forward:
    """A destination logs are sent to.

    Attributes:
        daemon: rsyslog, syslog-ng or systemd-journal-upload.
        target: host (or URL) of the collector.
        protocol: udp, tcp, relp, http or https.
        tls: the connection is encrypted with TLS.
        auth_mode: how the collector's certificate is checked: x509/name, x509/certvalid, x509/fingerprint,
            anon (not at all), or syslog-ng's peer-verify value; "" when there is no TLS.
        source: "file:line" of the definition.
    """

    daemon: str
    target: str
    protocol: str
    tls: bool = False
    auth_mode: str = ""
    source: str = ""


@dataclass(frozen=True)
class Rotation:
    """How logrotate treats one log file.

    Attributes:
        pattern: the logrotate pattern that matched the file; "" when no rule matched (never rotated).
        source: the logrotate file holding the rule.
        frequency: hourly, daily, weekly, monthly, yearly, or "size" when rotated by size alone.
        rotate: rotated copies kept (0: deleted at rotation, -1: never deleted).
        maxage: days after which rotated copies are deleted, or None.
    """

    pattern: str = ""
    source: str = ""
    frequency: str = "size"
    rotate: int = 0
    maxage: int | None = None

    @property
    def retention_days(self) -> float | None:
        """Days a line is guaranteed to be kept: rotate x period, capped by maxage; inf if never deleted."""
        if not self.pattern or (self.rotate < 0 and self.maxage is None):
            return float("inf")
        if self.frequency not in _PERIOD_DAYS:
            return None  # rotated by size: how many days that is depends on traffic
        days = float("inf") if self.rotate < 0 else self.rotate * _PERIOD_DAYS[self.frequency]
        return min(days, self.maxage) if self.maxage is not None else days

    def describe(self) -> str:
        """'weekly, rotate 4 in /etc/logrotate.d/rsyslog' or 'not rotated by logrotate'."""
        if not self.pattern:
            return "not rotated by logrotate"
        age = f", maxage {self.maxage}" if self.maxage is not None else ""
        return f"{self.frequency}, rotate {self.rotate}{age} in {self.source}"


@dataclass(frozen=True)
class Daemon:
    """Attributes:
    name: rsyslog, syslog-ng or systemd-journal-upload.
    state: what systemd says ("active", "inactive", "failed"...), or "" when it could not say.
    state_problem: why the state is unknown, or "".
    config_files: the files read, in the order the daemon reads them.
    log_files: local files it writes (paths as configured).
    forwards: where it sends logs.
    problems: config files that could not be read, includes outside the folders read.
    """

    name: str
    state: str = ""
    state_problem: str = ""
    config_files: tuple[str, ...] = ()
    log_files: tuple[str, ...] = ()
    forwards: tuple[Forward, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class SyslogFacts:
    """Attributes:
    daemons: each installed daemon (its config file exists), keyed by name.
    rotations: for every file a daemon writes, its logrotate treatment.
    logrotate: "present", "absent" (files are never rotated), or why its config could not be read.
    """

    daemons: Mapping[str, Daemon] = field(default_factory=dict)
    rotations: Mapping[str, Rotation] = field(default_factory=dict)
    logrotate: str = "absent"


def requests(system: SystemFacts) -> Requests:
    if system.platform in NATIVE:
        return (), ()  # Windows and macOS have no rsyslog or syslog-ng: their own log is read by journald
    return ((IS_ACTIVE, UPLOAD_CONFIG, LIST_RSYSLOG, LIST_SYSLOG_NG, LIST_LOGROTATE),
            (RSYSLOG_CONF, SYSLOG_NG_CONF, LOGROTATE_CONF))


def collect(host: Transport, system: SystemFacts) -> SyslogFacts:
    if system.platform in NATIVE:
        return SyslogFacts(logrotate="not used on this platform")
    state = host.run(IS_ACTIVE)
    states = dict(zip(UNITS, state.stdout.split(), strict=False)) if state.stdout.strip() else {}
    lines = [line.strip() for line in state.stderr.splitlines() if line.strip()]
    state_problem = "" if states else (lines[0][:200] if lines else "systemctl did not answer")
    if state.not_found:
        state_problem = "systemctl is not installed"
    listed = {folder: sorted(host.run(command).stdout.split()) for folder, command in
              ((RSYSLOG_DIR, LIST_RSYSLOG), (SYSLOG_NG_DIR, LIST_SYSLOG_NG), (LOGROTATE_DIR, LIST_LOGROTATE))}
    mains = dict(zip((RSYSLOG_CONF, SYSLOG_NG_CONF, LOGROTATE_CONF),
                     host.read_many([RSYSLOG_CONF, SYSLOG_NG_CONF, LOGROTATE_CONF]), strict=True))
    wanted = [p for main, folder in ((RSYSLOG_CONF, RSYSLOG_DIR), (SYSLOG_NG_CONF, SYSLOG_NG_DIR),
                                     (LOGROTATE_CONF, LOGROTATE_DIR)) if mains[main].exists for p in listed[folder]]
    texts: dict[str, str] = {}
    unreadable: dict[str, str] = {}
    for content in [*mains.values(), *host.read_many(wanted)]:  # one follow-up batch for every drop-in
        if content.exists and not content.error:
            texts[content.path] = content.text
        elif content.exists:
            unreadable[content.path] = content.error

    daemons: dict[str, Daemon] = {}
    for name, main, folder, parse in (("rsyslog", RSYSLOG_CONF, RSYSLOG_DIR, parse_rsyslog),
                                      ("syslog-ng", SYSLOG_NG_CONF, SYSLOG_NG_DIR, parse_syslog_ng)):
        if not mains[main].exists:
            continue
        files = [main, *listed[folder]]
        daemon = parse({p: texts[p] for p in files if p in texts}, main)
        problems = tuple(f"{p}: {unreadable[p]}" for p in files if p in unreadable) + daemon.problems
        daemons[name] = replace(daemon, state=states.get(f"{name}.service", ""), problems=problems,
                                state_problem=state_problem if f"{name}.service" not in states else "")
    upload = host.run(UPLOAD_CONFIG)
    first = upload.stdout.strip().splitlines()[:1]
    if upload.ok and first and not first[0].endswith("not found"):  # "# Main configuration file ... not found"
        daemons["systemd-journal-upload"] = replace(
            parse_journal_upload(upload.stdout), state=states.get(UNITS[2], ""),
            state_problem=state_problem if UNITS[2] not in states else "")

    logrotate = "present" if LOGROTATE_CONF in texts else unreadable.get(LOGROTATE_CONF, "absent")
    rules = parse_logrotate(texts, LOGROTATE_CONF, listed[LOGROTATE_DIR]) if LOGROTATE_CONF in texts else []
    rotations = {path: rotation_for(path, rules) for d in daemons.values() for path in d.log_files}
    return SyslogFacts(daemons, rotations, logrotate)


# ---- rsyslog -----------------------------------------------------------------------------------------

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
        for line_no, kind, text, params in _rsyslog_statements(texts.get(path, "")):
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


def _rsyslog_statements(text: str) -> list[tuple[int, str, str, dict[str, str]]]:
    """(line, kind, legacy line, params): RainerScript objects as params, other lines as legacy text."""
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.DOTALL)
    text = "\n".join(_strip_comment(line) for line in text.splitlines())
    found: list[tuple[int, str, str, dict[str, str]]] = []
    pos = 0
    rest: list[str] = []
    for match in _OBJECT.finditer(text):
        if match.start() < pos:
            continue
        end = _closing(text, match.end() - 1, "(", ")")
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


def _strip_comment(line: str) -> str:
    quoted = False
    for i, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted:
            return line[:i]
    return line


def _closing(text: str, start: int, opening: str, closing: str) -> int:
    """Index of the bracket closing the one at `start`, skipping quoted strings; len(text) if none."""
    depth, quoted = 0, False
    for i in range(start, len(text)):
        char = text[i]
        if char == '"' and text[i - 1] != "\\":
            quoted = not quoted
        elif not quoted and char == opening:
            depth += 1
        elif not quoted and char == closing:
            depth -= 1
            if depth == 0:
                return i
    return len(text)


# ---- syslog-ng -----------------------------------------------------------------------------------------

_DRIVER = re.compile(r"(?<![\w-])(file|network|syslog|tcp6?|udp6?)\s*\(")


def parse_syslog_ng(texts: Mapping[str, str], main: str = SYSLOG_NG_CONF) -> Daemon:
    """syslog-ng.conf plus conf.d: destinations that a `log` path uses (files and network senders)."""
    order = [main, *sorted(p for p in texts if p != main)]
    destinations: dict[str, list[tuple[str, str, str]]] = {}  # name -> [(driver, arguments, source)]
    logs: list[tuple[str, str, int, str]] = []  # (body, file text, offset, path) of each log path
    for path in order:
        text = "\n".join(_strip_comment(line) for line in texts[path].splitlines())
        for match in re.finditer(r"\b(destination\s+([\w.-]+)|log)\s*\{", text):
            end = _closing(text, match.end() - 1, "{", "}")
            if match.group(2):
                destinations[match.group(2)] = _drivers(text[match.end():end], text, match.end(), path)
            else:
                logs.append((text[match.end():end], text, match.end(), path))
    used: list[tuple[str, str, str]] = []
    for body, text, offset, path in logs:  # a destination may be defined after the log path using it
        used_names = re.findall(r"\bdestination\s*\(\s*\"?([\w.-]+)\"?\s*\)", body)
        used.extend(d for name in used_names for d in destinations.get(name, []))
        for inline in re.finditer(r"\bdestination\s*\{", body):
            stop = _closing(body, inline.end() - 1, "{", "}")
            used.extend(_drivers(body[inline.end():stop], text, offset + inline.end(), path))
    files: list[str] = []
    forwards: list[Forward] = []
    for driver, args, source in dict.fromkeys(used):
        first = re.match(r'\s*(?:"([^"]*)"|([\w.:-]+))', args)
        target = (first.group(1) or first.group(2) or "") if first else ""
        if driver == "file":
            files.append(target)
            continue
        transport = re.search(r'\btransport\s*\(\s*"?(\w+)"?\s*\)', args)
        protocol = (transport.group(1).lower() if transport else "udp" if driver.startswith("udp") else "tcp")
        tls_block = re.search(r"\btls\s*\(", args)
        tls = protocol == "tls" or (driver.startswith("tcp") and tls_block is not None)
        verify = re.search(r'\bpeer[-_]verify\s*\(\s*"?([\w-]+)"?\s*\)', args)
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
        end = _closing(body, match.end() - 1, "(", ")")
        line_no = text.count("\n", 0, offset + match.start()) + 1
        found.append((match.group(1), body[match.end():end], f"{path}:{line_no}"))
    return found


# ---- systemd-journal-upload ------------------------------------------------------------------------

def parse_journal_upload(text: str) -> Daemon:
    """`systemd-analyze cat-config systemd/journal-upload.conf`: the [Upload] URL and certificate check."""
    settings = parse_journald_config(text, section="Upload")
    files = tuple(line[2:].strip() for line in text.splitlines() if line.startswith("# /"))
    url = settings.get("URL", "")
    if not url:
        return Daemon("systemd-journal-upload", config_files=files)
    protocol = "http" if url.lower().startswith("http://") else "https"  # a bare host name means https
    trust = settings.get("TrustedCertificateFile", "")
    auth = "anon" if trust in ("all", "-") else "x509/name"  # curl checks the chain and the host name
    forward = Forward("systemd-journal-upload", url, protocol, protocol == "https",
                      auth if protocol == "https" else "", files[-1] if files else "")
    return Daemon("systemd-journal-upload", config_files=files, forwards=(forward,))


# ---- logrotate ------------------------------------------------------------------------------------------

def parse_logrotate(texts: Mapping[str, str], main: str = LOGROTATE_CONF,
                    folder_files: Sequence[str] = ()) -> list[Rotation]:
    """logrotate.conf with its includes, in logrotate's order: one Rotation per pattern of every rule.

    Global options set before an `include` apply to the included rules, as logrotate applies them.
    """
    rules: list[Rotation] = []
    defaults = Rotation(pattern="*")

    def read(path: str) -> None:
        nonlocal defaults
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
                            and not p.endswith(_TABOO))):
                        read(included)
                elif word in _PERIOD_DAYS or word in ("size", "rotate", "maxage"):
                    changed = _option(block or defaults, word, words[1:])
                    if block is None:
                        defaults = changed
                    else:
                        block = changed
                elif block is None and (token.startswith(("/", '"', "~", "*"))):
                    patterns.extend(shlex.split(token, posix=True))

    read(main)
    return rules


def _option(rotation: Rotation, word: str, args: list[str]) -> Rotation:
    number = int(args[0]) if args and args[0].lstrip("-").isdigit() else None
    if word in _PERIOD_DAYS or word == "size":
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
    return next((rule for rule in rules if fnmatch.fnmatchcase(path, rule.pattern)), Rotation())
