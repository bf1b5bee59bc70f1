"""What a reader who has never seen the tool reads: no internal notation ("PATCH-0010@app-2", "+14"), no English
in the Danish report, no count that seems to contradict the verdict beside it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.profile import load_profile
from auditor.report.to_html import render_html
from auditor.report.view import build_view
from tests.auditor.report.test_render import ATTESTED_PROFILE_YAML, PROFILE_YAML, _visible_text
from tests.report_factory import linux_host, make_run

LAYOUTS = (False, True)  # the PDF's print layout, the HTML


def test_a_stale_attestation_s_title_is_in_the_report_s_language(tmp_path):
    # Given a run whose profile attests R10 with a review long past (a deviation of the organisation, "A1")
    (tmp_path / "p.yaml").write_text(ATTESTED_PROFILE_YAML)
    view = build_view(make_run(tmp_path / "run", {"web-01": linux_host("web-01")}, load_profile(tmp_path / "p.yaml")))
    assert [g.check_id for g in view.deviation_groups if g.check_id.startswith("ATTEST-")] == ["ATTEST-R10"]
    for full in LAYOUTS:
        # When the report is rendered in English and in Danish
        english = _visible_text(render_html(view, "en", full=full))
        danish = _visible_text(render_html(view, "da", full=full))
        # Then its title in the remediation plan is the language's own
        assert "Attestation A1" in english[english.index("Deviations and remediation plan"):]
        plan = danish[danish.index("Afvigelser og udbedringsplan"):]
        assert "Attestering A1" in plan and "Attestation A1" not in danish, full


WAIVED_PROFILE_YAML = PROFILE_YAML + """\
waivers:
  - check: LOG-0040
    targets: [db-1]
    reason: The NTP server is being replaced.
    approver: Region Example DPO
    created: 2026-10-01
    expires: 2026-11-01
    risk: medium
  - check: LOG-0040
    targets: [db-2]
    reason: The NTP server is being replaced.
    approver: Region Example DPO
    created: 2026-10-01
    expires: 2027-01-01
    risk: low
"""


@pytest.fixture(scope="module")
def waived(tmp_path_factory) -> Path:
    """db-1 and db-2 fail LOG-0040: db-1's waiver expired before the scan (26 November 2026), db-2's holds."""
    folder = tmp_path_factory.mktemp("waived")
    (folder / "p.yaml").write_text(WAIVED_PROFILE_YAML)
    hosts = {"web-01": linux_host("web-01"), "db-1": linux_host("db-1", synced=False),
             "db-2": linux_host("db-2", synced=False)}
    return make_run(folder / "run", hosts, load_profile(folder / "p.yaml"))


@pytest.mark.parametrize("full", LAYOUTS)
def test_a_waiver_says_in_words_what_it_covers_or_would_have_covered(waived, full):
    view = build_view(waived)
    assert sorted((x["state"], x["matched"]) for x in view.waivers) == [
        ("active", ("LOG-0040@db-2",)), ("expired", ("LOG-0040@db-1",))]
    # When the report is rendered
    text = _visible_text(render_html(view, "en", full=full))
    danish = _visible_text(render_html(view, "da", full=full))
    # Then no waiver speaks the tool's notation, and each says what it covers (or, expired, would have covered)
    assert "@db-" not in text and "@db-" not in danish
    assert "covers LOG-0040 on db-2" in text and "would have covered LOG-0040 on db-1" in text
    assert "covers LOG-0040 on db-1" not in text.replace("would have covered LOG-0040 on db-1", "")
    assert "dækker LOG-0040 på db-2" in danish and "ville have dækket LOG-0040 på db-1" in danish


def test_a_requirement_no_target_meets_says_how_many_were_judged(sample_run):
    # Given the sample, where no target of the four judged meets R9, though most of its checks pass (60 %)
    view = build_view(sample_run)
    r9 = next(s for s in view.sections if s.id == "R9")
    assert r9.status.value == "fail" and r9.judged == 4 and r9.score.percent == 60
    r2 = next(s for s in view.sections if s.id == "R2")
    assert r2.status.value == "fail" and r2.judged == 1
    for lang, count, one_judged in (("en", "none of 4 targets meets it", "none of 1 target"),
                                    ("da", "ingen af 4 enheder opfylder det", "ingen af 1 ")):
        for full in LAYOUTS:
            # When the report is rendered
            text = _visible_text(render_html(view, lang, full=full))
            summary = text[:text.index("Legend" if lang == "en" else "Forklaring")]
            # Then the summary and R9's heading give the count beside "not met", as they do beside "partly met"
            assert re.search(r"R9 .{0,120}?" + re.escape(count), summary), (lang, full)
            assert re.search(re.escape(count) + r" · Score 60", text), (lang, full)  # R9's heading
            # but not for a requirement only one target was judged on (R2): "not met" says it all
            assert one_judged not in text, (lang, full)
        # and the rule that explains the score (passing checks ÷ applicable) stays in the summary
        pdf = _visible_text(render_html(view, lang, full=False))
        summary = pdf[pdf.index("R9 "):pdf.index("Most serious deviations" if lang == "en" else "De alvorligste")]
        assert ("Score = passing ÷ applicable" if lang == "en" else "Score = beståede ÷ relevante") in summary


def test_the_result_column_counts_targets_not_findings(sample_run):
    # Given the sample of six targets, where DISK-0040 (backups encrypted) passed on both drives of laptop-017, on
    # each Mac, and was skipped on the three Linux targets: seven results on six targets
    view = build_view(sample_run)
    assert len(view.targets) == 6
    (disk,) = [c for s in view.sections for c in s.results if c.check_id == "DISK-0040" and c.home == s.id]
    assert len(disk.rows) == 7 and len({r.target for r in disk.rows}) == 6
    for lang, counts in (("en", "3 passed 3 skipped"), ("da", "3 bestået 3 sprunget over")):
        for full in LAYOUTS:
            # When the report is rendered
            text = _visible_text(render_html(view, lang, full=full))
            # Then its result counts the six targets, as the column's table ("across targets") says
            shown = re.search(r"DISK-0040 · \w+ (.*?) (?:✓|passed on|bestået på)", text)
            assert shown and shown.group(1) == counts, (lang, full, shown and shown.group(1))


def test_an_evidence_reference_says_how_many_more_files_in_words(sample_run):
    view = build_view(sample_run)
    for lang, words in (("en", r"and \d+ more files?"), ("da", r"og \d+ fil(er)? mere")):
        for full in LAYOUTS:
            # When the report is rendered
            text = _visible_text(render_html(view, lang, full=full))
            # Then no evidence reference ends in "+N", and those with more files say so in words
            assert not re.search(r"\b[0-9a-f]{8} \+\d", text), (lang, full)
            assert re.search(r"\b[0-9a-f]{8} " + words, text), (lang, full)
