"""When a run's facts were collected: from its own evidence index (a replay re-saves each record with the time
it was first collected) and, for a replay, from the results of the run it re-evaluated.

So a replay's report can say "collected on 26 November by run X under profile P; re-evaluated on 2 December
under profile Q", instead of presenting the replay's own time as the time of collection.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from auditor.bundle.layout import EVIDENCE_INDEX
from auditor.bundle.results import read_results
from auditor.files import load_json
from auditor.models import Provenance, ScanResult

# An attestation's artefact is hashed when a run judges it: that is not a time the host was asked anything.
_NOT_COLLECTED = {"artefact"}


def provenance_of(run_dir: Path, source: Path | ScanResult | None) -> Provenance:
    """The collection times of the facts in run_dir's evidence index, and the source run's times and profile
    (source: its folder, or its results as the caller already read them)."""
    collected = sorted(_collected_times(run_dir))
    first, last = (collected[0], collected[-1]) if collected else (None, None)
    if source is None:
        return Provenance(first, last)
    earlier = source if isinstance(source, ScanResult) else read_results(source)
    return Provenance(first, last, earlier.started_at, earlier.finished_at, earlier.profile_name,
                      earlier.profile_sha256)


def _collected_times(run_dir: Path) -> list[datetime]:
    try:
        facts = load_json((run_dir / EVIDENCE_INDEX).read_bytes()).get("facts", ())
    except (OSError, ValueError):
        return []
    times = []
    for fact in facts:
        if fact.get("kind") not in _NOT_COLLECTED and fact.get("collected_at"):
            try:
                times.append(datetime.fromisoformat(fact["collected_at"]))
            except (TypeError, ValueError):
                continue  # a damaged entry dates nothing; verify names the damage
    return times
