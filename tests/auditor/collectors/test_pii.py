"""The pii collector: recorded scanner output -> facts, the grep fallback, and a real run on this machine."""

from __future__ import annotations

import ast
import gzip
import json
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest

from auditor.collectors import pii
from auditor.collectors._pii_script import SCRIPT
from auditor.models import Platform, SystemFacts
from auditor.transports.base import NOT_FOUND, TIMED_OUT, CommandResult
from auditor.transports.local import LocalTransport
from tests.auditor.fake_host import FakeHost

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "pii"
LINUX = SystemFacts(Platform.LINUX)
PATHS = {"server": ["/srv/exports"], "workstation": ["/home"]}
WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)


def _scan(**params: object) -> str:
    return str(pii.scan_command(["/srv/exports", "/home"], **params))  # type: ignore[arg-type]


def test_recorded_scan_becomes_facts_with_masked_samples_only():
    # Given the scanner's recorded JSON for two profile folders
    text = (FIXTURES / "debian12-scan.json").read_text()
    host = FakeHost({_scan(bulk=False): CommandResult(_scan(), 0, text)})
    # When the collector runs
    facts = pii.collect(host, LINUX, pii_paths=PATHS)
    # Then each file carries its folder, counts, lines and DDMMYY-XXXX samples
    by_path = {f.path: f for f in facts.files}
    assert facts.method == "grep+python"
    assert set(by_path) == {"/srv/exports/kunder.csv", "/srv/exports/old/app.log.1.gz", "/home/notes.txt"}
    csv = by_path["/srv/exports/kunder.csv"]
    assert (csv.root, csv.high, csv.medium, csv.low, csv.lines) == ("/srv/exports", 3, 0, 0, (2, 3, 4))
    assert [s.masked for s in csv.samples] == ["010160-XXXX", "241280-XXXX", "010165-XXXX"]
    assert by_path["/home/notes.txt"].emails == 2 and by_path["/home/notes.txt"].ibans == 1
    exports = next(r for r in facts.roots if r.path == "/srv/exports")
    assert (exports.skipped_binary, exports.rejected_dates, exports.files_scanned) == (1, 2, 3)
    assert not any(r.exists for r in facts.roots if r.path == "/srv/not-here")


def test_the_command_carries_settings_as_one_json_argument_and_no_key():
    # Given two builds of the scanner command with the same settings
    first = pii.scan_command(["/srv/a b", "/home"], ["*.csv"], ["*/.git/*"], 5, 3, True)
    second = pii.scan_command(["/srv/a b", "/home"], ["*.csv"], ["*/.git/*"], 5, 3, True)
    # Then the argv is python3 -c SCRIPT JSON, the same each time (no random key in it), and JSON holds the settings
    assert first == second and first.argv[:3] == ("python3", "-c", SCRIPT) and len(first.argv) == 4
    args = json.loads(first.argv[3])
    assert args["roots"] == ["/srv/a b", "/home"] and args["max_bytes"] == 5 << 20 and args["bulk"] is True
    assert not re.search(r"[0-9a-f]{32}", first.argv[3])
    assert first.sudo and first.timeout == pii.SCAN_TIMEOUT


def test_the_script_is_python_38_grammar():
    # Then the on-target script parses with the grammar of the oldest Python it promises to support
    ast.parse(SCRIPT, feature_version=(3, 8))


def test_without_python3_grep_counts_lines_without_printing_names_or_numbers():
    # Given a host without python3 whose grep answers with one count per file
    counts = (FIXTURES / "debian12-grep-counts.txt").read_text()
    grep_export = pii.grep_command("/srv/exports", (), ["*/.git/*", "*.bak"])
    grep_home = pii.grep_command("/home", (), ["*/.git/*", "*.bak"])
    host = FakeHost({str(grep_export): CommandResult(str(grep_export), 0, counts),
                     str(grep_home): CommandResult(str(grep_home), 1, "0\n0\n")})
    # When the collector runs
    facts = pii.collect(host, LINUX, pii_paths=PATHS, pii_exclude=["*/.git/*", "*.bak"])
    # Then grep printed counts only (-c, -h) and the facts hold unverified counts per folder
    assert {"-rEIhcs", "--exclude-dir=.git", "--exclude=*.bak"} <= set(grep_export.argv)
    assert facts.method == "grep" and "`python3` is not installed" in facts.notes[0]
    roots = {r.path: r for r in facts.roots}
    assert (roots["/srv/exports"].unverified_lines, roots["/srv/exports"].unverified_files) == (5, 2)
    assert roots["/home"].unverified_lines == 0 and facts.files == ()


