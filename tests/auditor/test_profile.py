"""The default profile encodes the annex verbatim; controller profiles override it with checked values."""

from __future__ import annotations

import re

import pytest

from auditor.errors import InputError
from auditor.profile import load_profile
from tests.conftest import FIXTURES

SEED = FIXTURES / "seed" / "security-measures.txt"  # a verbatim copy of shared/seed/security-measures.txt


def _sentences_of_seed() -> list[str]:
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()[1:] if line.strip()]
    # Line 8 holds two requirements (R7 and R8); every other line is one requirement or part of one.
    return [s for line in lines for s in re.split(r"(?<=\.) (?=The data processor accesses)", line)]


def test_default_profile_has_twelve_requirements_and_the_issue_defaults():
    profile = load_profile()
    assert [r.id for r in profile.requirements] == [f"R{i}" for i in range(1, 13)]
    issue_defaults = {
        "min_aes_bits": 256, "chacha20_counts_as_aes256": False, "min_tls_version": "1.2",
        "cert_min_days_left": 30, "log_retention_days": 90, "backup_max_age_hours": 26,
        "screen_lock_max_seconds": 900, "vpn_required_for": ["workstation"], "allowed_listening_ports": {},
        "audited_paths": [], "central_logging": False, "backup_marker_paths": [],
        "pii_paths": {}, "pii_include": [], "pii_exclude": ["*/.cache/*", "*/.git/*", "*/node_modules/*"],
        "pii_max_file_mb": 256, "pii_max_depth": 12, "pii_fail_confidence": "medium", "pii_bulk_threshold": 0,
        "vpn_controller_networks": [],
    }
    # Other parameters may follow (each check family adds its own); these keep the values the issue set.
    assert {name: profile.parameters.get(name) for name in issue_defaults} == issue_defaults
    assert all(d.description and d.requirement for d in profile.definitions.values())


def test_every_sentence_of_the_annex_is_in_some_requirement_verbatim():
    annex = [text for r in load_profile().requirements for text in r.annex]
    joined = "\n".join(annex)
    missing = [s for s in _sentences_of_seed() if s not in joined]
    assert not missing


def test_controller_profile_overrides_parameters_and_names_the_parties(write):
    path = write("p.yaml", """\
extends: default
controller: {name: Region Example, contact: dpo@example.dk}
processor: {name: Example ApS, cvr: "12345678"}
parameters: {chacha20_counts_as_aes256: true, min_tls_version: "1.3"}
""")
    profile = load_profile(path)
    default = load_profile()
    assert profile.parameters["min_tls_version"] == "1.3" and profile.parameters["chacha20_counts_as_aes256"]
    assert profile.parameters["min_aes_bits"] == 256
    assert profile.controller["name"] == "Region Example" and profile.processor["cvr"] == "12345678"
    assert profile.sha256 != default.sha256


def test_profile_can_extend_another_profile_file(write):
    write("base.yaml", "parameters: {log_retention_days: 180}\n")
    child = write("child.yaml", "extends: base.yaml\nparameters: {min_aes_bits: 128}\n")
    profile = load_profile(child)
    assert profile.parameters["log_retention_days"] == 180 and profile.parameters["min_aes_bits"] == 128


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("extends: nosuch.yaml\n", ":1:10", "extends: no such file: 'nosuch.yaml' ("),
        ("parameters: {min_tls_version: '1.5'}\n", ":1:31",
         "'1.5' is not one of the values min_tls_version takes; use one of \"1.0\", \"1.1\", \"1.2\", \"1.3\""),
        ("parameters: {min_aes_bits: lots}\n", ":1:28",
         "wrong type for parameter 'min_aes_bits': got 'lots'; write e.g. min_aes_bits: 256"),
        ("parameters: {min_tls_version: 1.2}\n", ":1:31", "min_tls_version"),
        ("parameters: {min_aes_bit: 128}\n", ":1:14",
         "parameters: unknown key 'min_aes_bit'; did you mean 'min_aes_bits'?"),
        ("parameters: {vpn_required_for: [laptops]}\n", ":1:32", "vpn_required_for"),
        ("parameters: {allowed_listening_ports: {server: [99999]}}\n", ":1:", "allowed_listening_ports"),
        ("controler: {name: x}\n", ":1:1", "did you mean 'controller'?"),
        ("extends: self.yaml\n", ":1:", "loop"),
    ],
)
def test_bad_profile_is_one_line_naming_where(write, text, where, words):
    path = write("self.yaml", text)
    with pytest.raises(InputError) as error:
        load_profile(path)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{path}{where}")
    assert words in message


