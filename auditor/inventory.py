"""The inventory: which targets to audit, from YAML (or this machine alone when none is given)."""

from __future__ import annotations

import ipaddress
import re
import socket
from pathlib import Path
from typing import Any

from auditor import ansible_inventory as ansible
from auditor.errors import InputError
from auditor.models import Location, Role, Target, TargetKind
from auditor.yamlfile import YamlDoc, describe, kind_of, load_yaml, parse_yaml, read_input

TARGET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # also a folder name under evidence/

# zone: docs/zones.md; evidence_budget_mb, max_listed_files: what one target may cost (transports/budget.py)
_COMMON = {"name", "kind", "role", "location", "tags", "zone", "evidence_budget_mb", "max_listed_files"}
_KEYS: dict[TargetKind, set[str]] = {
    TargetKind.LOCAL: _COMMON | {"sudo"},
    TargetKind.SSH: _COMMON | {"host", "port", "user", "identity_file", "known_hosts", "sudo", "proxy_jump",
                               "password_env", "passphrase_env", "auth", "ssh_config", "connect_timeout",
                               "banner_timeout", "auth_timeout", "total_timeout", "legacy_ssh"},
    TargetKind.TLS: _COMMON | {"host", "port", "server_name", "starttls", "ca_file", "connect_timeout",
                               "user", "database", "password_env", "plain_port"},
}
# A database endpoint's account is its own: an SSH login's user and password in `defaults:` never reach it.
_DATABASE_KEYS = {"user", "database", "password_env"}
_DATABASE_STARTTLS = {"postgres", "mysql"}
_ALL_KEYS = set().union(*_KEYS.values())
_DEFAULT_ROLE = {TargetKind.LOCAL: Role.WORKSTATION, TargetKind.SSH: Role.SERVER, TargetKind.TLS: Role.ENDPOINT}
_DEFAULT_LOCATION = {TargetKind.LOCAL: Location.OFFICE, TargetKind.SSH: Location.DATACENTER,
                     TargetKind.TLS: Location.OTHER}
_ROLES = {r.value for r in Role}
_STARTTLS = {"smtp", "imap", "pop3", "ftp", "ldap", "xmpp", "xmpp_server", "postgres", "rdp", "mysql"}
_INT_FIELDS = {"port": (1, 65535), "plain_port": (1, 65535), "connect_timeout": (1, 600), "banner_timeout": (1, 600),
               "auth_timeout": (1, 600), "total_timeout": (1, 86400), "evidence_budget_mb": (1, 4096),
               "max_listed_files": (1, 100000)}
_BOOL_FIELDS = {"sudo", "legacy_ssh"}
ZONE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")  # also a Celery queue name (auditor/zones)
_STR_FIELDS = {"host", "user", "identity_file", "known_hosts", "proxy_jump", "password_env", "passphrase_env",
               "server_name", "ca_file", "auth", "ssh_config", "database"}
# Every text field reaches a connection, a command's argv or a path, so none may hold a control character;
# these also refuse spaces and a leading '-' (it would read as an option), and some have a fixed shape.
_NO_SPACE = {"host", "user", "proxy_jump", "password_env", "passphrase_env", "server_name", "auth"}
_SHAPES = {
    "host": (re.compile(r"[A-Za-z0-9._:%\[\]-]{1,253}"), "a host name or an IP address"),
    "server_name": (re.compile(r"[A-Za-z0-9._-]{1,253}"), "a DNS name"),
    "proxy_jump": (re.compile(r"[A-Za-z0-9._:%@,\[\]-]+"), "[user@]host[:port], comma-separated"),
    "password_env": (re.compile(r"[A-Za-z_][A-Za-z0-9_]*"), "an environment variable's name (letters, digits, _)"),
    "passphrase_env": (re.compile(r"[A-Za-z_][A-Za-z0-9_]*"), "an environment variable's name (letters, digits, _)"),
    "auth": (re.compile(r"none"), "none (the one setting: do not log in)"),
}
_SECRET_NEAR = {"password_env", "passphrase_env"}  # a value that is no variable name may be the secret itself
_MAX_TEXT = 4096


