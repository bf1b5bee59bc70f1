"""Inventory parsing: good files become Targets; bad ones give one line naming file:line and the fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.inventory import load_inventory, this_machine
from auditor.models import Location, Role, TargetKind

GOOD = """\
defaults: {user: audit}
targets:
  - {name: laptop-017, kind: local, role: workstation, location: home}
  - {name: db-1, kind: ssh, host: 10.0.0.5, port: 22, identity_file: ~/.ssh/id_ed25519,
     known_hosts: ~/.ssh/known_hosts, sudo: true, role: server, location: datacenter}
  - {name: portal, kind: tls, host: portal.example.dk, port: 443, server_name: portal.example.dk,
     starttls: smtp, ca_file: ./customer-ca.pem, role: endpoint}
"""


def test_contract_example_loads_with_defaults_merged(write, tmp_path, monkeypatch):
    # Given the key file the example names (its ssh_config and key files are checked as the inventory loads)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_ed25519").write_text("private\n")
    targets = load_inventory(write("inv.yaml", GOOD))
    laptop, db, portal = targets
    assert (laptop.kind, laptop.role, laptop.location) == (TargetKind.LOCAL, Role.WORKSTATION, Location.HOME)
    assert "user" not in laptop.options  # defaults only apply where the kind has that setting
    assert db.options == {"host": "10.0.0.5", "port": 22, "identity_file": "~/.ssh/id_ed25519",
                          "known_hosts": "~/.ssh/known_hosts", "sudo": True, "user": "audit"}
    assert portal.options["starttls"] == "smtp" and portal.kind is TargetKind.TLS


def test_kind_decides_default_role_and_location(write):
    (target,) = load_inventory(write("inv.yaml", "targets:\n  - {name: web, kind: ssh, host: h}\n"))
    assert (target.role, target.location) == (Role.SERVER, Location.DATACENTER)


def test_this_machine_is_one_local_target_named_after_the_host():
    (target,) = this_machine(Role.SERVER, Location.HOME)
    assert target.kind is TargetKind.LOCAL and target.role is Role.SERVER and target.location is Location.HOME
    assert target.name and "/" not in target.name


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("", "inv.yaml:1:1", "empty"),
        ("targets: [\n  {name: a\n", "inv.yaml:3:", "not valid YAML"),
        ("targets:\n\t- {name: a, kind: local}\n", "inv.yaml:2:1",
         "not valid YAML: a tab character; YAML indents with spaces only; replace the tab with spaces"),
        ("targets:\n  - {name: a, kind: ssh, host: h, port: ssh}\n", "inv.yaml:2:41",
         "target 'a': field 'port' must be an integer from 1 to 65535, got 'ssh'; write e.g. port: 22"),
        ("targets:\n  - {name: a, kind: ssh, host: h, prot: 22}\n", "inv.yaml:2:", "did you mean 'port'"),
        ("targets:\n  - {name: a}\n  - {name: a}\n", "inv.yaml:3:", "target 'a': name is already used at"),
        ("targets:\n  - {name: a, kind: telnet}\n", "inv.yaml:2:", "unknown kind 'telnet'; use one of local, ssh, tls"),
        ("targets:\n  - {name: a, role: desktop}\n", "inv.yaml:2:", "unknown role 'desktop'"),
        ("targets:\n  - {name: a, location: moon}\n", "inv.yaml:2:", "unknown location 'moon'"),
        ("targets:\n  - {name: a, kind: ssh, host: h, password: s3cret}\n", "inv.yaml:2:", "password_env"),
        ("targets:\n  - {name: ../etc, kind: local}\n", "inv.yaml:2:", "field 'name' must be"),
        ("targets:\n  - {name: a, kind: ssh}\n", "inv.yaml:2:", "needs a host"),
        ("targets:\n  - {name: a, kind: tls, host: h, starttls: gopher}\n", "inv.yaml:2:", "STARTTLS"),
        ("targets: []\n", "inv.yaml:1:", "non-empty list"),
        ("targets:\n  - {name: a}\n  - {name: b}\n  - {name: a}\n  name: x\n", "inv.yaml:", "YAML"),
        ("- just\n- a list\n", "inv.yaml:1:1", "mapping"),
        ("targets:\n  - {name: a, name: b}\n", "inv.yaml:2:", "appears twice"),
    ],
)
def test_bad_inventory_is_one_line_naming_where(write, text, where, words):
    path = write("inv.yaml", text)
    with pytest.raises(InputError) as error:
        load_inventory(path)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{path.parent}/{where}")
    assert words in message


def test_secret_value_is_not_echoed_in_the_error(write):
    path = write("inv.yaml", "targets:\n  - {name: a, kind: ssh, host: h, password: s3cret}\n")
    with pytest.raises(InputError) as error:
        load_inventory(path)
    assert "s3cret" not in str(error.value)


def test_missing_and_unreadable_files_are_input_errors(tmp_path: Path):
    with pytest.raises(InputError, match="inventory file not found"):
        load_inventory(tmp_path / "nope.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="cannot read inventory file"):
        load_inventory(binary)
    if os.geteuid() != 0:  # root reads anything, so only a non-root run can see EACCES
        locked = tmp_path / "locked.yaml"
        locked.write_text("targets: []")
        locked.chmod(0)
        with pytest.raises(InputError, match="cannot read"):
            load_inventory(locked)
