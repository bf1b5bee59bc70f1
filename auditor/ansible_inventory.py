"""Ansible inventories (INI and YAML) read directly, turned into auditor inventory entries.

Only what reaching a host needs is read: groups and children, group and host vars with Ansible's
precedence (all < parent groups < child groups < host), ansible_host, ansible_port, ansible_user,
ansible_ssh_private_key_file, ansible_become and ansible_connection=local. Variables named
`auditor_<key>` set any auditor inventory key (auditor_auth: none, auditor_known_hosts, ...). A host's
groups become its tags, and the first group found in the role map gives its role. ansible_password and
vault values are never read.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.errors import InputError
from auditor.yamlfile import YamlDoc, token

DEFAULT_ROLES = {"workstations": "workstation", "laptops": "workstation", "desktops": "workstation",
                 "clients": "workstation", "servers": "server"}
_TRUE = {"true", "yes", "on", "1"}
_RANGE = re.compile(r"\[([0-9]+|[a-z]):([0-9]+|[a-z])(?::([0-9]+))?\]")
_GROUP_KEYS = {"hosts", "children", "vars"}
_MAX_NESTING = 32
MAX_HOSTS = 20_000  # twice the targets an inventory file may hold (auditor/yamlfile.py MAX_INPUT_BYTES)


@dataclass
class _Group:
    """An inventory group: its variables and the groups it is a child of."""

    name: str
    vars: dict[str, Any] = field(default_factory=dict)
    parents: set[str] = field(default_factory=set)


@dataclass
class _Host:
    """An inventory host: where it is first named, its own variables and its groups."""

    name: str
    line: int
    vars: dict[str, Any] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)


class _Inventory:
    def __init__(self, file: str) -> None:
        self.file = file
        self.groups: dict[str, _Group] = {"all": _Group("all")}
        self.hosts: dict[str, _Host] = {}
        self._depths: dict[str, int] = {}

    def group(self, name: str) -> _Group:
        if name not in self.groups:
            self.groups[name] = _Group(name, parents={"all"} if name != "all" else set())
        return self.groups[name]

    def add_host(self, name: str, group: str, line: int, host_vars: Mapping[str, Any]) -> None:
        if name not in self.hosts and len(self.hosts) >= MAX_HOSTS:
            raise InputError(f"the Ansible inventory names more than {MAX_HOSTS:,} hosts", f"{self.file}:{line}:1",
                             "split it, or scan one group at a time")
        host = self.hosts.setdefault(name, _Host(name, line))
        self.group(group)
        if group not in host.groups:
            host.groups.append(group)
        host.vars.update(host_vars)

    def depth(self, name: str, seen: frozenset[str] = frozenset()) -> int:
        # Remembered per group: groups with several parents would otherwise be walked once per path.
        if name not in self._depths:
            if len(seen) > _MAX_NESTING:
                raise InputError(f"Ansible groups are nested more than {_MAX_NESTING} levels deep", self.file,
                                 "flatten the children: sections")
            parents = self.groups[name].parents - seen
            self._depths[name] = 0 if not parents else 1 + max(self.depth(p, seen | {name}) for p in parents)
        return self._depths[name]

    def ancestors(self, names: list[str]) -> set[str]:
        found: set[str] = set()
        todo = list(names)
        while todo:
            name = todo.pop()
            if name not in found:
                found.add(name)
                todo.extend(self.groups[name].parents)
        return found


def expand_pattern(pattern: str) -> list[str]:
    """Ansible host ranges: web[01:03].example.com -> web01, web02, web03 (also [a:c] and a stride).

    A pattern that would name more than MAX_HOSTS hosts, or has a zero stride, is refused (ValueError).
    """
    count = 1
    for found in _RANGE.finditer(pattern):
        if int(found.group(3) or 1) < 1:
            raise ValueError(f"host range {token(pattern)} has a zero stride")
        low, high = (int(v) if v.isdigit() else ord(v) for v in found.group(1, 2))
        count *= max(0, high - low + 1)
        if count > MAX_HOSTS:
            raise ValueError(f"host range {token(pattern)} names more than {MAX_HOSTS:,} hosts")
    return _expand(pattern)


def _expand(pattern: str) -> list[str]:
    match = _RANGE.search(pattern)
    if match is None:
        return [pattern]
    start, end, stride = match.group(1), match.group(2), int(match.group(3) or 1)
    head, tail = pattern[:match.start()], pattern[match.end():]
    if start.isdigit() and end.isdigit():
        width = len(start) if start.startswith("0") else 0
        values = [str(n).zfill(width) for n in range(int(start), int(end) + 1, stride)]
    else:
        values = [chr(c) for c in range(ord(start), ord(end) + 1, stride)]
    return [name for value in values for name in _expand(head + value + tail)]


def parse_ini(text: str, file: str) -> _Inventory:
    """Groups and hosts of an INI inventory; InputError at the line of anything else."""
    inventory = _Inventory(file)
    section, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        where = f"{file}:{number}:1"
        if line.startswith("["):
            match = re.fullmatch(r"\[([^\]:\s]+)(?::(vars|children))?\]", line)
            if match is None:
                raise InputError(f"not an Ansible section header: {token(line)}", where,
                                 "write [group], [group:vars] or [group:children]")
            section, kind = match.group(1), match.group(2) or "hosts"
            inventory.group(section)
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise InputError(f"cannot split the line ({exc})", where, "close the quote") from None
        if not words:
            continue
        if kind == "vars":
            key, found, value = line.partition("=")
            place = f"[{token(section)[1:-1]}:vars]"
            if not found:
                raise InputError(f"a {place} line must be key=value, got {token(line)}", where)
            if not key.strip():
                raise InputError(f"{place} line {token(line)} has no variable name before the '='", where,
                                 "write name=value, e.g. ansible_user=audit")
            try:
                word = (shlex.split(value, comments=True) or [""])[0]
            except ValueError as exc:
                raise InputError(f"cannot split the value ({exc})", where, "close the quote") from None
            _refuse_empty_port(key.strip(), word, place, where)
            inventory.group(section).vars[key.strip()] = word
        elif kind == "children":
            child = inventory.group(words[0])
            child.parents.add(section)
            if section != "all":
                child.parents.discard("all")  # a nested group sits below its parent, not beside it
        else:
            host_vars: dict[str, Any] = {}
            for word in words[1:]:
                key, found, value = word.partition("=")
                if not found:
                    raise InputError(f"host variable {token(word)} is not key=value", where)
                at = f"{file}:{number}:{_column(raw, word)}"
                if not key:
                    raise InputError(f"host {token(words[0])}: host variable {token(word)} has no name before the "
                                     "'='", at, "write name=value, e.g. ansible_port=2222, or remove it")
                _refuse_empty_port(key, value, f"host {token(words[0])}:", at)
                host_vars[key] = value
            name = words[0]
            if re.fullmatch(r"[^\[\]:]+:\d+", name):  # host:port
                name, port = name.rsplit(":", 1)
                host_vars.setdefault("ansible_port", port)
            try:
                hosts = expand_pattern(name)
            except ValueError as exc:
                raise InputError(str(exc), where, "write a smaller range") from None
            for host in hosts:
                inventory.add_host(host, section, number, host_vars)
    return inventory


def _column(raw: str, word: str) -> int:
    """1-based column of `word` standing alone on an INI line (1 when it was written quoted)."""
    found = re.search(rf"(?<!\S){re.escape(word)}(?!\S)", raw)
    return found.start() + 1 if found else 1


def _empty_port(key: Any, value: Any) -> bool:
    # An empty port would read as "no port": the scan would go to port 22 without a word.
    return key in ("ansible_port", "ansible_ssh_port") and (value is None or not str(value).strip())


def _refuse_empty_port(key: str, value: str, place: str, where: str) -> None:
    if _empty_port(key, value):
        raise InputError(f"{place} {key} is empty", where,
                         f"write the SSH port, e.g. {key}=2222, or remove {key}= to use port 22")


def looks_like_ini(text: str) -> bool:
    """True when the first meaningful line is an INI section header or a bare host line."""
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", ";")) and line != "---" and not line.startswith("--- "):
            return bool(re.fullmatch(r"\[[^\]\s]+\]", line)) or (":" not in line and not line.startswith("-"))
    return False


def looks_like_yaml_inventory(data: Any) -> bool:
    """A mapping of group name -> mapping with only hosts/children/vars keys (or nothing)."""
    return isinstance(data, dict) and bool(data) and all(
        value is None or (isinstance(value, dict) and set(value) <= _GROUP_KEYS) for value in data.values())


def parse_yaml(doc: YamlDoc, *prefix: str | int) -> _Inventory:
    """Groups and hosts of a YAML inventory (at `prefix` in `doc`); InputError at the place of anything else."""
    inventory = _Inventory(doc.file)
    top = doc.get(*prefix)

    def walk(name: str, body: Any, path: tuple[str | int, ...], parent: str | None) -> None:
        group = inventory.group(name)
        if parent is not None and parent != name:
            group.parents.add(parent)
            if parent != "all":
                group.parents.discard("all")
        if body is None:
            return
        if not isinstance(body, dict) or not set(body) <= _GROUP_KEYS:
            raise doc.error("an Ansible group has only hosts, children and vars", *path, label=f"group {token(name)}")
        for key in _GROUP_KEYS:
            if not isinstance(body.get(key) or {}, dict):
                raise doc.error(f"{key} must be a mapping", *path, key, label=f"group {token(name)}")
        for key, value in (body.get("vars") or {}).items():
            _refuse_empty_yaml_port(doc, key, value, (*path, "vars", key), f"group {token(name)}")
        group.vars.update(body.get("vars") or {})
        for host, host_vars in (body.get("hosts") or {}).items():
            if host_vars is not None and not isinstance(host_vars, dict):
                raise doc.error("host variables must be a mapping", *path, "hosts", host,
                                label=f"host {token(str(host))}")
            for key, value in (host_vars or {}).items():
                _refuse_empty_yaml_port(doc, key, value, (*path, "hosts", host, key), f"host {token(str(host))}")
            line = doc.marks.get((*path, "hosts", host), doc.marks.get((*path, "hosts"), (1, 1)))[0]
            try:
                expanded_hosts = expand_pattern(str(host))
            except ValueError as exc:
                raise doc.error(str(exc), *path, "hosts", host, fix="write a smaller range") from None
            for expanded in expanded_hosts:
                inventory.add_host(expanded, name, line, host_vars or {})
        for child, child_body in (body.get("children") or {}).items():
            walk(str(child), child_body, (*path, "children", child), name)

    for name, body in top.items():
        walk(str(name), body, (*prefix, name), None if name == "all" else "all")
    return inventory


def _refuse_empty_yaml_port(doc: YamlDoc, key: Any, value: Any, path: tuple[str | int, ...], place: str) -> None:
    if _empty_port(key, value):
        raise doc.error(f"{key} is empty", *path, label=place,
                        fix=f"write the SSH port, e.g. {key}: 2222, or remove {key} to use port 22")


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in _TRUE


def _proxy_jump(common_args: str) -> str:
    words = shlex.split(common_args)
    for index, word in enumerate(words):
        if word == "-J" and index + 1 < len(words):
            return words[index + 1]
        if word.startswith("ProxyJump=") or (word == "-o" and index + 1 < len(words)
                                             and words[index + 1].startswith("ProxyJump=")):
            return (word if word.startswith("ProxyJump=") else words[index + 1]).split("=", 1)[1]
    return ""


def entries(inventory: _Inventory, roles: Mapping[str, str] | None = None) -> list[tuple[dict[str, Any], int]]:
    """(auditor inventory entry, line) per host, in the order the file first names them."""
    role_map = {**DEFAULT_ROLES, **(roles or {})}
    result = []
    for host in inventory.hosts.values():
        groups = sorted(inventory.ancestors(host.groups), key=lambda g: (inventory.depth(g), g))
        merged: dict[str, Any] = {}
        for group in groups:
            merged.update(inventory.groups[group].vars)
        merged.update(host.vars)
        local = str(merged.get("ansible_connection", "")) == "local"
        item: dict[str, Any] = {"name": host.name, "kind": "local" if local else "ssh"}
        named = [g for g in reversed(groups) if g not in ("all", "ungrouped")]
        role = next((role_map[g] for g in named if g in role_map), None)
        if role:
            item["role"] = role
        if named:
            item["tags"] = sorted(named)
        if not local:
            item["host"] = str(merged.get("ansible_host") or merged.get("ansible_ssh_host") or host.name)
            port = merged.get("ansible_port") or merged.get("ansible_ssh_port")
            if port is not None:
                item["port"] = int(port) if re.fullmatch(r"[0-9]{1,5}", str(port)) else port
            user = merged.get("ansible_user") or merged.get("ansible_ssh_user")
            if user:
                item["user"] = str(user)
            key = merged.get("ansible_ssh_private_key_file") or merged.get("ansible_private_key_file")
            if key:
                item["identity_file"] = str(key)
            try:
                jump = _proxy_jump(str(merged.get("ansible_ssh_common_args", "")))
            except ValueError as exc:
                raise InputError(f"host {token(host.name)}: ansible_ssh_common_args cannot be split ({exc})",
                                 f"{inventory.file}:{host.line}:1", "close the quote") from None
            if jump:
                item["proxy_jump"] = jump
        if "ansible_become" in merged:
            item["sudo"] = _truthy(merged["ansible_become"])
        for key, value in merged.items():
            if key.startswith("auditor_"):
                option = key.removeprefix("auditor_")
                if option == "sudo":
                    value = _truthy(value)
                elif option == "tags" and isinstance(value, str):
                    value = [t.strip() for t in value.split(",") if t.strip()]
                elif option in ("port", "connect_timeout") and re.fullmatch(r"[0-9]{1,5}", str(value)):
                    value = int(value)
                item[option] = value
        result.append((item, host.line))
    return result
