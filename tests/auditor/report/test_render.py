"""The evidence report: structure, safety against hostile scanned content, languages, machine formats."""

from __future__ import annotations

import csv
import html.parser
import http.server
import io
import json
import re
import shutil
import subprocess
import threading
import typing
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest

from auditor.errors import ConnectError
from auditor.profile import load_profile
from auditor.report.render import render_reports
from auditor.report.to_html import render_html
from auditor.report.view import ReqStatus, build_view
from tests.conftest import FIXTURES, run_cli
from tests.report_factory import linux_host, make_run

PROFILE_YAML = """\
extends: default
controller: {name: Region Example, contact: dpo@example.dk}
processor: {name: Example ApS, cvr: "12345678"}
agreement: {reference: DPA 2026-014, annex: Appendix C.2}
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fleet")
    (folder / "p.yaml").write_text(PROFILE_YAML)
    hosts = {"web-01": linux_host("web-01"), "db-1": linux_host("db-1", synced=False)}
    return make_run(folder / "run", hosts, load_profile(folder / "p.yaml"))


class Recorder(http.server.BaseHTTPRequestHandler):
    requests: typing.ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Recorder.requests.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"GIF89a")

    def log_message(self, *args: object) -> None:
        """Silence."""


def test_view_aggregates_requirements(fleet):
    view = build_view(fleet)
    r12 = next(s for s in view.sections if s.id == "R12")
    assert r12.status is ReqStatus.PARTIAL  # LOG-0040 fails on db-1, everything else passes
    assert next(s for s in view.sections if s.id == "R10").status is ReqStatus.NOT_TESTED
    assert [r.check_id for r in view.deviations] == ["LOG-0040"]
    assert r12.evidence_count >= 4 and view.manifest_sha256


def test_pdf_reads_back_with_the_key_facts(fleet, tmp_path):
    (pdf,) = render_reports(fleet, ["pdf"], "en", tmp_path)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    text = " ".join(text.split())  # lines wrap wherever the layout put them
    for fact in ("Security measures evidence report", "Example ApS", "Region Example", "DPA 2026-014",
                 "20261126T120000Z-test", "not an auditor's assurance report", "Most serious deviations",
                 "LOG-0040", "All activities related to the processing of personal data are logged."):
        assert fact in text, fact
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 2000


def test_rendering_is_a_pure_function_of_the_run_folder(fleet, tmp_path):
    first = render_reports(fleet, ["html", "pdf"], "en", tmp_path / "a")
    second = render_reports(fleet, ["html", "pdf"], "en", tmp_path / "b")
    assert first[0].read_bytes() == second[0].read_bytes()
    texts = [subprocess.run(["pdftotext", str(p), "-"], capture_output=True, check=True).stdout
             for p in (first[1], second[1])]
    assert texts[0] == texts[1]


def test_hostile_content_is_text_nothing_is_fetched_or_attached(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    hostile = (f'<script>alert(1)</script><img src="http://127.0.0.1:{port}/img.gif">'
               f'<a rel="attachment" href="file:///etc/passwd">x</a><link rel="stylesheet" '
               f'href="http://127.0.0.1:{port}/x.css">')
    run = make_run(tmp_path / "run", {"evil": linux_host("evil", timedatectl_stderr=hostile + "\n")})
    try:
        html_path, pdf_path = render_reports(run, ["html", "pdf"], "en", tmp_path / "out")
    finally:
        server.shutdown()
        server.server_close()
    html = html_path.read_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f'<img src="http://127.0.0.1:{port}' not in html
    assert Recorder.requests == []
    attachments = subprocess.run(["pdfdetach", "-list", str(pdf_path)], capture_output=True, text=True, check=True)
    assert attachments.stdout.strip() == "0 embedded files"
    text = subprocess.run(["pdftotext", str(pdf_path), "-"], capture_output=True, text=True, check=True).stdout
    assert "<script>alert(1)</script>" in text.replace("\n", "")  # shown as text, verbatim


def test_danish_labels_dates_and_numbers(fleet):
    html = render_html(build_view(fleet), "da")
    assert 'lang="da"' in html and "Evidensrapport for sikkerhedsforanstaltninger" in html
    assert "26. november 2026 kl. 13:00 CET (12:00 UTC)" in html or "26. november 2026 kl." in html
    assert "Afvigelser og udbedringsplan" in html and "delvist" in html


def test_csv_is_excel_safe(tmp_path):
    run = make_run(tmp_path / "run", {"web-01": linux_host("web-01", timedatectl_stderr="=HYPERLINK(\"x\")\n")})
    (path,) = render_reports(run, ["csv"], "en", tmp_path / "out")
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["run", "target", "check_id"]
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell


def test_sarif_is_valid_and_has_a_rule_per_check(fleet, tmp_path):
    (path,) = render_reports(fleet, ["sarif"], "en", tmp_path)
    sarif = json.loads(path.read_text())
    schema = json.loads((FIXTURES / "sarif-2.1.0-subset.schema.json").read_text())
    jsonschema.validate(sarif, schema)
    run = sarif["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {"LOG-0020", "LOG-0040"}
    kinds = {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["name"]): r["kind"] for r in run["results"]}
    assert kinds[("LOG-0040", "db-1")] == "fail" and kinds[("LOG-0040", "web-01")] == "pass"


def test_junit_has_a_testcase_per_check_and_target(fleet, tmp_path):
    (path,) = render_reports(fleet, ["junit"], "en", tmp_path)
    root = ElementTree.parse(path).getroot()
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert set(cases) == {("LOG-0020", "web-01"), ("LOG-0020", "db-1"), ("LOG-0040", "web-01"), ("LOG-0040", "db-1")}
    assert cases[("LOG-0040", "db-1")].find("failure") is not None
    assert cases[("LOG-0040", "web-01")].find("failure") is None


def test_markdown_escapes_and_summarises(tmp_path):
    run = make_run(tmp_path / "run", {"web-01": linux_host("web-01", timedatectl_stderr="| [x](http://e) <b>\n")})
    (path,) = render_reports(run, ["md"], "en", tmp_path / "out")
    text = path.read_text()
    assert "| R12 |" in text and "\\| \\[x\\](http://e) \\<b\\>" in text


def test_report_command(fleet, tmp_path):
    result = run_cli("report", str(fleet), "--format", "html,json", "--lang", "da", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "report.da.html").is_file()
    summary = json.loads((tmp_path / "report.json").read_text())
    assert {r["id"]: r["status"] for r in summary["requirements"]}["R12"] == "partial"
    bad = run_cli("report", str(fleet), "--format", "pdf,docx")
    assert bad.returncode == 2 and "unknown report format docx" in bad.stderr


def test_the_summary_draws_the_trend_of_earlier_runs_of_the_same_targets(tmp_path):
    from datetime import timedelta

    from tests.report_factory import SCANNED_AT

    # Given three runs of the same two targets recorded in a history, the first with db-1's clock not synced
    db = tmp_path / "history.sqlite"
    make_run(tmp_path / "a", {"web-01": linux_host("web-01"), "db-1": linux_host("db-1", synced=False)},
             at=SCANNED_AT - timedelta(days=14), history=db)
    make_run(tmp_path / "b", {"web-01": linux_host("web-01"), "db-1": linux_host("db-1")},
             at=SCANNED_AT - timedelta(days=7), history=db)
    run = make_run(tmp_path / "c", {"web-01": linux_host("web-01"), "db-1": linux_host("db-1")}, history=db)
    # When the last run's report is rendered
    view = build_view(run)
    html = render_html(view, "en", full=False)
    # Then the trend holds the two earlier scores and this one, oldest first, and the chart names them
    assert [p.score.percent for p in view.trend] == [75, 100, 100]
    assert "Score of the last 3 runs of the same targets" in html
    assert 'aria-label="2026-11-12: 75 %, 2026-11-19: 100 %, 2026-11-26: 100 %"' in html


def test_a_requirement_whose_checks_lack_their_kind_of_target_says_what_to_add(tmp_path):
    # Given a run of SSH hosts in which a TLS check was selected too (it runs on TLS endpoints only)
    run = make_run(tmp_path / "run", {"web-01": linux_host("web-01")}, checks=frozenset({"LOG-0040", "TLS-0010"}))
    # When the report is rendered
    view = build_view(run)
    r2 = next(s for s in view.sections if s.id == "R2")
    html = render_html(view, "en", full=False)
    # Then R2 is not tested, and the summary names its checks and the kind of target to add
    assert r2.status is ReqStatus.NOT_TESTED and r2.reason is not None and r2.reason.kinds == ("tls",)
    assert "Its checks (TLS-0010) run on TLS endpoint targets, and the inventory has none" in html


def test_a_finding_whose_message_starts_with_its_resource_names_the_resource_once(tmp_path):
    # Given a recorded run whose SSH findings say "port 22: ..." with the resource "port 22", and one finding whose
    # resource is only the start of a longer word of its message ("port 22" before "port 2222: ...")
    run = tmp_path / "run"
    shutil.copytree(FIXTURES / "hosts" / "debian12-server", run)
    document = json.loads((run / "results.json").read_text())
    ssh = [f for f in document["findings"] if f["check_id"] == "SSH-0030"]
    assert ssh and all(f["message"].startswith("port 22: ") and f["resource"] == "port 22" for f in ssh)
    ssh[0].update(message="port 2222: PermitRootLogin is yes.", status="fail")
    document["findings"] += [{**ssh[0], "message": "port 22: PermitRootLogin is prohibit-password.",
                              "status": "fail"}]
    (run / "results.json").write_text(json.dumps(document))
    view = build_view(run)
    for full in (False, True):
        # When the report is rendered (the PDF's layout and the HTML's)
        text = _visible_text(render_html(view, "en", full=full)).replace(" :", ":")
        # Then the port is said once where the message says it, and kept where the message names another one
        # (the one target's name is on the PDF's cover, not on each of its rows; the HTML's table has it apart)
        assert "failed port 22: PermitRootLogin is prohibit-password" in text
        assert "port 22: port 22:" not in text and "port 22 port 22:" not in text
        assert "port 22: port 2222: PermitRootLogin is yes" in text.replace("port 22 port 2222", "port 22: port 2222")


def test_no_percentage_can_be_broken_from_its_number_at_the_end_of_a_line(fleet):
    # Given the report of a run with requirement scores (in headings, the summary's table and its big number)
    for lang in ("en", "da"):
        text = _visible_text(render_html(build_view(fleet), lang, full=False), collapse=False)
        # Then every "%" follows its number or a no-break space, never a space a line may break at
        assert re.findall(r"\d\u202f%", text) and not re.findall(r"\d\s%", text.replace("\u202f", "")), lang


def _visible_text(document: str, collapse: bool = True) -> str:
    """The document's text, scripts and styles left out; its whitespace collapsed unless `collapse` is false."""
    class Text(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag: str, attrs: object) -> None:
            self.skip += tag in ("script", "style")

        def handle_endtag(self, tag: str) -> None:
            self.skip -= tag in ("script", "style")

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.parts.append(data)

    parser = Text()
    parser.feed(document)
    return " ".join(" ".join(parser.parts).split()) if collapse else "".join(parser.parts)


