"""PII-0010 and PII-0020: facts built in code -> verdicts."""

from __future__ import annotations

import pytest

from auditor.collectors.pii import CprSample, PiiFacts, PiiFile, PiiRoot
from auditor.models import Role, Status, Target, TargetKind
from checks.pseudonymisation import bulk_contact_data, cpr_numbers_in_clear

SERVER = Target("db1", TargetKind.SSH, role=Role.SERVER)
PATHS = {"server": ["/srv/exports"], "workstation": ["/home"]}
ROOTS = (PiiRoot("/srv/exports", files_scanned=12, bytes_scanned=3 << 20, skipped_binary=2),
         PiiRoot("/home", files_scanned=3))


def _file(path: str = "/srv/exports/a.csv", root: str = "/srv/exports", **counts: int) -> PiiFile:
    sample = CprSample(4, "010160-XXXX", "high", "modulus 11", "ab" * 32)
    return PiiFile(path, root, high=counts.get("high", 0), medium=counts.get("medium", 0), low=counts.get("low", 0),
                   lines=(4, 9), samples=(sample,), emails=counts.get("emails", 0), ibans=counts.get("ibans", 0))


def _facts(*files: PiiFile, **kw: object) -> PiiFacts:
    return PiiFacts("python", kw.pop("roots", ROOTS), files, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("files", "level", "status", "words"), [
    # Given nothing found in the role's folder
    ((), "medium", Status.PASS, "No CPR numbers at medium confidence or above in 12 files (3.0 MB)"),
    # Given modulus-11 numbers, the default threshold fails them, naming file, lines and a masked sample
    ((_file(high=3),), "medium", Status.FAIL, "/srv/exports/a.csv (3, lines 4, 9, e.g. 010160-XXXX)"),
    # Given only low-confidence numbers: below a medium threshold they pass, with a note; at low they fail
    ((_file(low=5),), "medium", Status.PASS, "5 numbers of lower confidence"),
    ((_file(low=5),), "low", Status.FAIL, "1 file holds CPR numbers in clear (low: 5"),
    # Given 1 January numbers without a check digit: medium fails them, high does not
    ((_file(medium=2),), "medium", Status.FAIL, "medium: 2"),
    ((_file(medium=2),), "high", Status.PASS, "No CPR numbers at high confidence"),
    # Given numbers in another role's folder only, this role passes
    ((_file("/home/x.txt", "/home", high=7),), "medium", Status.PASS, "under /srv/exports"),
])
def test_cpr_numbers_at_or_above_the_threshold_fail(files, level, status, words):
    # When PII-0010 judges a server
    verdict = cpr_numbers_in_clear(_facts(*files), PATHS, level, SERVER)
    # Then
    assert verdict.status == status and words in verdict.message


def test_failing_files_are_listed_in_observed_with_masked_samples():
    verdict = cpr_numbers_in_clear(_facts(_file(high=2), _file("/srv/exports/b.log", low=1)), PATHS, "medium", SERVER)
    assert [f["path"] for f in verdict.observed["files"]] == ["/srv/exports/a.csv"]
    assert verdict.observed["files"][0]["samples"][0]["masked"] == "010160-XXXX"
    assert verdict.observed["below_threshold_numbers"] == 1


@pytest.mark.parametrize(("facts", "paths", "status", "words"), [
    # Given a role without folders in the profile
    (_facts(), {"workstation": ["/home"]}, Status.NOT_APPLICABLE, "for role server (pii_paths)"),
    # Given a search that could not run
    (PiiFacts("", problem="the scanner stopped with MemoryError"), PATHS, Status.FAIL, "MemoryError"),
    # Given the role's folder does not exist on the host
    (_facts(roots=(PiiRoot("/srv/exports", exists=False, problem="does not exist"),)), PATHS, Status.WARN,
     "None of the folders"),
    # Given a search stopped at the time limit with nothing found so far
    (_facts(incomplete=("stopped at the time limit",)), PATHS, Status.WARN, "did not finish"),
])
def test_when_the_folders_could_not_be_searched(facts, paths, status, words):
    verdict = cpr_numbers_in_clear(facts, paths, "medium", SERVER)
    assert verdict.status == status and words in verdict.message


@pytest.mark.parametrize(("lines", "level", "status"), [
    (4, "medium", Status.WARN),
    (4, "low", Status.FAIL),
    (0, "medium", Status.PASS),
])
def test_the_grep_fallback_counts_are_unverified(lines, level, status):
    # Given a host without python3: grep counted candidate lines only
    facts = PiiFacts("grep", (PiiRoot("/srv/exports", None, files_scanned=9, unverified_lines=lines,
                                      unverified_files=min(lines, 2)),))
    # When PII-0010 judges it
    verdict = cpr_numbers_in_clear(facts, PATHS, level, SERVER)
    # Then unverified candidates warn (fail when even low confidence fails) and none passes
    assert verdict.status == status
    assert ("could not be verified" in verdict.message) == bool(lines)


@pytest.mark.parametrize(("facts", "threshold", "status", "words"), [
    (_facts(_file(emails=500, ibans=2)), 0, Status.NOT_APPLICABLE, "turned off"),
    (_facts(_file(emails=500, ibans=2), bulk_counted=True), 100, Status.FAIL,
     "/srv/exports/a.csv (500 e-mail addresses, 2 IBANs)"),
    (_facts(_file(emails=50, ibans=101), bulk_counted=True), 100, Status.FAIL, "more than 100"),
    (_facts(_file(emails=50), bulk_counted=True), 100, Status.PASS, "No file holds more than 100"),
    (_facts(_file("/home/x", "/home", emails=900), bulk_counted=True), 100, Status.PASS, "No file holds"),
    (PiiFacts("grep", (PiiRoot("/srv/exports", None),)), 100, Status.WARN, "no python3"),
])
def test_bulk_contact_data(facts, threshold, status, words):
    # When PII-0020 judges a server's folder with the given threshold
    verdict = bulk_contact_data(facts, PATHS, threshold, SERVER)
    # Then
    assert verdict.status == status and words in verdict.message