def this_machine(role: Role = Role.WORKSTATION, location: Location = Location.OFFICE) -> tuple[Target, ...]:
    """The inventory used when none is given: this machine, scanned locally."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:64].strip("-.") or "localhost"
    return (Target(name=name, kind=TargetKind.LOCAL, role=role, location=location),)


def load_inventory(path: Path | str) -> tuple[Target, ...]:
    """Targets from an auditor inventory (YAML), or from an Ansible inventory (INI or YAML) given directly.

    An auditor inventory may also pull in an Ansible inventory: `ansible: {path: hosts.ini, roles: {...}}`;
    its `defaults:` then apply to the Ansible hosts too.
    """
    path = Path(path)
    text = read_input(path, "inventory")
    if ansible.looks_like_ini(text):
        return _ansible_targets(path, {}, None, text=text)
    doc = parse_yaml(text, str(path), "inventory")
    if not isinstance(doc.data, dict):
        raise doc.error(f"an inventory must be a mapping with 'targets:', got {kind_of(doc.data)}")
    if not set(doc.data) & {"defaults", "targets", "ansible"} and ansible.looks_like_yaml_inventory(doc.data):
        return _ansible_targets(path, {}, None, doc)
    top = doc.mapping(allowed={"defaults", "targets", "ansible", "broker"})
    defaults = doc.mapping("defaults", allowed=_ALL_KEYS - {"name"})
    targets: list[Target] = []
    seen: dict[str, str] = {}
    if "ansible" in top:
        section = doc.mapping("ansible", allowed={"path", "roles"})
        source, roles = section.get("path"), section.get("roles") or {}
        if not isinstance(source, str) or not source:
            raise doc.error("'ansible' needs path: <Ansible inventory file>", "ansible",
                            fix="write e.g. ansible: {path: hosts.ini}")
        if not isinstance(roles, dict) or not all(isinstance(v, str) and v in _ROLES for v in roles.values()):
            raise doc.error("roles maps Ansible group names to workstation, server or endpoint", "ansible", "roles")
        for target in _ansible_targets(path.parent / Path(source).expanduser(), defaults, roles):
            seen[target.name] = f"{source} (Ansible)"
            targets.append(target)
    items = top.get("targets")
    if items is None and targets:
        return tuple(targets)
    if not isinstance(items, list) or not items:
        raise doc.error("'targets' must be a non-empty list of targets", "targets",
                        fix="add at least one target, e.g. - {name: laptop-01, kind: local}")
    for index, item in enumerate(items):
        target = _target(doc, index, item, defaults)
        if target.name in seen:
            raise doc.error(f"name is already used at {seen[target.name]}", "targets", index, "name",
                            label=f"target {target.name!r}", fix="give every target a unique name")
        seen[target.name] = doc.where("targets", index, "name")
        targets.append(target)
    return tuple(targets)


def _ansible_targets(path: Path, defaults: dict[str, Any], roles: dict[str, str] | None,
                     doc: YamlDoc | None = None, text: str | None = None) -> tuple[Target, ...]:
    """Targets from an Ansible inventory; errors point at the host's line in that file."""
    if doc is None:
        text = read_input(path, "Ansible inventory") if text is None else text
        if ansible.looks_like_ini(text):
            parsed = ansible.parse_ini(text, str(path))
        else:
            doc = parse_yaml(text, str(path), "Ansible inventory")
            if not ansible.looks_like_yaml_inventory(doc.data):
                raise doc.error("not an Ansible inventory (expected groups such as all: {hosts: ..., children: ...})")
            parsed = ansible.parse_yaml(doc)
    else:
        parsed = ansible.parse_yaml(doc)
    found = ansible.entries(parsed, roles)
    if not found:
        raise InputError("the Ansible inventory lists no hosts", str(path), "add hosts to a group")
    marks: dict[tuple[str | int, ...], tuple[int, int]] = {}
    for i, (item, line) in enumerate(found):
        marks.update({("targets", i): (line, 1)} | {("targets", i, key): (line, 1) for key in item})
    positions = YamlDoc({"targets": [item for item, _ in found]}, str(path), marks)
    return tuple(_target(positions, i, item, defaults) for i, (item, _) in enumerate(found))