def test_a_deviation_counts_its_failed_and_its_warned_targets_apart(sample_run):
    # Given the sample fleet, where some checks failed on some targets and only warned on others
    view = build_view(sample_run)
    mixed = [g for g in view.deviation_groups if len(g.by_status) == 2]
    assert mixed, "the sample has a check that failed on some targets and warned on others"
    group = mixed[0]
    (_, failed), (_, warned) = group.by_status
    assert not set(failed) & set(warned) and set(failed) | set(warned) == set(group.targets)
    for full in (False, True):
        # When the report is rendered
        text = _visible_text(render_html(view, "en", full=full))
        # Then the plan (and the summary's most serious deviations) say how many failed and how many warned
        assert f"{len(failed)} failed, {len(warned)} with a warning" in text
        assert f"{group.check_id} · {', '.join(group.requirements)} · {len(group.targets)} targets" not in text
        # and a count of warnings is in the plural
        counted = re.findall(r'<span class="n s-warn"[^>]*>([^<]*)</span>', render_html(view, "en", full=full))
        assert counted and all(re.fullmatch(r"1 warning|([02-9]|\d\d+) warnings", c) for c in counted), counted


def test_the_summary_says_which_targets_were_not_assessed(tmp_path):
    # Given a run of three targets, two of which could not be reached, and the third passes what was checked
    run = make_run(tmp_path / "run", {"web-01": linux_host("web-01"),
                                      **{name: ConnectError(name, "connection refused by 127.0.0.1:22299")
                                         for name in ("db-1", "db-2")}})
    view = build_view(run)
    assert sorted((t.name, t.assessed) for t in view.targets) == [("db-1", False), ("db-2", False), ("web-01", True)]
    for full in (False, True):
        # When the report is rendered
        text = _visible_text(render_html(view, "en", full=full))
        # Then the summary says so before any verdict, naming them
        warning = text.index("2 of 3 targets could not be assessed (db-1, db-2)")
        assert text.index("Compliance score") < warning < text.index("Requirement Verdict Score")