WAIVER = ("  - {{check: LOG-0020, reason: r, approver: DPO, created: 2026-11-01, expires: 2026-12-31, "
          "risk: low{extra}}}\n")
ATTESTATION = ("  - {{requirement: R10, statement: s, attestor: {{name: M}}, date: 2026-09-01, "
               "next_review: 2026-12-01{extra}}}\n")


@pytest.mark.parametrize(("label", "entry", "key"), [("waiver", WAIVER, "waivers"),
                                                     ("attestation", ATTESTATION, "attestations")])
def test_an_id_used_twice_across_extends_is_refused_naming_both_places(write, label, entry, key):
    # Given a parent profile with one unnamed entry (numbered 1) and a child whose own unnamed entry is numbered 1
    parent = write("parent.yaml", f"{key}:\n" + entry.format(extra=""))
    child = write("child.yaml", f"extends: parent.yaml\n{key}:\n" + entry.format(extra=""))
    # When the child is loaded
    with pytest.raises(InputError) as error:
        load_profile(child)
    # Then one line names the child's entry, the parent's entry it collides with, and the fix
    message = str(error.value)
    number = "W1" if label == "waiver" else "A1"
    assert "\n" not in message and message.startswith(f"{child}:3:5: {label} id '{number}' is already used at ")
    assert f"{parent}:2:5" in message and "give one of them its own `id:`" in message


@pytest.mark.parametrize(("entry", "key", "prefix"), [(WAIVER, "waivers", "W"), (ATTESTATION, "attestations", "A")])
def test_a_duplicate_id_within_one_file_is_refused_and_distinct_ids_load(write, entry, key, prefix):
    # Given one file with two entries that both say id X, and one whose child gives its entry an id of its own
    twice = write("twice.yaml", f"{key}:\n" + entry.format(extra=", id: X") + entry.format(extra=", id: X"))
    write("parent.yaml", f"{key}:\n" + entry.format(extra=""))
    child = write("child.yaml", f"extends: parent.yaml\n{key}:\n" + entry.format(extra=", id: REGION-1"))
    # When they are loaded
    # Then the first is refused at its second entry, and the second keeps both entries, each with its own id
    with pytest.raises(InputError, match=r"twice.yaml:3:5: .* id 'X' is already used at .*twice.yaml:2:5"):
        load_profile(twice)
    loaded = load_profile(child)
    items = loaded.waivers if key == "waivers" else loaded.attestations
    assert [i.id for i in items] == [f"{prefix}1", "REGION-1"]


INVENTORY_NAMES = ("db-1", "portal", "web-01")


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        # a check scoped to a target the inventory does not have would be skipped on every target
        ("checks:\n  TLS-0020: {targets: [portal, nosuch]}\n", ":2:32",
         "checks.TLS-0020.targets: unknown target 'nosuch', not in the inventory inv.yaml; use one of its targets: "
         "db-1, portal, web-01"),
        ("checks:\n  TLS-0020:\n    targets: web-1\n", ":3:14", "unknown target 'web-1', not in the inventory "
         "inv.yaml; did you mean 'web-01'?"),
        # a waiver scoped to one would waive nothing
        ("waivers:\n" + WAIVER.format(extra=", targets: [db-01]"), ":2:", "waivers.0.targets: unknown target 'db-01', "
         "not in the inventory inv.yaml; did you mean 'db-1'?"),
    ],
)
def test_a_scope_naming_no_target_of_the_inventory_is_refused_naming_where(write, text, where, words):
    # Given a profile whose scope names a target that the scan's inventory does not hold
    path = write("p.yaml", text)
    profile = load_profile(path)
    # When it is checked against the inventory's target names
    with pytest.raises(InputError) as error:
        profile.validate_targets(INVENTORY_NAMES, "inv.yaml")
    # Then one line names the profile's file:line:column, the unknown name, the closest one and the known ones
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{path}{where}"), message
    assert words in message


def test_scopes_naming_targets_of_the_inventory_pass_also_from_an_extended_profile(write):
    write("base.yaml", "checks:\n  TLS-0020: {targets: [portal]}\n")
    child = write("child.yaml", "extends: base.yaml\nwaivers:\n" + WAIVER.format(extra=", targets: [db-1, web-01]"))
    profile = load_profile(child)
    profile.validate_targets(INVENTORY_NAMES, "inv.yaml")  # raises nothing
    # And a parent's scope is checked as well as the child's
    with pytest.raises(InputError, match=r"base.yaml:2:24: checks.TLS-0020.targets: unknown target 'portal'"):
        profile.validate_targets(("db-1", "web-01"), "inv.yaml")
