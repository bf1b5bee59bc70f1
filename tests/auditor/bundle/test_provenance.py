"""When a run's facts were collected: from its evidence index, whatever day the run itself is made."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from auditor.bundle.provenance import provenance_of
from auditor.bundle.results import from_document, to_document
from auditor.models import Provenance, ScanResult


def _index(run_dir, *facts: tuple[str, str]) -> None:
    (run_dir / "evidence").mkdir(parents=True)
    (run_dir / "evidence" / "manifest.json").write_text(json.dumps(
        {"schema_version": 1, "facts": [{"path": f"evidence/x/{i}.json", "kind": kind, "collected_at": at}
                                        for i, (kind, at) in enumerate(facts)]}))


def test_the_range_is_the_host_facts_and_not_an_attestations_artefact(tmp_path):
    # Given facts collected on 26 November and an attestation's artefact hashed when the run judged it, in December
    _index(tmp_path, ("command", "2026-11-26T14:43:47.000Z"), ("file", "2026-11-26T14:43:46.000Z"),
           ("artefact", "2026-12-02T09:00:00.000Z"))
    # When the provenance is read for a scan
    found = provenance_of(tmp_path, None)
    # Then it spans the host facts only, and names no source run
    assert (found.collected_from, found.collected_to) == (datetime(2026, 11, 26, 14, 43, 46, tzinfo=UTC),
                                                          datetime(2026, 11, 26, 14, 43, 47, tzinfo=UTC))
    assert found.source_started_at is None and found.source_profile_sha256 == ""


def test_a_run_without_an_evidence_index_dates_nothing(tmp_path):
    assert provenance_of(tmp_path, None) == Provenance()


def test_results_json_keeps_the_provenance_through_a_round_trip():
    # Given a replay's result with its source run's times and profile
    at = datetime(2026, 12, 2, 9, tzinfo=UTC)
    collected = Provenance(datetime(2026, 11, 26, 14, tzinfo=UTC), datetime(2026, 11, 26, 15, tzinfo=UTC),
                           datetime(2026, 11, 26, 13, 59, tzinfo=UTC), datetime(2026, 11, 26, 15, 1, tzinfo=UTC),
                           "region", "ab" * 32)
    result = ScanResult("B", "0", at, at, "default", "cd" * 32, {}, (), replayed_from="A", provenance=collected)
    # When it is written and read back
    document = to_document(result)
    # Then the run block names when the facts were collected and by which run's profile, and reads back equal
    assert document["run"]["evidence_collected_from"] == "2026-11-26T14:00:00.000Z"
    assert document["run"]["replayed_profile_sha256"] == "ab" * 32
    assert from_document(json.loads(json.dumps(document))).provenance == collected
