"""Facts about the kernel audit trail: is auditd running, is auditing enabled, which rules are loaded.

The loaded rules come from `auditctl -l` (what the kernel enforces now), not from /etc/audit/rules.d,
which may never have been loaded. auditctl talks to the kernel over netlink and needs root.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field

from auditor.collectors.base import Requests, parse_key_values
from auditor.collectors.native import NATIVE, native_collect, native_requests
from auditor.collectors.native_facts import MacosAuditTrail, WindowsAuditPolicy
from auditor.models import SystemFacts
from auditor.records import record
from auditor.transports.base import CommandResult, Transport, cmd

IS_ACTIVE = cmd("systemctl", "is-active", "auditd.service")
STATUS = cmd("auditctl", "-s", sudo=True)
RULES = cmd("auditctl", "-l", sudo=True)
CONFIG = "/etc/audit/auditd.conf"

_FIELD = re.compile(r"^([A-Za-z_0-9]+)(!=|>=|<=|&=|=|>|<|&)(.*)$")


@record
class AuditRule:
    """One loaded rule, as `auditctl -l` prints it.

    Attributes:
        text: the line exactly as printed.
        kind: "watch" (-w) or "syscall" (-a).
        action / filter: e.g. "always" and "exit" for `-a always,exit` ("" for watches).
        path: the watched file or directory (-w, -F path=, -F dir=), or "".
        recursive: the rule covers everything below `path` (a -w on a directory or -F dir=).
        perms: the access kinds logged (r, w, x, a); "" means all.
        key: the rule's key (-k or -F key=), or "".
        syscalls: the -S names ("all" when the rule applies to every call).
        fields: the -F and -C comparisons as (name, operator, value).
    """

    text: str
    kind: str
    action: str = ""
    filter: str = ""
    path: str = ""
    recursive: bool = False
    perms: str = ""
    key: str = ""
    syscalls: tuple[str, ...] = ()
    fields: tuple[tuple[str, str, str], ...] = ()

    def field(self, name: str) -> list[tuple[str, str]]:
        """(operator, value) of every -F/-C comparison on `name`."""
        return [(op, value) for fname, op, value in self.fields if fname == name]


@record
class AuditdFacts:
    """Attributes:
    installed: auditctl exists (False: the host has no kernel audit tooling at all).
    service: what `systemctl is-active auditd` said ("active", "inactive", "failed"...), "" if it could not.
    service_problem: why the service state is unknown (no systemd), or "".
    status: `auditctl -s` key/values (enabled, failure, pid, backlog_limit, lost...); empty if unread.
    status_problem: why `auditctl -s` could not be read ("`auditctl -s` needs root: ..."), or "".
    rules: the loaded rules; empty with rules_problem "" means the kernel has none ("No rules").
    rules_problem: why `auditctl -l` could not be read, or "".
    config: /etc/audit/auditd.conf settings (max_log_file, num_logs, max_log_file_action...).
    config_problem: why auditd.conf could not be read ("absent", "Permission denied"), or "".

    Windows and macOS answer with WindowsAuditPolicy and MacosAuditTrail (native_facts.py) instead.
    """

    installed: bool
    service: str = ""
    service_problem: str = ""
    status: Mapping[str, str] = field(default_factory=dict)
    status_problem: str = ""
    rules: tuple[AuditRule, ...] = ()
    rules_problem: str = ""
    config: Mapping[str, str] = field(default_factory=dict)
    config_problem: str = ""

    @property
    def enabled(self) -> int | None:
        """0 off, 1 on, 2 on and locked until reboot; None when unknown."""
        return _int(self.status.get("enabled"))

    @property
    def pid(self) -> int | None:
        """The pid of the audit daemon registered with the kernel (0: none); None when unknown."""
        return _int(self.status.get("pid"))


def requests(system: SystemFacts) -> Requests:
    if system.platform in NATIVE:
        return native_requests("auditd", system)
    return (IS_ACTIVE, STATUS, RULES), (CONFIG,)


def collect(host: Transport, system: SystemFacts) -> AuditdFacts | WindowsAuditPolicy | MacosAuditTrail:
    if system.platform in NATIVE:
        return native_collect("auditd", host, system)  # type: ignore[no-any-return]
    status, rules = host.run(STATUS), host.run(RULES)
    service = host.run(IS_ACTIVE)
    state = service.stdout.strip().splitlines()[0] if service.stdout.strip() else ""
    service_problem = "" if state else service.failure()
    config_file = host.read_file(CONFIG)
    config, config_problem = {}, ""
    if not config_file.exists:
        config_problem = "absent"
    elif config_file.error:
        config_problem = config_file.error
    else:
        config = parse_auditd_conf(config_file.text)
    if _missing(status) and _missing(rules):
        return AuditdFacts(False, state, service_problem, config=config, config_problem=config_problem)
    return AuditdFacts(
        True, state, service_problem,
        parse_auditctl_status(status.stdout) if status.ok else {}, "" if status.ok else status.failure(),
        parse_auditctl_rules(rules.stdout) if rules.ok else (), "" if rules.ok else rules.failure(),
        config, config_problem,
    )


def parse_auditctl_status(text: str) -> dict[str, str]:
    """`auditctl -s`: 'name value' lines (enabled 1, pid 612, loginuid_immutable 0 unlocked...)."""
    return parse_key_values(text, " ")


def parse_auditctl_rules(text: str) -> tuple[AuditRule, ...]:
    """`auditctl -l`: one rule per line in canonical -w/-a form; "No rules" means none are loaded."""
    return tuple(rule for line in text.splitlines() if (rule := parse_rule(line)) is not None)


def parse_rule(line: str) -> AuditRule | None:
    """One -w or -a line (also as written in *.rules files); anything else gives None."""
    words = line.split()
    if not words or words[0] not in ("-w", "-a", "-A"):
        return None
    options: list[tuple[str, str]] = [(words[i], words[i + 1]) for i in range(0, len(words) - 1, 2)]
    if words[0] == "-w":
        path = dict(options).get("-w", "")
        perms = dict(options).get("-p", "")
        return AuditRule(line.strip(), "watch", path=path.rstrip("/") or "/", recursive=True, perms=perms,
                         key=dict(options).get("-k", ""))
    fields: list[tuple[str, str, str]] = []
    syscalls: list[str] = []
    action = list_name = key = ""
    for option, value in options:
        if option in ("-a", "-A"):
            parts = value.split(",")
            action = next((p for p in parts if p in ("always", "never")), "")
            list_name = next((p for p in parts if p not in ("always", "never")), "")
        elif option == "-S":
            syscalls.extend(value.split(","))
        elif option == "-k":
            key = value
        elif option in ("-F", "-C") and (match := _FIELD.match(value)):
            fields.append((match.group(1), match.group(2), match.group(3)))
    key = key or next((v for n, op, v in fields if n == "key" and op == "="), "")
    path, recursive = "", False
    for name, op, value in fields:
        if name in ("path", "dir") and op == "=":
            path, recursive = value.rstrip("/") or "/", name == "dir"
    perms = next((v for n, op, v in fields if n == "perm" and op == "="), "")
    return AuditRule(line.strip(), "syscall", action, list_name, path, recursive, perms, key, tuple(syscalls),
                     tuple(fields))


def parse_auditd_conf(text: str) -> dict[str, str]:
    """auditd.conf(5): 'name = value' lines; names are case-insensitive."""
    return {k.lower(): v for k, v in parse_key_values(text).items()}


def _missing(result: CommandResult) -> bool:
    # Through `sudo -n`, a missing program is sudo's complaint (exit 1), not the shell's 127.
    return result.not_found or "command not found" in result.stderr


def _int(value: str | None) -> int | None:
    try:
        return int((value or "").split()[0])
    except (ValueError, IndexError):
        return None