def test_a_shortened_message_ends_at_a_whole_word(tmp_path):
    # Given one target whose failure message is long (a tool's long error quoted in it)
    noise = " ".join(f"/etc/postgresql/15/main/pg_hba.conf:{n}" for n in range(40))
    run = make_run(tmp_path / "run", {"web-01": linux_host("web-01", timedatectl_stderr=noise)})
    view = build_view(run)
    (group,) = [g for g in view.top_deviations if g.check_id == "LOG-0040"]
    message = group.rows[0].message
    assert len(message) > 220  # longer than the summary shows
    # When the summary shows it among the most serious deviations
    text = _visible_text(render_html(view, "en", full=False))
    shown = re.search(re.escape(message[:40]) + r"[^…]*…", text)
    # Then it is cut after a whole word, never inside one (a path cut at "/etc/post…" reads as another path)
    assert shown, "the summary shows the message's start"
    kept = shown.group(0)[:-1]
    assert message.startswith(kept) and message[len(kept)] == " ", kept[-30:]


def test_r11_is_judged_on_the_home_workstations_alone(sample_run):
    # Given the sample fleet: three home workstations and three servers in a data centre
    view = build_view(sample_run)
    homes = {t.name for t in view.targets if t.role == "workstation" and t.location == "home"}
    assert len(homes) == 3 and len(view.targets) == 6
    r11 = next(s for s in view.sections if s.id == "R11")
    # Then R11's verdict counts the home workstations only, and its rows are theirs
    assert r11.judged == len(homes) and {r.target for r in r11.rows} <= homes
    assert r11.status is ReqStatus.FAIL  # each home workstation fails one of its checks
    # and a server's own verdict on R11 is "not applicable", not "met"
    index = [s.id for s in view.sections].index("R11")
    assert {t.name: t.verdicts[index] for t in view.targets if t.name not in homes} == \
        dict.fromkeys({t.name for t in view.targets} - homes, "not_applicable")


