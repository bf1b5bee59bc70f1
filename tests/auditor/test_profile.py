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
    assert profile.parameters == {
        "min_aes_bits": 256, "chacha20_counts_as_aes256": False, "min_tls_version": "1.2",
        "cert_min_days_left": 30, "log_retention_days": 90, "backup_max_age_hours": 26,
        "screen_lock_max_seconds": 900, "vpn_required_for": ["workstation"], "allowed_listening_ports": {},
        "audited_paths": [], "central_logging": False, "backup_marker_paths": [],
        "pii_paths": {}, "pii_include": [], "pii_exclude": ["*/.cache/*", "*/.git/*", "*/node_modules/*"],
        "pii_max_file_mb": 256, "pii_max_depth": 12, "pii_fail_confidence": "medium", "pii_bulk_threshold": 0,
        "vpn_controller_networks": [],
    }
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