def _target(doc: YamlDoc, index: int, item: Any, defaults: dict[str, Any]) -> Target:
    here: tuple[str | int, ...] = ("targets", index)
    if not isinstance(item, dict):
        raise doc.error(f"each target must be a mapping, got {describe(item)}", *here)
    name = item.get("name")
    label = f"target {name!r}" if isinstance(name, str) else f"target #{index + 1}"
    if "password" in item:
        raise doc.error("passwords do not belong in the inventory", *here, "password", label=label,
                        fix="put it in an environment variable and name it with password_env: VAR")
    kind = _enum(doc, item, "kind", TargetKind, here, TargetKind.LOCAL, label)
    doc.mapping(*here, allowed=_KEYS[kind], label=f"{label} ({kind.value})")
    merged = {k: v for k, v in defaults.items() if k in _KEYS[kind]
              and not (kind is TargetKind.TLS and k in _DATABASE_KEYS)} | item

    if not isinstance(name, str) or not TARGET_NAME.fullmatch(name):  # fullmatch: '$' would let "web\n" in
        raise doc.error(f"field 'name' must be 1-64 letters, digits, '.', '_' or '-', got {describe(name)}",
                        *here, "name", label=label, fix="give the target a short name such as web-01")
    options: dict[str, Any] = {}
    for key, value in merged.items():
        if key in _INT_FIELDS:
            low, high = _INT_FIELDS[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise doc.error(f"field {key!r} must be an integer from {low} to {high}, got {describe(value)}",
                                *here, key, label=label,
                                fix=f"write e.g. {key}: { {'port': 22, 'plain_port': 80}.get(key, low)}")
            options[key] = value
        elif key in _BOOL_FIELDS:
            if not isinstance(value, bool):
                raise doc.error(f"field {key!r} must be true or false, got {describe(value)}", *here, key, label=label)
            options[key] = value
        elif key in _STR_FIELDS:
            if not isinstance(value, str) or not value:
                raise doc.error(f"field {key!r} must be non-empty text, got {describe(value)}", *here, key, label=label)
            if key == "host" and ":" in value and not _is_ipv6(value):
                name, _, port = value.rpartition(":")
                raise doc.error(f"field 'host' holds a ':' but is no IPv6 address, got {describe(value)}", *here, key,
                                label=label, fix=f"a port goes in its own field: host: {name} and port: {port}"
                                if name and port.isdigit() else "write a host name or an IP address")
            problem = _text_problem(key, value)
            if problem:
                # Not echoed: a value that is no variable name may be the password itself.
                what = f"{key} must name an environment variable" if key in _SECRET_NEAR else \
                    f"field {key!r} {problem}, got {describe(value)}"
                raise doc.error(what, *here, key, label=label, fix=_HOST_FIX if key == "host" and problem.startswith(
                    ("must be", "holds a space")) else f"write {key} on one line, as docs/targets.md shows")
            options[key] = _checked_host(doc, here, label, value) if key == "host" else value
    if kind in (TargetKind.SSH, TargetKind.TLS) and "host" not in options:
        raise doc.error(f"a {kind.value} target needs a host", *here, label=label, fix="add host: <name or address>")
    if kind is TargetKind.SSH and "zone" not in merged:  # a zone's worker reads these files on its own machine
        _check_login_files(doc, here, label, options)
    starttls = merged.get("starttls")
    if starttls is not None:
        if not isinstance(starttls, str) or starttls not in _STARTTLS:
            raise doc.error(f"unknown STARTTLS protocol {describe(starttls)}", *here, "starttls", label=label,
                            fix=f"use one of {', '.join(sorted(_STARTTLS))}")
        options["starttls"] = starttls
    if kind is TargetKind.TLS:
        _check_database_keys(doc, here, label, options)
    zone = merged.get("zone")
    if zone is not None:
        if not isinstance(zone, str) or not ZONE_NAME.fullmatch(zone):
            raise doc.error(f"field 'zone' must be 1-32 lower-case letters, digits, '_' or '-', got {describe(zone)}",
                            *here, "zone", label=label, fix="write e.g. zone: dmz (docs/zones.md)")
        options["zone"] = zone
    tags = merged.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t and t.isprintable() and len(t) <= 64
                                             for t in tags):
        raise doc.error("tags must be a list of short text (1-64 characters, no control characters)", *here, "tags",
                        label=label, fix="write e.g. tags: [pii, dmz]")
    return Target(
        name=name,
        kind=kind,
        role=_enum(doc, merged, "role", Role, here, _DEFAULT_ROLE[kind], label),
        location=_enum(doc, merged, "location", Location, here, _DEFAULT_LOCATION[kind], label),
        tags=tuple(tags),
        options=options,
    )