def test_r11_without_a_home_workstation_says_it_was_not_tested_and_why(fleet):
    # Given a run of two servers in a data centre
    view = build_view(fleet)
    r11 = next(s for s in view.sections if s.id == "R11")
    # Then R11 is not tested, and the summary says of which targets it speaks
    assert r11.status is ReqStatus.NOT_TESTED and r11.reason is not None and r11.reason.kind == "out_of_scope"
    text = _visible_text(render_html(view, "en", full=False))
    assert "It concerns only targets with role workstation, location home, and this run has none." in text


def test_a_requirement_every_check_found_not_to_apply_says_why():
    # Given a recorded server under the default profile, which names no folders to search for personal data
    view = build_view(FIXTURES / "hosts" / "debian12-server")
    r3 = next(s for s in view.sections if s.id == "R3")
    assert r3.status is ReqStatus.NOT_APPLICABLE
    # Then the summary gives the reasons, as it does for a requirement not tested
    text = _visible_text(render_html(view, "en", full=False))
    assert re.search(r"R3 Pseudonymisation as the controller requires Every check decided it does not apply: "
                     r"[^;]*\(pii_(paths|bulk_threshold)", text), text[text.find("R3 Pseudo"):][:300]


def test_each_target_of_an_attested_requirement_reads_attested(sample_run):
    # Given the sample, whose profile attests R10 (key locks) for the organisation
    view = build_view(sample_run)
    index, r10 = next((i, s) for i, s in enumerate(view.sections) if s.id == "R10")
    assert r10.status is ReqStatus.ATTESTED
    # Then no target reads "not tested" for it in the HTML's targets section
    assert {t.verdicts[index] for t in view.targets} == {"attested"}


def test_a_target_that_failed_a_check_on_one_resource_and_passed_on_another_names_what_passed(tmp_path):
    # Given the recorded Windows laptop, whose C: passes DISK-0020 and whose D: fails it
    run = tmp_path / "run"
    shutil.copytree(FIXTURES / "hosts" / "win11-laptop-home", run)
    view = build_view(run)
    for full in (False, True):
        # When the report is rendered
        text = _visible_text(render_html(view, "en", full=full))
        # Then the line of what passed says it was C:, not the whole laptop that the line above says failed
        assert "passed on laptop-017 (C:)" in text, full


