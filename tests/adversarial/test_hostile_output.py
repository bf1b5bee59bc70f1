"""A target that answers with floods and garbage, and what the tool makes of it: every finding stays within its
caps (auditor/caps.py) and tells where the full answer is, every report format renders in bounded time and size,
the terminal summary stays short, and JUnit, SARIF, CSV, Markdown, HTML and PDF hold no character their readers
refuse (auditor/visible.py), each read back by a real parser.

The hosts are FakeHosts answering the auditd collector's commands; LOG-0010 quotes `systemctl is-active auditd`
in its sentence. The NAIVE checks below are what a careless third-party pack does: quote whatever the host said.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import random
import re
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest
from rich.console import Console

from auditor.bundle.evidence import EvidenceStore
from auditor.bundle.results import write_results
from auditor.caps import DEFAULT_CAPS, ERROR_CHARS, FINDINGS, ITEMS, KEY_CHARS, MESSAGE_CHARS, VALUES_CHARS, Caps
from auditor.clock import FixedClock
from auditor.collectors import COLLECTORS
from auditor.collectors.auditd import IS_ACTIVE, RULES, STATUS
from auditor.collectors.system import UNAME, USER_ID
from auditor.console import PlainConsole, print_summary
from auditor.errors import ConnectError
from auditor.files import dump_json, write_atomic
from auditor.models import Location, Platform, Role, ScanResult, Severity, Status, Target, TargetKind, Verdict
from auditor.pipeline import load_checks
from auditor.plan import Selection
from auditor.plugin import check
from auditor.profile import load_profile
from auditor.registry import build_spec
from auditor.report.render import FORMATS, render_reports
from auditor.runner import ScanOptions, run_scan
from auditor.transports.base import CommandResult
from tests.auditor.fake_host import FakeHost

FLOOD = 8 * 1024 * 1024  # the most one fact may hold (transports/base.py MAX_FACT_BYTES)
SCANNED_AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PROFILE = load_profile()
OUTPUT = pytest.mark.attack("hostile output")
MACHINE = pytest.mark.attack("machine outputs")
# What a hostile host puts in its answers: ESC sequences (window title, colours), NUL, DEL, a C1 CSI, U+FFFF;
# and a file name with a form feed and a vertical tab in Latin-1, which decodes to a lone surrogate (os.fsdecode).
HOSTILE = "x\x1b]0;pwned\x07\x1b[31mred\x00nul\x7fdel\x9bcsi\uffffnon"
LATIN1_FILE = b"/srv/caf\xe9\x0cff\x0bvt"
ESCAPES = (r"\x1b]0;pwned\x07\x1b[31mred", r"\x00nul", r"\x7fdel", r"\x9bcsi", r"\uffffnon", r"caf\udce9\x0cff\x0bvt")
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


@check(id="NAIVE-0010", title="Quotes everything the audit daemon said", severity=Severity.LOW,
       requirements=("R12",), platforms=(Platform.LINUX,), remediation="Fix.")
def quotes_everything(auditd):
    rules = [rule.text for rule in auditd.rules]
    return Verdict.failed(f"auditd is {auditd.service}; its rules: {'; '.join(rules)}",
                          observed={"service": auditd.service, "rules": rules,
                                    "by_rule": {rule.text: rule.perms for rule in auditd.rules}})


@check(id="NAIVE-0020", title="Nests the rules", severity=Severity.LOW, requirements=("R12",),
       platforms=(Platform.LINUX,), remediation="Fix.")
def nests_the_rules(auditd):
    nested: list = []
    for rule in auditd.rules:
        nested = [rule.key, nested]
    return Verdict.failed("The rules, nested.", observed={"nested": nested})


@check(id="NAIVE-0030", title="Raises with the host's answer", severity=Severity.LOW, requirements=("R12",),
       platforms=(Platform.LINUX,), remediation="Fix.")
def raises(auditd):
    raise ValueError(f"unexpected state {auditd.service}")


@check(id="NAIVE-0040", title="Names a Latin-1 file", severity=Severity.LOW, requirements=("R12",),
       platforms=(Platform.LINUX,), remediation="Fix.")
def names_a_latin1_file(auditd):
    path = os.fsdecode(LATIN1_FILE)  # as the file system hands it over
    return Verdict.failed(f"{path} is watched by a daemon that says {auditd.service}", resource=path,
                          observed={"path": path, "service": auditd.service})


@check(id="NAIVE-0050", title="Judges each rule", severity=Severity.LOW, requirements=("R12",),
       platforms=(Platform.LINUX,), remediation="Fix.")
def judges_each_rule(auditd):
    return [Verdict.failed("Not a watch.", resource=rule.text) if rule.kind != "watch"
            else Verdict.passed("A watch.", resource=rule.text) for rule in auditd.rules]


NAIVE = {spec.id: spec for spec in (build_spec(f, "naive", COLLECTORS, PROFILE.parameters,
                                               [r.id for r in PROFILE.requirements])
                                    for f in (quotes_everything, nests_the_rules, raises, names_a_latin1_file,
                                              judges_each_rule))}


def _host(name: str, *, service: str = "active\n", status: str = "enabled 1\npid 0\n",
          rules: str = "-w /etc/passwd -p wa -k identity\n") -> FakeHost:
    """A Debian server whose audit daemon's three answers are the attacker's."""
    def answer(command, out):
        return CommandResult(str(command), 0, out)

    host = FakeHost({str(UNAME): answer(UNAME, f"Linux {name} 6.1.0 x86_64\n"), str(USER_ID): answer(USER_ID, "0\n"),
                     str(IS_ACTIVE): answer(IS_ACTIVE, service), str(STATUS): answer(STATUS, status),
                     str(RULES): answer(RULES, rules)},
                    {"/etc/os-release": b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'})
    host.target = name
    return host


def _scan(run_dir: Path, host: FakeHost | Exception, checks: tuple[str, ...] = ("LOG-0010",),
          caps: Caps = DEFAULT_CAPS) -> ScanResult:
    """Scan one target with the real runner and write its run folder as `auditor scan` does."""
    run_dir.mkdir(parents=True, exist_ok=True)
    store = EvidenceStore(run_dir)

    def open_target(target, _login):
        if isinstance(host, Exception):
            raise host
        return host

    result = run_scan("20261126T120000Z-hostile", [Target("web-1", TargetKind.SSH, Role.SERVER, Location.DATACENTER)],
                      {**load_checks(PROFILE), **NAIVE}, PROFILE, store,
                      ScanOptions(Selection(only=frozenset(checks)), caps=caps), open_target=open_target,
                      clock=FixedClock(SCANNED_AT))
    store.write_manifest()
    write_results(result, run_dir)
    write_atomic(run_dir / "profile.json", dump_json(PROFILE.document()))
    return result


def _bounded(result: ScanResult) -> None:
    """Every finding within the default caps."""
    for finding in result.findings():
        assert len(finding.message) <= MESSAGE_CHARS and len(finding.error) <= ERROR_CHARS
        for values in (finding.observed, finding.expected):
            assert len(json.dumps(values, ensure_ascii=False)) <= VALUES_CHARS + 2 * DEFAULT_CAPS.text


def _render(run_dir: Path, formats=tuple(FORMATS)) -> dict[str, Path]:
    return dict(zip(formats, render_reports(run_dir, formats), strict=True))


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True, timeout=60).stdout


@pytest.fixture(scope="module")
def flooded(tmp_path_factory) -> tuple[ScanResult, Path]:
    """A run of a host that answers `systemctl is-active auditd` with 8 MiB in one line, no newline."""
    run_dir = tmp_path_factory.mktemp("flood") / "run"
    return _scan(run_dir, _host("web-1", service="A" * FLOOD)), run_dir


@OUTPUT
def test_an_8_mib_answer_gives_a_bounded_finding_that_tells_the_story_and_keeps_the_full_text(flooded):
    # Given a host answering `systemctl is-active auditd.service` with 8 MiB in a single line
    result, run_dir = flooded
    # When LOG-0010 quotes it
    (finding,) = result.findings()
    # Then the sentence fits its cap, keeps its start and end, and says what was cut
    assert finding.status is Status.FAIL and len(finding.message) <= MESSAGE_CHARS
    assert finding.message.startswith("The kernel audit trail is incomplete: no audit daemon receives the events")
    assert "[8.0 MiB in all, cut here; full text in evidence " in finding.message
    # And the observed value is a summary naming the evidence file that holds the answer
    (fact,) = [ref for ref in finding.evidence if ref.source == str(IS_ACTIVE)]
    told = finding.observed["auditd_service"]
    assert told.startswith("[8.0 MiB of output in 1 line; first lines: " + "A" * 160 + "…; full text in evidence ")
    assert f"{fact.path} (sha256 {fact.sha256[:12]})" in told
    # And the evidence still holds all 8 MiB, while results.json stays small
    assert json.loads((run_dir / fact.path).read_text())["stdout"] == "A" * FLOOD
    assert (run_dir / "results.json").stat().st_size < 100_000


@OUTPUT
def test_every_format_of_the_flooded_run_renders_bounded_in_size_and_time(flooded):
    # Given the flooded run, When every format is rendered (the PDF through WeasyPrint)
    _result, run_dir = flooded
    started = time.monotonic()
    written = _render(run_dir)
    took = time.monotonic() - started
    # Then all are written within a generous bound (an uncapped run's PDF never finished), each small
    assert took < 120, f"rendering took {took:.0f} s"
    assert written["html"].stat().st_size < 2_000_000
    assert all(path.stat().st_size < 1_000_000 for fmt, path in written.items() if fmt != "html"), \
        {fmt: path.stat().st_size for fmt, path in written.items()}
    # And the PDF reads back with the summary's story in it
    assert "8.0 MiB in all, cut here" in " ".join(_pdf_text(written["pdf"]).split())


def _summaries(result: ScanResult, run_dir: str) -> list[str]:
    """The end-of-scan summary as a pipe gets it (PlainConsole) and as rich draws it on a terminal."""
    pipe, terminal = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(pipe):
        print_summary(PlainConsole(), result, run_dir)
    print_summary(Console(file=terminal, width=160, highlight=False), result, run_dir)
    return [pipe.getvalue(), terminal.getvalue()]


@OUTPUT
def test_the_terminal_summary_of_the_flooded_run_stays_short(flooded):
    # Given the flooded run, When the end-of-scan summary is printed to a pipe
    result, run_dir = flooded
    for printed in _summaries(result, str(run_dir)):
        # Then it is a few kilobytes, not megabytes, and names the cut
        assert len(printed) < 10_000 and "8.0 MiB in all" in printed


@OUTPUT
def test_two_hundred_thousand_lines_are_cut_to_item_caps_in_every_finding(tmp_path):
    # Given a host listing 200,000 audit rules, each quoted by a naive check in its sentence and observed values
    rules = "".join(f"-w /srv/data/{i} -p wa -k pii{i}\n" for i in range(200_000))
    result = _scan(tmp_path / "run", _host("web-1", status="enabled 1\npid 42\n", rules=rules),
                   ("LOG-0010", "NAIVE-0010"))
    # When the findings are made, Then each stays within its caps
    _bounded(result)
    naive = next(f for f in result.findings() if f.check_id == "NAIVE-0010")
    kept = naive.observed["rules"]
    assert len(kept) <= ITEMS + 1 and "more items; full data in evidence" in kept[-1]
    assert "…" in naive.observed["by_rule"]  # the mapping of 200,000 keys is counted after its first entries
    # And the HTML stays small
    assert _render(tmp_path / "run", ("html",))["html"].stat().st_size < 2_000_000


@OUTPUT
def test_twenty_thousand_resources_give_the_first_findings_and_a_count_per_status(tmp_path):
    # Given 20,000 rules, each judged by a check (every seventh is not a watch, and fails)
    rules = "".join(f"-a always,exit -F path=/srv/{i}\n" if i % 7 == 0 else f"-w /srv/{i} -p wa\n"
                    for i in range(20_000))
    result = _scan(tmp_path / "run", _host("web-1", rules=rules), ("NAIVE-0050",))
    # When the findings are made, Then the first FINDINGS are kept, and one more per status counts the rest
    findings = result.findings()
    kept, counted = findings[:FINDINGS], findings[FINDINGS:]
    assert [f.resource for f in kept[:2]] == ["-a always,exit -F path=/srv/0", "-w /srv/1 -p wa"]
    fails_left = sum(1 for i in range(FINDINGS, 20_000) if i % 7 == 0)
    assert sorted((f.status, f.message.split(" more")[0]) for f in counted) == [
        (Status.FAIL, f"{fails_left:,}"), (Status.PASS, f"{20_000 - FINDINGS - fails_left:,}")]
    assert "results of this check on this target are left out after its first 500" in counted[0].message
    # And the report of it stays small
    assert _render(tmp_path / "run", ("html",))["html"].stat().st_size < 2_000_000


@OUTPUT
def test_binary_garbage_is_bounded_and_written_as_visible_escapes(tmp_path):
    # Given a host answering with 1 MiB of random bytes in one line, decoded as a transport decodes them
    garbage = "".join(random.Random(21).randbytes(1024 * 1024).decode("utf-8", errors="replace").splitlines())
    result = _scan(tmp_path / "run", _host("web-1", service=garbage), ("NAIVE-0010",))
    # When quoted, Then the finding is bounded and holds no raw control character
    _bounded(result)
    (finding,) = result.findings()
    assert not _FORBIDDEN.search(finding.message + json.dumps(finding.observed, ensure_ascii=False))
    assert "of output in" in finding.observed["service"]


@OUTPUT
def test_nesting_five_thousand_deep_is_cut_where_json_would_overflow_its_stack(tmp_path):
    # Given 5,000 rules a naive check nests one inside the other (json.dumps raises RecursionError near 1,000)
    rules = "".join(f"-w /srv/{i} -p wa -k k{i}\n" for i in range(5_000))
    result = _scan(tmp_path / "run", _host("web-1", rules=rules), ("NAIVE-0020",))
    # When the run is written, Then the value was cut at the depth cap and the results file is small
    (finding,) = result.findings()
    assert finding.status is Status.FAIL
    assert "nested deeper than 8 levels" in json.dumps(finding.observed)
    assert (tmp_path / "run" / "results.json").stat().st_size < 50_000


@OUTPUT
def test_a_one_mebibyte_key_is_cut_to_the_key_cap(tmp_path):
    # Given one rule line of 1 MiB, which a naive check uses as a mapping key
    result = _scan(tmp_path / "run", _host("web-1", rules="-w /" + "k" * (1024 * 1024) + " -p wa\n"),
                   ("NAIVE-0010",))
    (finding,) = result.findings()
    # Then the key is cut, and the finding bounded
    assert all(len(key) <= KEY_CHARS for key in finding.observed["by_rule"])
    _bounded(result)


@OUTPUT
def test_a_check_that_raises_with_the_flood_gives_a_bounded_error_with_its_traceback_ends(tmp_path):
    # Given a naive check that raises with the 8 MiB answer in its exception
    result = _scan(tmp_path / "run", _host("web-1", service="B" * FLOOD), ("NAIVE-0030",))
    (finding,) = result.findings()
    # Then the error finding's message and traceback are capped, keeping the traceback's start and last line
    assert finding.status is Status.ERROR
    assert len(finding.message) <= MESSAGE_CHARS and len(finding.error) <= ERROR_CHARS
    assert finding.error.startswith("Traceback") and finding.error.rstrip().endswith("BBBB")
    assert "8.0 MiB in all, cut here" in finding.error


@OUTPUT
def test_an_unreachable_target_with_an_8_mib_reason_is_bounded_on_the_terminal(tmp_path):
    # Given a target whose connection fails with an 8 MiB reason (a banner, a proxy's page)
    result = _scan(tmp_path / "run", ConnectError("web-1", "C" * FLOOD))
    # When the summary is printed
    printed = _summaries(result, str(tmp_path / "run"))
    # Then the reason is capped where it is stored and where it is shown
    assert len(result.targets[0].connection_error) <= MESSAGE_CHARS
    assert all(len(text) < 10_000 for text in printed)


@OUTPUT
def test_a_run_folder_written_without_caps_still_renders_bounded(tmp_path):
    # Given a run folder whose findings were never capped (an older scanner; caps set out of reach)
    unlimited = Caps(message=10**9, error=10**9, resource=10**9, text=10**9, values=10**9, items=10**9, depth=10**6)
    result = _scan(tmp_path / "run", _host("web-1", service="D" * FLOOD), ("LOG-0010",), caps=unlimited)
    assert len(result.findings()[0].message) > FLOOD  # the run itself holds the flood
    # When its reports are rendered, Then the report's own view caps it: every file stays small
    written = _render(tmp_path / "run", ("html", "csv", "junit", "sarif", "md", "json"))
    assert all(path.stat().st_size < 2_000_000 for path in written.values())


@OUTPUT
def test_the_caps_are_configurable_per_scan(tmp_path):
    # Given smaller caps in the scan options, When the flood is scanned, Then the finding fits them
    result = _scan(tmp_path / "run", _host("web-1", service="E" * 100_000), caps=Caps(message=400, text=100))
    (finding,) = result.findings()
    assert len(finding.message) <= 400 and finding.observed["auditd_service"].startswith("[97.7 KiB of output")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """A run whose findings quote control characters and name a Latin-1 file (a lone surrogate)."""
    run_dir = tmp_path_factory.mktemp("hostile") / "run"
    _scan(run_dir, _host("web-1", service=HOSTILE), ("LOG-0010", "NAIVE-0010", "NAIVE-0040"))
    return run_dir


def _shows_escapes(text: str) -> None:
    for escape in ESCAPES:
        assert escape in text, escape
    assert not _FORBIDDEN.search(text)


@MACHINE
def test_junit_with_hostile_characters_is_well_formed_for_expat_and_libxml2(hostile):
    # Given the hostile run, When its JUnit file is rendered
    junit = _render(hostile, ("junit",))["junit"]
    # Then ElementTree (expat) and xmllint (libxml2) both parse it
    root = ElementTree.parse(junit).getroot()
    subprocess.run(["xmllint", "--noout", str(junit)], check=True, capture_output=True, timeout=60)
    # And every hostile character is there as its visible escape
    failures = " ".join(f.get("message", "") + (f.text or "") for f in root.iter("failure"))
    _shows_escapes(failures)


@MACHINE
def test_sarif_with_hostile_characters_is_utf8_json_with_visible_escapes(hostile):
    sarif = _render(hostile, ("sarif",))["sarif"]
    document = json.loads(sarif.read_bytes().decode("utf-8"))
    texts = " ".join(r["message"]["text"] + r["properties"]["observed"] for r in document["runs"][0]["results"])
    _shows_escapes(texts)


@MACHINE
def test_csv_and_markdown_with_hostile_characters_hold_visible_escapes(hostile):
    written = _render(hostile, ("csv", "md"))
    rows = list(csv.reader(io.StringIO(written["csv"].read_bytes().decode("utf-8-sig"))))
    _shows_escapes(" ".join(cell for row in rows for cell in row))
    markdown = written["md"].read_bytes().decode("utf-8")
    _shows_escapes(re.sub(r"\\(.)", r"\1", markdown))  # as Markdown shows it: "\\x1b" is the text \x1b


@MACHINE
def test_html_and_pdf_with_hostile_characters_render_and_show_the_escapes(hostile):
    written = _render(hostile, ("html", "pdf"))
    html = written["html"].read_bytes().decode("utf-8")
    assert not _FORBIDDEN.search(html)
    assert r"\x1b]0;pwned" in html and r"\udce9" in html
    pdf = _pdf_text(written["pdf"])
    assert r"\x1b]0;pwned" in pdf and r"\x00nul" in pdf


@MACHINE
def test_a_forged_results_file_with_raw_control_characters_still_gives_well_formed_outputs(tmp_path):
    # Given a run folder whose results.json was edited to hold raw controls and lone surrogates in its texts,
    # past the runner's caps (JSON's \\u escapes can write any of them)
    run_dir = tmp_path / "run"
    _scan(run_dir, _host("web-1"), ("LOG-0010",))
    document = json.loads((run_dir / "results.json").read_text())
    for finding in document["findings"]:
        finding["message"] = HOSTILE + " " + os.fsdecode(b"caf\xe9")
        finding["resource"] = "\x00\x0c\udce9"
        finding["target"] = "web\x0c1"  # names are not the runner's to cap: each format escapes them itself
    document["targets"][0]["name"] = "web\x0c1"
    document["targets"][0]["system"]["os_name"] = "Debian\x1b[2J\ud800"
    (run_dir / "results.json").write_text(json.dumps(document))
    # When every format is rendered
    written = _render(run_dir)
    # Then each text format is valid UTF-8 without a forbidden character, the JUnit file parses, and the PDF exists
    for fmt, path in written.items():
        if fmt != "pdf":
            assert not _FORBIDDEN.search(path.read_bytes().decode("utf-8-sig")), fmt
    ElementTree.parse(written["junit"])
    subprocess.run(["xmllint", "--noout", str(written["junit"])], check=True, capture_output=True, timeout=60)
    assert r"\x1b]0;pwned" in _pdf_text(written["pdf"])