# The files an SSH login reads, checked as the inventory loads: a typo would otherwise show only once the scan
# reached that target ("not assessed"), or, for known_hosts, quietly leave every host key unknown.
# (known_hosts is not among them: a missing one is what a new machine has, and its targets' keys are then unknown,
# which the scan says for each.)
_LOGIN_FILES = {"identity_file": "the private key file", "ssh_config": "an ssh_config file (or none)"}


def _check_login_files(doc: YamlDoc, here: tuple[str | int, ...], label: str, options: dict[str, Any]) -> None:
    for key, meant in _LOGIN_FILES.items():
        value = options.get(key)
        if value is None or (key == "ssh_config" and value == "none"):
            continue
        path = Path(value).expanduser()
        if not path.is_file():
            found = "is a folder" if path.is_dir() else "does not exist" if not path.exists() else "is not a file"
            raise doc.error(f"field {key!r}: {value} {found}", *here, key, label=label,
                            fix=f"give the path of {meant} on this machine (relative paths start at the current "
                                "folder)")
        if key == "identity_file" and path.suffix == ".pub":
            raise doc.error(f"field 'identity_file': {value} is a public key", *here, key, label=label,
                            fix=f"give the private key beside it: identity_file: {value[:-4]}")


def _text_problem(key: str, value: str) -> str:
    """Why `value` cannot be the text field `key` ("" when it can)."""
    if len(value) > _MAX_TEXT:
        return f"is longer than {_MAX_TEXT} characters"
    if not value.isprintable():
        return "holds a control character (a newline, tab or escape)"
    pattern, shape = _SHAPES.get(key, (None, ""))
    if pattern is not None and not pattern.fullmatch(value):
        return f"must be {shape}"
    if key in _NO_SPACE and any(c.isspace() for c in value):
        return "holds a space"
    if value.startswith("-"):
        return "starts with '-' (it would read as a command-line option)"
    return ""


_HOST_FIX = "write a host name (db-1.example.dk) or an IP address (10.0.0.5, 2001:db8::5)"


def _checked_host(doc: YamlDoc, here: tuple[str | int, ...], label: str, value: str) -> str:
    """`host` as a connection is made to it. Brackets only set an IPv6 address apart from a port, so `[::1]` is
    ::1 (a resolver looks "[::1]" up as a name). A name that a resolver would read as an IPv4 address in a
    legacy form (inet_aton: "10.0.5" is 10.0.0.5, "1234" is 0.0.4.210, "010.0.0.5" is 8.0.0.5) is refused: a
    dropped octet would scan another machine. So is an empty label (".example.dk"), which no resolver finds."""
    if "[" in value or "]" in value:
        inner = value[1:-1] if value.startswith("[") and value.endswith("]") else value
        if _ip_version(inner) != 6:
            raise doc.error(f"field 'host' holds a bracket that does not enclose an IPv6 address, got "
                            f"{describe(value)}", *here, "host", label=label,
                            fix="write a host name, or an IPv6 address in one pair of brackets or none: "
                                "host: [2001:db8::5]")
        return inner
    if ":" in value:
        return value  # an IPv6 address: anything else with a ':' was refused with its own fix
    if "%" in value:  # a zone index belongs to an IPv6 address only
        raise doc.error(f"field 'host' must be a host name or an IP address, got {describe(value)}", *here, "host",
                        label=label, fix=_HOST_FIX)
    labels = value.removesuffix(".").split(".")  # one final dot is a fully qualified name
    if "" in labels:
        raise doc.error(f"field 'host' has an empty label, got {describe(value)}", *here, "host", label=label,
                        fix="remove the extra dot, e.g. host: db-1.example.dk")
    if labels[-1].isdigit() and _ip_version(value) != 4:  # no top-level domain is all digits
        raise doc.error(f"field 'host' is no IPv4 address, got {describe(value)}", *here, "host", label=label,
                        fix="write four numbers from 0 to 255 without leading zeros, e.g. host: 10.0.0.5")
    return value


