"""Silent acceptance turned into refusals: inventory text fields that reach a connection, an argv or a path, and
profile values (scope, waiver dates, numbers, roles, paths) that would quietly turn a check off or mean nothing.
Each refusal is one line naming file:line:column and the allowed values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.ansible_inventory import MAX_HOSTS, expand_pattern
from auditor.errors import InputError
from auditor.inventory import load_inventory
from auditor.profile import load_profile


def _inventory_refusal(tmp_path: Path, text: str, name: str = "inventory.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}:")
    return message.removeprefix(str(path))


def _profile_refusal(tmp_path: Path, text: str) -> str:
    path = tmp_path / "profile.yaml"
    path.write_text("extends: default\n" + text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}:")
    return message.removeprefix(str(path))


@pytest.mark.parametrize(("target", "words"), [
    ('{name: a, kind: ssh, host: "web-01\\nProxyCommand evil"}', "field 'host' holds a control character"),
    ('{name: a, kind: ssh, host: "web 01"}', "field 'host' must be a host name or an IP address"),
    ("{name: a, kind: ssh, host: -oProxyCommand}", "field 'host' starts with '-'"),
    ('{name: a, kind: ssh, host: h, user: "root\\tx"}', "field 'user' holds a control character"),
    ("{name: a, kind: ssh, host: h, user: -lroot}", "field 'user' starts with '-'"),
    ('{name: a, kind: ssh, host: h, proxy_jump: "j;id"}', "field 'proxy_jump' must be [user@]host[:port]"),
    ('{name: a, kind: ssh, host: h, identity_file: "/k\\x1b]0;x\\x07"}', "field 'identity_file' holds a control"),
    ("{name: a, kind: ssh, host: h, auth: nnone}", "field 'auth' must be none"),
    ('{name: a, kind: tls, host: h, server_name: "a b"}', "field 'server_name' must be a DNS name"),
    ('{name: "web\\n", kind: local}', "field 'name' must be 1-64 letters"),
    ('{name: a, kind: local, tags: ["pii\\u0007"]}', "tags must be a list of short text"),
    ('{name: a, kind: ssh, host: h, zone: "dmz\\n"}', "field 'zone' must be 1-32"),
])
def test_text_fields_that_reach_commands_refuse_control_characters_and_spaces(tmp_path, target, words):
    # Given a target whose text field carries a newline, a space, an escape or an option
    message = _inventory_refusal(tmp_path, f"targets:\n  - {target}\n")
    # Then it is refused, naming the field at its line, with the value escaped (never interpreted)
    assert message.startswith(":2:") and words in message
    assert "\x1b" not in message and "\x07" not in message


@pytest.mark.parametrize(("fields", "words"), [
    ("identity_file: missing_key", "field 'identity_file': missing_key does not exist; give the path of the private"),
    ("identity_file: keys", "field 'identity_file': keys is a folder"),
    ("identity_file: keys/id.pub", "field 'identity_file': keys/id.pub is a public key; give the private key beside "
                                   "it: identity_file: keys/id"),
    ("ssh_config: no_config", "field 'ssh_config': no_config does not exist"),
    ('host: "10.0.0.5:2222"', "field 'host' holds a ':' but is no IPv6 address, got '10.0.0.5:2222'; a port goes in "
                              "its own field: host: 10.0.0.5 and port: 2222"),
])
def test_an_ssh_login_file_or_a_host_with_a_port_is_refused_as_the_inventory_loads(tmp_path, monkeypatch, fields,
                                                                                     words):
    # Given a target whose key file is missing, a folder or a public key, whose ssh_config is missing, or whose
    # host carries a port (each would otherwise show only when the scan reached it, as "not assessed")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "id").write_text("private\n")
    (tmp_path / "keys" / "id.pub").write_text("ssh-ed25519 AAAA\n")
    message = _inventory_refusal(tmp_path, f"targets:\n  - {{name: a, kind: ssh, host: h, {fields}}}\n".replace(
        "host: h, host:", "host:"))
    # Then it is refused at its line, with what to write instead
    assert message.startswith(":2:") and words in message, message


def test_the_same_login_files_load_when_they_are_there_or_read_by_a_zone_worker(tmp_path, monkeypatch):
    # Given a key and an ssh_config that exist, IPv6 hosts, and a zoned target whose key lives on its worker
    monkeypatch.chdir(tmp_path)
    (tmp_path / "id").write_text("private\n")
    (tmp_path / "config").write_text("")
    path = tmp_path / "inventory.yaml"
    path.write_text("targets:\n"
                    "  - {name: a, kind: ssh, host: h, identity_file: id, ssh_config: config}\n"
                    "  - {name: b, kind: ssh, host: '[2001:db8::5]', ssh_config: none}\n"
                    "  - {name: c, kind: ssh, host: 'fe80::1%eth0', known_hosts: no_such_file}\n"
                    "  - {name: d, kind: ssh, host: h, identity_file: /on/the/worker, zone: dmz}\n")
    # Then every target loads (a missing known_hosts leaves keys unknown, which the scan says per target)
    assert [t.name for t in load_inventory(path)] == ["a", "b", "c", "d"]


def test_a_password_env_that_is_no_variable_name_is_not_echoed(tmp_path):
    # Given a password pasted where its variable's name belongs
    message = _inventory_refusal(tmp_path, "targets:\n  - {name: a, kind: ssh, host: h, password_env: 'hunter2 !'}\n")
    # Then the refusal says what is wrong without repeating it
    assert "password_env must name an environment variable" in message and "hunter2" not in message


def test_an_inventory_that_is_not_a_mapping_is_named_by_kind_only(tmp_path):
    # Given a private key given as the inventory (one long YAML scalar)
    message = _inventory_refusal(tmp_path, "-----BEGIN OPENSSH PRIVATE KEY-----b3BlbnNzaC1rZXktdjEAAAAABG5vbmUA\n")
    assert "got text" in message and "b3Blbn" not in message


@pytest.mark.parametrize(("ini", "words"), [
    ("[servers]\nweb[0:99999999].example.dk\n", f"names more than {MAX_HOSTS:,} hosts"),
    ("[servers]\nweb[1:3:0].example.dk\n", "zero stride"),
    ("[servers]\nweb[a:z][0:999]\n", f"names more than {MAX_HOSTS:,} hosts"),
])
def test_ansible_host_ranges_are_bounded(tmp_path, ini, words):
    message = _inventory_refusal(tmp_path, ini, "hosts.ini")
    assert message.startswith(":2:1:") and words in message


def test_a_small_ansible_range_still_expands():
    assert expand_pattern("web[01:03].dk") == ["web01.dk", "web02.dk", "web03.dk"]


def test_ansible_yaml_hosts_must_be_a_mapping(tmp_path):
    message = _inventory_refusal(tmp_path, "all:\n  hosts: [web-01, web-02]\n")
    assert "hosts must be a mapping" in message


def test_many_ansible_groups_with_many_parents_load_in_linear_time(tmp_path):
    # Given 30 layers of two groups, each the child of both groups of the layer above (2^30 paths to 'all')
    sections = [f"[g{i}{s}:children]\ng{i + 1}a\ng{i + 1}b\n" for i in range(30) for s in "ab"]
    path = tmp_path / "hosts.ini"
    path.write_text("[g30a]\nweb-01\n" + "".join(sections), encoding="utf-8")
    # When it is loaded, Then it finishes (remembered depths) and the host has every group as a tag
    (target,) = load_inventory(path)
    assert len(target.tags) == 61


@pytest.mark.parametrize(("text", "where", "words"), [
    ("checks:\n  LOCK-0010: {roles: [kingpin]}\n", ":3:23:", "unknown role 'kingpin'; use one of workstation"),
    ("checks:\n  LOCK-0010: {roles: [servers]}\n", ":3:23:", "did you mean 'server'?"),
    ("checks:\n  LOCK-0010: {locations: [hjem]}\n", ":3:27:", "unknown location 'hjem'; use one of office, home"),
    ('checks:\n  LOCK-0010: {targets: ["web 01"]}\n', ":3:25:", "'web 01' is not a target name"),
    ("waivers:\n  - {check: LOCK-0010, roles: [laptop], reason: r, approver: a, created: 2026-01-01,\n"
     "     expires: 2026-02-01, risk: low}\n", ":3:32:", "unknown role 'laptop'"),
    ("parameters:\n  vpn_required_for: [workstation, kingpin]\n", ":3:21:", "unknown role 'kingpin'"),
    ("parameters:\n  allowed_listening_ports: {servers: [22]}\n", ":3:28:", "did you mean 'server'?"),
])
def test_a_scope_that_can_match_no_target_is_refused_with_the_allowed_values(tmp_path, text, where, words):
    # Given a role, location or name that no target can have (it would silently turn the rule off everywhere)
    message = _profile_refusal(tmp_path, text)
    # Then it is refused at its place, listing what is allowed
    assert message.startswith(where) and words in message


def test_a_waiver_created_after_it_expires_is_refused(tmp_path):
    message = _profile_refusal(tmp_path, "waivers:\n  - {check: LOCK-0010, reason: r, approver: a, created: 2026-12-01,"
                                         " expires: 2026-01-01, risk: low}\n")
    assert "expires (2026-01-01) before it was created (2026-12-01)" in message


def test_a_waiver_created_on_its_last_day_is_accepted(tmp_path):
    path = tmp_path / "profile.yaml"
    path.write_text("extends: default\nwaivers:\n  - {check: LOCK-0010, reason: r, approver: a, created: 2026-12-01, "
                    "expires: 2026-12-01, risk: low}\n", encoding="utf-8")
    assert len(load_profile(path).waivers) == 1


@pytest.mark.parametrize(("value", "words"), [
    ("1e26", "wrong type for parameter 'log_retention_days': got '1e26'"),
    ("1.0e+26", "wrong type for parameter 'log_retention_days': got 1e+26"),
    ("100000000000000000000000000", "must be a whole number from 1 to 36500, got 10000000000000000000…"),
    ("0", "must be a whole number from 1 to 36500, got 0"),
    ("90.5", "got 90.5"),
    ("true", "got true"),
])
def test_numeric_parameters_are_whole_numbers_in_a_sensible_range(tmp_path, value, words):
    message = _profile_refusal(tmp_path, f"parameters:\n  log_retention_days: {value}\n")
    assert message.startswith(":3:23:") and words in message and "write e.g. log_retention_days: 90" in message


def test_every_whole_number_parameter_has_its_range_in_the_default_profile_around_its_default():
    # The ranges are data beside each parameter in default.yaml, and `auditor profile params` shows them
    definitions = load_profile().definitions.values()
    ranged = {d.name: d.range for d in definitions if d.range}
    assert {"min_aes_bits", "ssh_min_rsa_bits", "log_retention_days", "pii_max_depth"} <= set(ranged)
    for d in definitions:
        assert d.range is None or (d.type == "int" and d.range[0] <= d.default <= d.range[1]), d.name
    assert ranged["min_aes_bits"] == (128, 256)


@pytest.mark.parametrize("text", [
    'parameters:\n  audited_paths: ["/srv/data\\nx"]\n',
    'parameters:\n  pii_paths: {server: ["/srv/\\u001b[2Jx"]}\n',
    'controller: {name: "Region\\u001b]0;x\\u0007"}\n',
    'name: "p\\u0000"\n',
    "waivers:\n  - {check: LOCK-0010, reason: \"r\\u001b[31m\", approver: a, created: 2026-01-01, expires: 2026-02-01, "
    "risk: low}\n",
])
def test_profile_text_that_reaches_commands_or_reports_refuses_control_characters(tmp_path, text):
    message = _profile_refusal(tmp_path, text)
    assert "\x1b" not in message and "\x00" not in message


def test_an_artefact_that_is_a_fifo_is_refused_without_blocking(tmp_path):
    # Given an attestation whose artefact is a named pipe nobody writes to
    os.mkfifo(tmp_path / "register.pdf")
    message = _profile_refusal(tmp_path, "attestations:\n  - {requirement: R10, statement: s, attestor: {name: n}, "
                                         "date: 2026-01-01, next_review: 2026-06-01, artefacts: [register.pdf]}\n")
    # Then it is refused at once
    assert "artefact 'register.pdf' cannot be read (not a regular file)" in message


@pytest.mark.parametrize(("name", "text", "words"), [
    ("i.yaml", "targets: [{name: a, kind: tls, host: h, starttls: [smtp]}]\n", "unknown STARTTLS protocol a list"),
    ("hosts.ini", "[servers]\nweb-01 ansible_port=\u00b92222\n", "field 'port' must be an integer"),
    ("hosts.ini", "[servers]\nweb-01\n[servers:vars]\nansible_ssh_common_args='-J x\n", "cannot split"),
    ("hosts.ini", "[servers]\nweb-01\n[servers:vars]\na'=x'\n", "cannot split the value"),
])
def test_values_the_fuzzer_found_are_refused_not_crashed_on(tmp_path, name, text, words):
    # Given a value of a type or shape the loader once crashed on (found by tests/adversarial/test_bad_input_files.py)
    assert words in _inventory_refusal(tmp_path, text, name)


@pytest.mark.parametrize(("text", "words"), [
    ("checks:\n  LOCK-0010: {severity: [high]}\n", "unknown severity a list"),
    ("parameters:\n  vpn_required_for: [[workstation]]\n", "wrong type for parameter 'vpn_required_for'"),
    ("attestations:\n  - {requirement: {R10: x}, statement: s, attestor: {name: n}, date: 2026-01-01,"
     " next_review: 2026-06-01}\n", "requirement must be an id on one line, got a mapping"),
    ("attestations:\n  - {requirement: R10, statement: s, attestor: {name: n}, date: 2026-01-01,"
     " next_review: 2026-06-01, artefacts: [{path: a, sha256: b, size: x}]}\n", "a stored artefact needs a sha256"),
    ("waivers:\n  - {id: {a: 1}, check: LOCK-0010, reason: r, approver: a, created: 2026-01-01, expires: 2026-02-01,"
     " risk: low}\n", "id must be 1-64 characters on one line, got a mapping"),
])
def test_profile_values_the_fuzzer_found_are_refused_not_crashed_on(tmp_path, text, words):
    assert words in _profile_refusal(tmp_path, text)


def test_an_empty_extends_is_refused(tmp_path):
    path = tmp_path / "profile.yaml"
    path.write_text("extends: ''\n", encoding="utf-8")
    with pytest.raises(InputError, match="extends must be 'default' or a path to another profile"):
        load_profile(path)
