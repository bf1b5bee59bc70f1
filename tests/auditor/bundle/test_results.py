"""results.json: what a run's checks were, read back as the report and a replay need them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from auditor.bundle.results import from_document, to_document
from auditor.models import Role, ScanResult
from auditor.pipeline import load_checks
from auditor.profile import load_profile

AT = datetime(2026, 12, 4, 12, tzinfo=UTC)


def test_a_check_limited_to_some_roles_keeps_them_through_results_json():
    # Given the built-in checks, one of which concerns workstations only
    checks = load_checks(load_profile(None))
    document = to_document(ScanResult("A", "0", AT, AT, "default", "ab" * 32, checks, ()))
    # When results.json is read back, Then the roles are those of the checks; a run written before roles were
    # stored reads as "every role"
    read = from_document(json.loads(json.dumps(document))).checks
    assert read["LOCK-0010"].roles == frozenset({Role.WORKSTATION}) and read["LOG-0020"].roles == frozenset()
    del document["checks"]["LOCK-0010"]["roles"]
    assert from_document(document).checks["LOCK-0010"].roles == frozenset()