def _ip_version(text: str) -> int:
    """4 or 6 for an IP address, 0 for anything else."""
    try:
        return ipaddress.ip_address(text).version
    except ValueError:
        return 0


def _is_ipv6(text: str) -> bool:
    try:
        return ipaddress.ip_address(text.removeprefix("[").removesuffix("]")).version == 6
    except ValueError:
        return False


def _check_database_keys(doc: YamlDoc, here: tuple[str | int, ...], label: str, options: dict[str, Any]) -> None:
    """user, database and password_env on a TLS target name the account of a database probe (docs/targets.md)."""
    engine = options.get("starttls")
    for key in sorted(_DATABASE_KEYS & set(options)):
        if engine not in _DATABASE_STARTTLS:
            raise doc.error(f"{key} names a database account, so it needs starttls: postgres or starttls: mysql",
                            *here, key, label=label, fix=f"remove {key}, or set the target's starttls")
    if "password_env" in options:
        if engine != "mysql":
            raise doc.error("password_env is used by MySQL/MariaDB targets only: a PostgreSQL server refuses a "
                            "client without TLS before any password", *here, "password_env", label=label,
                            fix="remove password_env")
        if "user" not in options:
            raise doc.error("password_env needs the account it is the password of", *here, "password_env",
                            label=label, fix="add user: <MySQL account>")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", options["password_env"]):
            # Not echoed: a value that is no variable name may be the password itself.
            raise doc.error("password_env must name an environment variable (letters, digits and _)", *here,
                            "password_env", label=label, fix="write e.g. password_env: AUDIT_MYSQL_PASSWORD")


def _enum(doc: YamlDoc, item: dict[str, Any], key: str, enum: Any, here: tuple[str | int, ...], default: Any,
          label: str) -> Any:
    value = item.get(key)
    if value is None:
        return default
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(m.value for m in enum)
        raise doc.error(f"unknown {key} {describe(value)}", *here, key, label=label,
                        fix=f"use one of {choices}") from None


def load_broker(path: Path | str) -> str | None:
    """The inventory's `broker:` (the Redis URL zones are dispatched through), or None (docs/zones.md)."""
    doc = load_yaml(Path(path), "inventory")
    broker = doc.data.get("broker") if isinstance(doc.data, dict) else None
    if broker is not None and (not isinstance(broker, str) or not broker.startswith(("redis://", "rediss://"))
                               or not broker.isprintable() or any(c.isspace() for c in broker)):
        raise doc.error(f"'broker' must be a redis:// or rediss:// URL, got {describe(broker)}", "broker",
                        fix="write e.g. broker: rediss://scanner.example:6380/0")
    return broker


def target_from_mapping(item: dict[str, Any], source: str) -> Target:
    """One target from its inventory mapping, checked by the same rules as an inventory file's (a zone task)."""
    return _target(YamlDoc({"targets": [item]}, source), 0, item, {})


def target_mapping(target: Target) -> dict[str, Any]:
    """The inventory mapping that `target_from_mapping` turns back into this target."""
    return {"name": target.name, "kind": target.kind.value, "role": target.role.value,
            "location": target.location.value, "tags": list(target.tags), **target.options}
