"""Ansible inventories (INI and YAML) read directly, alone or pulled in by an auditor inventory."""

from __future__ import annotations

import pytest

from auditor.ansible_inventory import expand_pattern
from auditor.errors import InputError
from auditor.inventory import load_inventory
from auditor.models import Role, TargetKind

INI = """\
# fleet
mail.example.com

[webservers]
web[01:02].example.com ansible_user=deploy
foo.example.com:2222

[dbservers]
db-1 ansible_host=10.0.0.5 ansible_become=yes auditor_auth=none

[laptops]
lap-7 ansible_connection=local

[prod:children]
webservers
dbservers

[prod:vars]
ansible_ssh_private_key_file=~/.ssh/prod_ed25519
ansible_user=audit
ansible_ssh_common_args='-o ProxyJump=bastion.example.com'
"""

YAML = """\
all:
  vars:
    ansible_user: audit
  children:
    webservers:
      hosts:
        web01.example.com:
        web02.example.com:
          ansible_port: 2222
    dbservers:
      vars:
        ansible_become: true
      hosts:
        db-1: {ansible_host: 10.0.0.5}
"""


@pytest.fixture
def prod_key(tmp_path, monkeypatch) -> None:
    """The key file INI names, in a home of its own (key files are checked as the inventory loads)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "prod_ed25519").write_text("private\n")


def test_ini_inventory_with_groups_children_and_vars(write, prod_key):
    targets = {t.name: t for t in load_inventory(write("hosts.ini", INI))}
    assert list(targets) == ["mail.example.com", "web01.example.com", "web02.example.com", "foo.example.com",
                             "db-1", "lap-7"]
    web = targets["web01.example.com"]
    # host vars beat group vars (ansible_user=deploy); child-of-prod vars reach the host
    assert web.options == {"host": "web01.example.com", "user": "deploy", "identity_file": "~/.ssh/prod_ed25519",
                           "proxy_jump": "bastion.example.com"}
    assert web.tags == ("prod", "webservers") and web.role is Role.SERVER
    assert targets["foo.example.com"].options["port"] == 2222
    assert {k: targets["db-1"].options[k] for k in ("host", "sudo", "auth")} == {"host": "10.0.0.5", "sudo": True,
                                                                                "auth": "none"}
    assert targets["lap-7"].kind is TargetKind.LOCAL and targets["lap-7"].role is Role.WORKSTATION


def test_yaml_inventory(write):
    targets = {t.name: t for t in load_inventory(write("hosts.yaml", YAML))}
    assert targets["web02.example.com"].options == {"host": "web02.example.com", "port": 2222, "user": "audit"}
    assert targets["db-1"].options == {"host": "10.0.0.5", "user": "audit", "sudo": True}


def test_auditor_inventory_pulls_in_ansible_with_defaults_and_role_map(write, prod_key):
    write("hosts.ini", INI)
    inventory = write("inv.yaml", "defaults: {known_hosts: /etc/audit/known_hosts}\n"
                                  "ansible: {path: hosts.ini, roles: {dbservers: endpoint}}\n"
                                  "targets:\n  - {name: extra, kind: local}\n")
    targets = {t.name: t for t in load_inventory(inventory)}
    assert targets["db-1"].role is Role.ENDPOINT
    assert targets["web01.example.com"].options["known_hosts"] == "/etc/audit/known_hosts"
    assert "extra" in targets


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("[web\nhost1\n", "hosts.ini:1:1", "not an Ansible section header"),
        ("[web]\nhost1 ansible_port\n", "hosts.ini:2:1", "host variable 'ansible_port' is not key=value"),
        ("[web]\nhost1 ansible_port=ssh\n", "hosts.ini:2:1", "field 'port' must be an integer"),
        ("[web]\nhost1 auditor_prot=22\n", "hosts.ini:2:1", "did you mean 'port'"),
        ("[web]\nbad/name\n", "hosts.ini:2:1", "field 'name' must be"),
    ],
)
def test_bad_ansible_lines_are_one_line_errors_with_file_and_line(write, text, where, words):
    with pytest.raises(InputError) as error:
        load_inventory(write("hosts.ini", text))
    message = str(error.value)
    assert where in message and words in message and "\n" not in message


@pytest.mark.parametrize(
    ("pattern", "expanded"),
    [
        ("web[01:03].dk", ["web01.dk", "web02.dk", "web03.dk"]),
        ("db-[a:c]", ["db-a", "db-b", "db-c"]),
        ("n[0:6:3]", ["n0", "n3", "n6"]),
        ("plain", ["plain"]),
    ],
)
def test_host_ranges(pattern, expanded):
    assert expand_pattern(pattern) == expanded