@pytest.mark.parametrize(("python", "grep", "problem"), [
    (CommandResult("x", TIMED_OUT, ""), None, "did not finish within 1800 s"),
    (CommandResult("python3 -c x", NOT_FOUND, ""), CommandResult("g", NOT_FOUND, ""), "`python3` is not installed"),
    (CommandResult("x", 1, "", "SyntaxError: invalid syntax"), CommandResult("g", 2, ""), "exited 1: SyntaxError"),
    (CommandResult("x", 0, '{"version": 1, "fatal": "MemoryError"}'), None, "stopped with MemoryError"),
])
def test_a_search_that_could_not_run_says_why(python, grep, problem):
    # Given a scanner that timed out, is missing, crashed, or stopped
    commands = {_scan(): python}
    for root in ("/srv/exports", "/home"):
        if grep:
            commands[str(pii.grep_command(root))] = grep
    # When the collector runs
    facts = pii.collect(FakeHost(commands), LINUX, pii_paths=PATHS)
    # Then the facts say why nothing was searched
    assert problem in facts.problem and facts.files == ()


def test_no_folders_in_the_profile_requests_nothing():
    assert pii.requests(LINUX, pii_paths={}) == ((), ())
    assert pii.collect(FakeHost({}), LINUX, pii_paths={}).problem.startswith("the profile names no folders")


def test_output_that_is_not_masked_never_becomes_a_fact():
    # Given scanner output that (wrongly) holds a full number in a sample and in a file name
    text = json.dumps({"version": 1, "roots": [], "files": [{
        "path": "/srv/0101601234.csv", "root": "/srv", "high": 1, "medium": 0, "low": 0, "lines": [1],
        "samples": [{"line": 1, "masked": "0101601234", "confidence": "high", "reason": "x", "hmac": "0" * 64}]}]})
    # When it is parsed
    facts = pii.parse_scan(text)
    # Then the sample is dropped and the name masked
    assert facts is not None and facts.files[0].samples == () and facts.files[0].path == "/srv/010160-XXXX.csv"


# ---- the script itself, run for real ----------------------------------------------------------------

def _mod11(number: str) -> bool:
    return sum(w * int(c) for w, c in zip(WEIGHTS, number, strict=True)) % 11 == 0


# Every date the corpus below writes is in 2000 or earlier, so "not a future birth date" is decided by this fixed
# day as it is by the script's own today, on any day the suite runs.
_CORPUS_TODAY = date(2001, 1, 1)


def _valid(dd: int, mm: int, yy: int, seventh: int) -> bool:
    century = 1900 if seventh <= 3 else (2000 if yy <= 36 else 1900) if seventh in (4, 9) else \
        (2000 if yy <= 57 else 1800)
    try:
        return date(century + yy, mm, dd) <= _CORPUS_TODAY
    except ValueError:
        return False


def _independent_count(text: str) -> dict[str, int]:
    """High (modulus 11 only: no keywords in the corpus) and all real-date candidates, read here in the test."""
    found = [m[1] + m[2] for m in re.finditer(r"(?<!\d)(\d{6})[- ]?(\d{4})(?!\d)", text)]
    real = [n for n in found if _valid(int(n[:2]), int(n[2:4]), int(n[4:6]), int(n[6]))]
    return {"high": sum(_mod11(n) for n in real), "all": len(real)}


def _corpus(root: Path) -> dict[str, dict[str, int]]:
    lines = [f"row {i};{d:02d}{m:02d}{y:02d}{'-' if i % 2 else ''}{s:04d};x" for i, (d, m, y, s) in
             enumerate((d, m, y, s) for d in (1, 15, 29, 31) for m in (1, 2, 6, 12) for y in (60, 79, 0)
                       for s in (1234, 4321, 5008))]
    text = "\n".join(lines) + "\n"
    (root / "a.txt").write_text(text)
    # Numbers on both sides of the 4 MB read boundary of the Python path.
    (root / "big.log").write_text("x" * (4 << 20) + "\n" + text + "y" * 100 + "\n" + text)
    with gzip.open(root / "c.txt.gz", "wt") as f:
        f.write(text)
    return {"a.txt": _independent_count(text), "big.log": {k: 2 * v for k, v in _independent_count(text).items()},
            "c.txt.gz": _independent_count(text)}


def test_local_scan_agrees_with_an_independent_reading(tmp_path):
    # Given a generated corpus on this machine and counts computed independently in the test
    expected = _corpus(tmp_path)
    # When the collector runs through the local transport (grep pre-filter) and the script runs pure Python
    facts = pii.collect(LocalTransport(), LINUX, pii_paths={"workstation": [str(tmp_path)]})
    args = json.dumps({"roots": [str(tmp_path)], "no_grep": True})
    pure = pii.parse_scan(subprocess.run(["python3", "-c", SCRIPT, args], capture_output=True, text=True,
                                         check=True).stdout)
    # Then both agree with the independent reading, file by file
    assert pure is not None
    for result in (facts, pure):
        got = {Path(f.path).name: {"high": f.high, "all": f.high + f.medium + f.low} for f in result.files}
        assert got == expected
        assert result.roots[0].files_scanned == 3
