"""Caps on what a finding carries (auditor/caps.py) and visible escapes (auditor/visible.py), one rule at a time."""

from __future__ import annotations

import dataclasses
import json
import shutil

from auditor.caps import (
    DEFAULT_CAPS,
    FINDINGS,
    ITEMS,
    MESSAGE_CHARS,
    TEXT_CHARS,
    VALUES_CHARS,
    Caps,
    cap_finding,
    cap_result,
    cut,
    size,
)
from auditor.models import EvidenceRef, Finding, Status, Target, TargetKind, TargetResult
from auditor.report.view import build_view
from auditor.visible import visible
from tests.conftest import FIXTURES

HOSTS = FIXTURES / "hosts"

REF = EvidenceRef("evidence/web-1/cmd-systemctl_is_active_auditd_service-97eb5cdd.json", "dfb957c6c597" + "0" * 52,
                  "systemctl is-active auditd.service")


def _finding(message: str = "ok", observed=None, expected=None, refs=(REF,), check_id="LOG-0010", **more) -> Finding:
    return Finding(check_id, "web-1", Status.FAIL, message, observed=observed or {}, expected=expected or {},
                   evidence=refs, **more)


def test_an_ordinary_finding_is_left_exactly_as_it_was():
    # Given a finding of the size honest hosts give (the recorded hosts' largest are ~500 and ~5,000 characters)
    finding = _finding("The kernel audit trail is incomplete: no rule records logins (/var/log/wtmp).",
                       observed={"rules": [f"-w /etc/file{i} -p wa -k identity" for i in range(88)],
                                 "auditd.conf": {"num_logs": "5"}, "pid": 0, "enabled": None, "ok": True},
                       expected={"auditd": "running", "rules": ("identity", "logins")}, resource="/var/log")
    # When it is capped, Then nothing changes (a tuple stays a tuple, numbers stay numbers)
    assert cap_finding(finding) == finding


def test_a_long_message_keeps_its_start_and_end_and_says_what_was_cut_and_where_the_rest_is():
    # Given a message quoting 8 MiB of a host's answer in the middle of its sentence
    message = "The auditd service is " + "A" * (8 * 1024 * 1024) + "; no rule records logins."
    # When it is capped
    capped = cap_finding(_finding(message)).message
    # Then it fits the cap, starts and ends as the sentence did, and tells the size and the evidence file
    assert len(capped) <= MESSAGE_CHARS
    assert capped.startswith("The auditd service is AAA") and capped.endswith("AAA; no rule records logins.")
    assert "[8.0 MiB in all, cut here; full text in evidence " + REF.path + " (sha256 dfb957c6c597)]" in capped


def test_a_long_observed_text_becomes_a_summary_that_tells_the_story():
    # Given an observed value of 5,000 lines
    text = "".join(f"line {i}\n" for i in range(5000))
    # When the finding is capped
    observed = cap_finding(_finding(observed={"answer": text})).observed
    # Then the value is its size, its line count, its first lines and the evidence that holds the rest
    assert observed == {"answer": f"[{size(text)} of output in 5,000 lines; first lines: line 0 ⏎ line 1 ⏎ line 2; "
                                  f"full text in evidence {REF.path} (sha256 dfb957c6c597)]"}


def test_one_line_without_a_newline_is_quoted_cut_with_an_ellipsis():
    observed = cap_finding(_finding(observed={"answer": "B" * 3000})).observed
    assert observed["answer"].startswith("[2.9 KiB of output in 1 line; first lines: " + "B" * 160 + "…; full text")


def test_lists_and_mappings_are_cut_to_their_item_count_and_counted():
    # Given a list of 100,000 short items and a mapping of 100,000 keys
    finding = _finding(observed={"list": [str(i) for i in range(100_000)]},
                       expected={f"k{i}": i for i in range(100_000)})
    # When capped
    capped = cap_finding(finding)
    # Then each keeps at most ITEMS entries and a last one that counts the rest and names the evidence
    kept = capped.observed["list"]
    assert len(kept) == ITEMS + 1 and kept[:3] == ["0", "1", "2"]
    assert kept[-1] == f"… and {100_000 - ITEMS:,} more items; full data in evidence {REF.path} (sha256 dfb957c6c597)"
    assert len(capped.expected) == ITEMS + 1 and capped.expected["…"].startswith(f"… and {100_000 - ITEMS:,} more")


def test_the_total_of_observed_stays_within_its_budget_however_the_values_are_shaped():
    # Given 150 texts just under the text cap: under the item cap, but far over the budget
    finding = _finding(observed={f"v{i}": "x" * (TEXT_CHARS - 1) for i in range(150)})
    # When capped
    capped = cap_finding(finding).observed
    # Then what is kept stays within the budget and one text more, and the rest is counted
    assert len(json.dumps(capped)) <= VALUES_CHARS + 2 * TEXT_CHARS
    assert capped["…"].startswith(f"… and {150 - len(capped) + 1} more entries")


