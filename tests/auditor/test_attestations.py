"""Attestations: attested, never passed; stale after their review date; artefacts hashed at load."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from auditor.attestations import attestation_findings, parse_attestations
from auditor.errors import InputError
from auditor.models import Status
from auditor.yamlfile import parse_yaml

ENTRY = """\
attestations:
  - requirement: R10
    statement: All office doors have key locks; keys are registered and audited quarterly.
    attestor: {name: Mette Jensen, role: Facility manager, organisation: Example ApS}
    date: 2026-09-01
    next_review: 2026-12-01
    maturity: Measures implemented
    artefacts: [key-register.pdf]
"""


def _parse(tmp_path, text=ENTRY):
    return parse_attestations(parse_yaml(text, str(tmp_path / "p.yaml"), "profile"), tmp_path)


def test_fresh_attestation_is_manual_and_names_the_attestor(tmp_path):
    (tmp_path / "key-register.pdf").write_bytes(b"%PDF-1.4 key register")
    (attestation,) = _parse(tmp_path)
    assert attestation.artefacts[0].sha256 == hashlib.sha256(b"%PDF-1.4 key register").hexdigest()
    (finding,) = attestation_findings([attestation], datetime(2026, 11, 26, tzinfo=UTC))
    assert finding.status is Status.MANUAL and finding.requirements == ("R10",) and finding.target == ""
    assert finding.message.startswith("Attested by Mette Jensen, Facility manager, Example ApS on 2026-09-01")


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        (datetime(2026, 12, 1, 22, 59, tzinfo=UTC), Status.MANUAL),  # still 1 December in Copenhagen
        (datetime(2026, 12, 1, 23, 0, tzinfo=UTC), Status.FAIL),  # 2 December 00:00 in Copenhagen
    ],
)
def test_attestation_becomes_stale_after_its_review_day(tmp_path, as_of, status):
    (tmp_path / "key-register.pdf").write_bytes(b"x")
    (finding,) = attestation_findings(_parse(tmp_path), as_of)
    assert finding.status is status
    if status is Status.FAIL:
        assert "Attestation is stale: its review was due 2026-12-01" in finding.message


def test_missing_artefact_is_an_input_error_naming_it(tmp_path):
    with pytest.raises(InputError) as error:
        _parse(tmp_path)
    assert str(error.value).startswith(f"{tmp_path / 'p.yaml'}:8:")
    assert "artefact 'key-register.pdf' cannot be read" in str(error.value)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("maturity: Measures implemented", "maturity: Great"), "not on the D-mærket scale"),
        (("next_review: 2026-12-01", "next_review: 2026-01-01"), "next_review is before"),
        (("    attestor: {name: Mette Jensen, role: Facility manager, organisation: Example ApS}\n", ""),
         "needs an attestor"),
        (("  - requirement: R10\n", "  - id: A9\n"), "names neither a requirement nor a check"),
    ],
)
def test_bad_attestations_name_the_place(tmp_path, change, words):
    (tmp_path / "key-register.pdf").write_bytes(b"x")
    with pytest.raises(InputError, match=words):
        _parse(tmp_path, ENTRY.replace(*change))
