"""Every file name of a run folder, owned here and nowhere else.

    <run>/profile.json            the profile the run was judged under (replay re-uses it)
    <run>/evidence/               the recorded facts (format: auditor/transports/records.py)
    <run>/results.json            findings, targets, checks (bundle/results.py)
    <run>/changes.json            drift against the previous run of the history, when there is one
    <run>/trend.json              scores of the earlier runs of the same targets, for the report's trend
    <run>/report*.html|pdf ...    rendered reports (names: report/render.py's format table)
    <run>/manifest.json           SHA-256 of every file above; written last (bundle/manifest.py)
    <run>/manifest.sig            Ed25519 signature over manifest.json
    <run>.auditor-bundle          the sealed (encrypted) copy of the folder, beside it
    <run>.report/                 reports rendered later by `auditor report`, beside it (never inside the
                                  run: its signed manifest would no longer verify)
"""

from __future__ import annotations

from auditor.transports.records import EVIDENCE_DIR, EVIDENCE_INDEX

__all__ = ["BUNDLE_SUFFIX", "CHANGES", "EVIDENCE_DIR", "EVIDENCE_INDEX", "PROFILE", "REPORTS_SUFFIX", "RESULTS",
           "RUN_MANIFEST", "SIGNATURE", "TREND"]

PROFILE = "profile.json"
RESULTS = "results.json"
CHANGES = "changes.json"
TREND = "trend.json"
RUN_MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
BUNDLE_SUFFIX = ".auditor-bundle"
REPORTS_SUFFIX = ".report"