def test_deep_nesting_is_cut_to_the_depth_cap():
    # Given a value nested 10,000 levels deep (json.dumps would hit the recursion limit)
    deep: list = []
    for _ in range(10_000):
        deep = [deep]
    # When capped, Then eight levels are kept and the ninth says what is below
    capped = cap_finding(_finding(observed={"deep": deep})).observed
    level = capped["deep"]
    for _ in range(DEFAULT_CAPS.depth - 2):
        level = level[0]
    assert level == ["[1 entries nested deeper than 8 levels; full data in evidence " + REF.path
                     + " (sha256 dfb957c6c597)]"]
    json.dumps(capped)


def test_control_characters_and_lone_surrogates_are_written_as_visible_escapes_everywhere():
    # Given a finding whose texts hold ESC, NUL, a form feed, DEL, CSI, a lone surrogate and U+FFFF
    hostile = "a\x1b]0;pwned\x07b\x00c\x0cd\x7fe\x9bf\udc80g\uffffh\ti\nj\rk"
    finding = _finding(hostile, observed={hostile: [hostile]}, resource=hostile, error=hostile)
    # When capped
    capped = cap_finding(finding)
    # Then each is its escape (tab, newline and carriage return stay), and UTF-8 can write every text
    escaped = r"a\x1b]0;pwned\x07b\x00c\x0cd\x7fe\x9bf\udc80g\uffffh" + "\ti\nj\rk"
    assert visible(hostile) == escaped
    assert (capped.message, capped.resource, capped.error) == (escaped, escaped, escaped)
    assert capped.observed == {escaped: [escaped]}
    json.dumps(capped.observed, ensure_ascii=False).encode()


def test_a_finding_without_evidence_says_the_target_evidence_holds_the_text():
    capped = cap_finding(_finding("x" * 5000, refs=())).message
    assert "full text in this target's evidence" in capped and len(capped) <= MESSAGE_CHARS


def test_many_evidence_files_are_named_up_to_three_and_the_others_counted():
    refs = tuple(EvidenceRef(f"evidence/web-1/f{i}.json", f"{i:064x}", f"cat f{i}") for i in range(5))
    capped = cap_finding(_finding("x" * 5000, refs=refs)).message
    assert "evidence/web-1/f2.json" in capped and "f3.json" not in capped
    assert "or one of 2 more files it cites" in capped


def test_caps_are_configurable_and_cut_never_exceeds_its_limit():
    # Given smaller caps, When a long message is capped, Then it fits them
    small = Caps(message=300, text=50, values=400, items=3, depth=2)
    capped = cap_finding(_finding("y" * 10_000, observed={"a": list(range(10)), "b": "z" * 60}), small)
    assert len(capped.message) <= 300 and capped.observed["a"][:3] == [0, 1, 2] and len(capped.observed["a"]) == 4
    assert capped.observed["b"].startswith("[60 bytes of output in 1 line")
    # and a limit smaller than the note itself still holds
    for limit in (1, 5, 40, 120):
        assert len(cut("q" * 1000, limit, "in evidence " + "p" * 200)) <= limit


def test_a_failure_after_the_findings_cap_survives_as_a_counted_finding_of_its_status():
    # Given a target where one check found 1,000 resources and only the last one fails
    passes = [dataclasses.replace(_finding(f"disk {i}", resource=f"/dev/sd{i}"), status=Status.PASS)
              for i in range(999)]
    other = _finding("another check", check_id="LOG-0020")
    result = TargetResult(Target("web-1", TargetKind.SSH), None, (*passes, _finding("disk 999 fails"), other))
    # When the result is capped at 10 findings per check
    capped = cap_result(result, Caps(findings=10)).findings
    # Then the first 10 stay, then a pass and a fail that count the rest (the check still fails), then the next check
    assert [f.resource for f in capped[:10]] == [f"/dev/sd{i}" for i in range(10)]
    assert [(f.status, f.message.split(" more")[0]) for f in capped[10:12]] == [(Status.PASS, "989"),
                                                                              (Status.FAIL, "1")]
    assert capped[11].evidence == (REF,) and capped[12].check_id == "LOG-0020" and len(capped) == 13


def test_a_run_folder_with_more_findings_of_a_check_than_the_cap_is_counted_when_its_report_is_built(tmp_path):
    # Given a run folder written before the runner counted findings (or by hand): 1,200 failing findings of one
    # check on one target, each about its own resource
    run = tmp_path / "run"
    shutil.copytree(HOSTS / "debian12-server", run)
    document = json.loads((run / "results.json").read_text())
    first = next(f for f in document["findings"] if f["check_id"] == "LOG-0010")
    document["findings"] += [{**first, "status": "fail", "resource": f"/var/log/app{i}.log"} for i in range(1200)]
    (run / "results.json").write_text(json.dumps(document))
    # When its report view is built
    rows = [r for r in build_view(run).rows if r.check_id == "LOG-0010" and r.target == first["target"]]
    # Then the first FINDINGS are kept and the rest are one row that says how many were left out
    assert len(rows) == FINDINGS + 1
    (summary,) = [r for r in rows if "left out" in r.message]
    assert summary.status == "fail" and summary.message.startswith(
        f"{1201 - FINDINGS} more fail results of this check on this target are left out after its first {FINDINGS}")