ATTESTED_PROFILE_YAML = PROFILE_YAML + """\
attestations:
  - requirement: R10
    statement: All office doors have key locks.
    attestor: {name: Mette Jensen, role: Facility manager}
    date: 2025-10-01
    next_review: 2026-01-01
  - check: LOG-0040
    statement: The clocks of the servers are kept by the hosting provider's NTP service.
    attestor: {name: Lars Holm, role: CISO}
    date: 2026-10-01
    next_review: 2027-10-01
"""


def test_a_stale_attestation_says_why_and_what_to_do_and_a_check_s_attestation_is_shown(tmp_path):
    # Given a run (26 November 2026) whose profile attests R10 with a review due 1 January 2026, and attests one
    # check (LOG-0040) rather than a requirement
    (tmp_path / "p.yaml").write_text(ATTESTED_PROFILE_YAML)
    run = make_run(tmp_path / "run", {"web-01": linux_host("web-01")}, load_profile(tmp_path / "p.yaml"))
    view = build_view(run)
    pdf_layout = _visible_text(render_html(view, "en", full=False))
    summary = pdf_layout[pdf_layout.index("Compliance score"):pdf_layout.index("Legend")]
    # Then the summary says why R10 is not met: the attestation is past its review date
    assert "not met" in summary and "Attestation is stale: its review was due 2026-01-01" in summary
    for full in (False, True):
        text = _visible_text(render_html(view, "en", full=full))
        # and the deviation, which concerns the organisation and no target, counts no target and says what is wrong
        plan = text[text.index("Deviations and remediation plan"):]
        assert "ATTEST-R10 · R10 · 1 target" not in text and "ATTEST-R10 · R10 ·" not in plan
        assert "its review was due 2026-01-01" in plan
        # and the attestation of LOG-0040 is shown with the requirement LOG-0040 evidences (R12)
        r12 = text[text.index("R12 All activities"):]
        assert "The clocks of the servers are kept by the hosting provider's NTP service." in r12, full


def test_the_cover_names_the_targets_and_a_one_target_pdf_does_not_repeat_its_name_on_every_row(fleet):
    # Given a recorded one-host run (db-1), and a run of two targets
    one = build_view(FIXTURES / "hosts" / "debian12-server")
    for lang in ("en", "da"):
        # When the PDF's layout of each is rendered
        single = _visible_text(render_html(one, lang, full=False))
        two = _visible_text(render_html(build_view(fleet), lang, full=False))
        # Then the cover names the one target and its system, or how many targets and which
        targets = "Targets" if lang == "en" else "Enheder"
        assert f"{targets} db-1 · Debian GNU/Linux 12 (bookworm)" in single, single[:800]
        assert f"{targets} 2: " in two and "db-1" in two.split("Scanner")[0]  # the cover, before its next row
        # And the one target's findings and most serious deviations do not name it again: only the inventory does
        # (the run's id, which ends in the host's name here, aside)
        assert single.replace(one.run["id"], "").count("db-1") == 2
        assert two.count("db-1") > 5


def test_a_one_target_deviation_names_the_resource_or_the_resources_that_failed(tmp_path):
    # Given a one-host run whose PostgreSQL TLS check failed on one cluster, then on two
    run = tmp_path / "run"
    shutil.copytree(FIXTURES / "hosts" / "debian12-container", run)
    view = build_view(run)
    top = _visible_text(render_html(view, "en", full=False)).split("Most serious deviations")[1]
    # Then the deviation's line says which cluster, before what is wrong with it
    assert "DB-0110 · R1, R2, R8 PostgreSQL 15 /var/lib/postgresql/15/main: TLS is off" in top, top[:600]
    document = json.loads((run / "results.json").read_text())
    [first] = [f for f in document["findings"] if f["check_id"] == "DB-0110"]
    document["findings"].append({**first, "resource": "PostgreSQL 16 /srv/pg16"})
    (run / "results.json").write_text(json.dumps(document))
    top = _visible_text(render_html(build_view(run), "en", full=False)).split("Most serious deviations")[1]
    # And with two, both are named (their sentences are in the requirement's section)
    assert "DB-0110 · R1, R2, R8 PostgreSQL 15 /var/lib/postgresql/15/main, PostgreSQL 16 /srv/pg16" in top, top[:600]
