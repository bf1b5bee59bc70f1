"""The command line as a user runs it: a real scan of this machine, replay, and bad input."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import HOSTS, load_results, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], Path]:
    run_dir = tmp_path_factory.mktemp("scan") / "run"
    return run_cli("scan", "--out", str(run_dir), "--json"), run_dir


def _independent_clock_sync() -> bool:
    """Ask this machine directly, not through auditor, whether its clock is synchronised."""
    try:
        out = subprocess.run(["timedatectl", "show"], capture_output=True, text=True, check=False).stdout
        if "NTPSynchronized=yes" in out:
            return True
    except FileNotFoundError:
        pass
    try:
        out = subprocess.run(["chronyc", "-n", "tracking"], capture_output=True, text=True, check=False).stdout
        return "Leap status     : Normal" in out
    except FileNotFoundError:
        return False


def test_local_scan_writes_a_complete_run_folder(local_run):
    result, run_dir = local_run
    document = load_results(run_dir)
    assert json.loads(result.stdout) == document  # --json prints exactly results.json
    assert result.stdout.isascii()  # as \u escapes: a host's C1 controls or bidi overrides never reach a terminal
    assert document["schema_version"] == 1
    assert set(document["run"]) >= {"id", "started_at", "finished_at", "scanner_version", "profile_sha256"}
    assert document["run"]["started_at"].endswith("Z") and document["run"]["finished_at"].endswith("Z")
    statuses = {f["status"] for f in document["findings"]}
    expected_exit = 3 if "error" in statuses else 1 if "fail" in statuses else 0
    assert result.returncode == expected_exit, result.stderr
    (target,) = document["targets"]
    assert target["system"]["platform"] == "linux" and target["kind"] == "local"
    assert (run_dir / "profile.json").is_file()


def test_every_finding_points_at_hashed_evidence_in_the_manifest(local_run):
    _, run_dir = local_run
    manifest = json.loads((run_dir / "evidence" / "manifest.json").read_text())
    indexed = {f["path"]: f["sha256"] for f in manifest["facts"]}
    on_disk = {str(p.relative_to(run_dir)) for p in (run_dir / "evidence").rglob("*.json")} - {"evidence/manifest.json"}
    assert set(indexed) == on_disk
    for path, digest in indexed.items():
        assert hashlib.sha256((run_dir / path).read_bytes()).hexdigest() == digest
    for finding in load_results(run_dir)["findings"]:
        if finding["status"] in ("pass", "fail"):
            assert finding["evidence"], finding
            for ref in finding["evidence"]:
                assert indexed[ref["path"]] == ref["sha256"]


def test_clock_finding_agrees_with_what_this_machine_says(local_run):
    _, run_dir = local_run
    (clock,) = [f for f in load_results(run_dir)["findings"] if f["check_id"] == "LOG-0040"]
    assert (clock["status"] == "pass") == _independent_clock_sync()


def test_replay_reproduces_findings_and_evidence_hashes(local_run, tmp_path):
    _, run_dir = local_run
    replayed = run_cli("replay", str(run_dir), "--out", str(tmp_path / "again"), "--quiet")
    assert replayed.returncode in (0, 1, 3), replayed.stderr
    before = load_results(run_dir)
    after = load_results(tmp_path / "again")
    assert after["run"]["replayed_from"] == before["run"]["id"]
    key = lambda f: (f["check_id"], f["resource"])  # noqa: E731
    assert sorted((key(f), f["status"], f["message"], f["evidence"]) for f in after["findings"]) == \
        sorted((key(f), f["status"], f["message"], f["evidence"]) for f in before["findings"])


def test_replay_under_another_profile_re_evaluates_without_a_host(tmp_path, write):
    only = ("--check", "LOG-0020", "--check", "LOG-0040", "--format", "none")  # the two a retention change moves
    default = run_cli("replay", str(HOSTS / "debian12-server"), "--out", str(tmp_path / "a"), "--json", *only)
    assert default.returncode == 1
    statuses = {f["check_id"]: f["status"] for f in json.loads(default.stdout)["findings"]}
    assert statuses == {"LOG-0020": "fail", "LOG-0040": "pass"}
    profile = write("short.yaml", "extends: default\nparameters: {log_retention_days: 30}\n")
    relaxed = run_cli("replay", str(HOSTS / "debian12-server"), "--profile", str(profile),
                      "--out", str(tmp_path / "b"), "--json", *only)
    assert relaxed.returncode == 0, relaxed.stderr
    assert {f["status"] for f in json.loads(relaxed.stdout)["findings"]} == {"pass"}


def verdicts(document: dict) -> list[tuple[str, str, str, str]]:
    """(check, resource, status, message) of every finding, except checks skipped for another platform: a new
    macOS or Windows check adds such a finding without needing new Linux facts. A new Linux check does not hide
    here: with no recorded facts it replays as an error, and the host must be re-recorded
    (`python -m tests.fixtures.make_hosts`)."""
    return [(f["check_id"], f["resource"], f["status"], f["message"]) for f in document["findings"]
            if not (f["status"] == "skipped" and f.get("skip_reason", "").startswith("runs on "))]


def test_recorded_hosts_replay_to_their_golden_results(tmp_path):
    cases = sorted(p for p in HOSTS.iterdir() if p.is_dir())
    assert {c.name for c in cases} >= {"debian12-container", "debian12-server", "ubuntu2204-laptop-home",
                                       "rhel9-server"}
    for case in cases:
        out = tmp_path / case.name
        replayed = run_cli("replay", str(case), "--out", str(out), "--quiet", "--format", "none")
        assert replayed.returncode in (0, 1), (case.name, replayed.stderr)
        assert verdicts(load_results(out)) == verdicts(load_results(case)), case.name


def test_default_out_is_reports_run_id_under_the_working_directory(tmp_path):
    result = run_cli("scan", "--quiet", "--check", "LOG-0040", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    (run_dir,) = (tmp_path / "reports").iterdir()
    assert load_results(run_dir)["run"]["id"] == run_dir.name


def test_plain_progress_and_summary_when_not_a_terminal(tmp_path):
    result = run_cli("scan", "--out", str(tmp_path / "r"))
    assert ": scanning" in result.stderr and "LOG-0020" in result.stderr
    assert f"Evidence and results: {tmp_path / 'r'}" in result.stderr
    assert result.stdout == ""


def test_an_unreachable_target_is_reported_and_the_run_goes_on(tmp_path, write):
    # Given a local target and a TLS endpoint where nothing listens (port 9, discard)
    inventory = write("inv.yaml", "targets:\n  - {name: here, kind: local}\n"
                                  "  - {name: portal, kind: tls, host: 127.0.0.1, port: 9}\n")
    # When both are scanned
    result = run_cli("scan", "--inventory", str(inventory), "--out", str(tmp_path / "r"), "--format", "html")
    # Then the run is incomplete (exit 3) but not crashed, the local target is assessed, and the endpoint says why
    assert result.returncode == 3 and "Traceback" not in result.stderr
    document = load_results(tmp_path / "r")
    here, portal = document["targets"]
    assert here["assessed"]
    said = [portal["connection_error"] or ""] + [f["message"] for f in document["findings"]
                                                 if f["target"] == "portal" and f["status"] == "error"]
    assert any("refused" in words for words in said), said
    # and where the target's name is given, the reason does not say it again
    assert "portal: not assessed: " in result.stderr and "not assessed: portal:" not in result.stderr
    assert not [m for m in said[1:] if m.startswith("Not assessed: portal:")], said
    report = (tmp_path / "r" / "report.html").read_text()
    assert "not assessed</b>: " in report and "not assessed</b>: portal:" not in report


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["scan", "--workers", "0"], "--workers: must be a whole number from 1 to 256"),
        (["scan", "--check", "LOG-0041"], "--check: unknown check id 'LOG-0041'; did you mean LOG-0040?"),
        (["scan", "--skip", "NOPE-0001"], "--skip: unknown check id 'NOPE-0001'"),
        # check ids are upper case by definition: the closest is found whatever the case typed
        (["scan", "--check", "log-0041"], "--check: unknown check id 'log-0041'; did you mean LOG-0040?"),
        (["scan", "--inventory", "/nonexistent/inv.yaml"], "/nonexistent/inv.yaml: inventory file not found"),
        (["scan", "--profile", "/nonexistent/p.yaml"], "/nonexistent/p.yaml: profile file not found"),
        (["replay", "/nonexistent"], "/nonexistent: not a run folder (no results.json)"),
        (["scan", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["checks"], "the following arguments are required"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, words):
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert words in result.stderr


def test_out_folder_with_other_content_or_an_earlier_run_is_refused(tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    result = run_cli("scan", "--out", str(busy))
    assert result.returncode == 2 and "is not empty and not a run folder" in result.stderr
    assert (busy / "notes.txt").read_text() == "mine"
    earlier = tmp_path / "earlier"
    assert run_cli("scan", "--out", str(earlier), "--quiet").returncode in (0, 1, 3)
    before = (earlier / "results.json").read_bytes()
    result = run_cli("scan", "--out", str(earlier))
    assert result.returncode == 2 and "holds an earlier run; auditor never overwrites evidence" in result.stderr
    assert (earlier / "results.json").read_bytes() == before


def test_checks_list_formats():
    markdown = run_cli("checks", "list", "--format", "markdown")
    assert markdown.returncode == 0 and "| LOG-0040 | The system clock is synchronised" in markdown.stdout
    listed = json.loads(run_cli("checks", "list", "--json").stdout)
    assert listed["LOG-0020"]["requirements"] == ["R12"] and listed["LOG-0020"]["pack"] == "builtin"
    # A check limited to some roles says which, in every format; the others concern every role
    assert listed["LOCK-0010"]["roles"] == ["workstation"] and listed["LOG-0020"]["roles"] == []
    assert re.search(r"^\| LOCK-0010 \|.*\| workstation \|$", markdown.stdout, re.M)
    assert re.search(r"^\| LOG-0020 \|.*\| all \|$", markdown.stdout, re.M)
    table = run_cli("checks", "list", env={"COLUMNS": "250"}).stdout
    assert re.search(r"LOCK-0010 .*│ workstation +│ builtin", table)


SECRET = {"AUDITOR_KEY_PASSPHRASE": "correct horse battery staple"}


def test_report_da_as_the_readme_shows_leaves_the_signed_run_verifying(tmp_path):
    # Given a signed run (a replay of a recorded host) and the processor's keys
    keys = tmp_path / "keys"
    assert run_cli("keys", "init", "--dir", str(keys), env=SECRET).returncode == 0
    run = tmp_path / "reports" / "run"
    signed = run_cli("replay", str(HOSTS / "debian12-server"), "--out", str(run), "--format", "none", "--quiet",
                     "--check", "LOG-0020", "--check", "LOG-0040", "--sign-key", str(keys / "signing.key"),
                     env=SECRET)
    assert signed.returncode in (0, 1), signed.stderr
    # When the Danish report is rendered as the README shows it
    rendered = run_cli("report", str(run), "--lang", "da", cwd=tmp_path)
    # Then it lands beside the run, the run still verifies, and a bundle sealed afterwards verifies too
    assert rendered.returncode == 0, rendered.stderr
    assert {p.name for p in (tmp_path / "reports" / "run.report").iterdir()} == {"report.da.html", "report.da.pdf"}
    assert not list(run.glob("report*"))
    verified = run_cli("verify", str(run), "--pubkey", str(keys / "signing.pub"))
    assert verified.returncode == 0 and "signature valid" in verified.stdout, verified.stdout
    assert run_cli("seal", str(run), "--to", str(keys / "seal.pub")).returncode == 0
    opened = run_cli("verify", str(run.with_name("run.auditor-bundle")), "--key", str(keys / "seal.key"),
                     "--pubkey", str(keys / "signing.pub"), env=SECRET)
    assert opened.returncode == 0 and "OK:" in opened.stdout, opened.stdout + opened.stderr


@pytest.mark.parametrize("inside", [".", "sub"])
def test_report_into_the_run_folder_is_refused(tmp_path, inside):
    # Given a finished run
    run = tmp_path / "run"
    assert run_cli("replay", str(HOSTS / "debian12-server"), "--out", str(run), "--format", "none", "--quiet",
                   "--check", "LOG-0020", "--check", "LOG-0040").returncode in (0, 1)
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    # When a report is asked for inside it
    result = run_cli("report", str(run), "--format", "md", "--out", str(run / inside))
    # Then it is refused in one line naming the default, and nothing is written into the run
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "would change a finished run" in result.stderr and f"{run}.report" in result.stderr
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before


def test_a_replay_says_when_its_evidence_was_collected_and_when_it_was_re_evaluated(tmp_path, write):
    # Given a recorded server (collected in November 2026) replayed today under another profile
    source = load_results(HOSTS / "debian12-server")
    facts = json.loads((HOSTS / "debian12-server" / "evidence" / "manifest.json").read_text())["facts"]
    profile = write("p.yaml", "extends: default\nparameters: {log_retention_days: 30}\n")
    replayed = run_cli("replay", str(HOSTS / "debian12-server"), "--profile", str(profile), "--out",
                       str(tmp_path / "r"), "--format", "html", "--quiet", "--check", "LOG-0020", "--check", "LOG-0040")
    assert replayed.returncode in (0, 1), replayed.stderr
    # Then results.json dates the facts by their collection, names the source run's times and profile, and the
    # replay's own start is when they were re-evaluated, under its own profile
    run = load_results(tmp_path / "r")["run"]
    assert run["evidence_collected_from"] == min(f["collected_at"] for f in facts)
    assert run["evidence_collected_to"] == max(f["collected_at"] for f in facts)
    assert (run["replayed_started_at"], run["replayed_finished_at"]) == (source["run"]["started_at"],
                                                                         source["run"]["finished_at"])
    assert run["replayed_profile_sha256"] == source["run"]["profile_sha256"] != run["profile_sha256"]
    assert run["started_at"] > run["evidence_collected_to"]
    # and the report's cover says both, with the day each happened in Copenhagen
    cover = (tmp_path / "r" / "report.html").read_text()
    collected_row = re.search(r"<th>Evidence collected</th><td>(.*?)</td>", cover, re.DOTALL)[1]
    evaluated_row = re.search(r"<th>Re-evaluated</th><td>(.*?)</td>", cover, re.DOTALL)[1]
    assert _day(run["evidence_collected_from"]) in collected_row and _day(run["started_at"]) in evaluated_row
    assert f"by run {source['run']['id']}, judged then under profile default" in collected_row


def _day(moment: str) -> str:
    """'26 November 2026': the day of an ISO time in Europe/Copenhagen, as the English report writes it."""
    local = datetime.fromisoformat(moment).astimezone(ZoneInfo("Europe/Copenhagen"))
    return f"{local.day} {local:%B} {local.year}"


@pytest.mark.parametrize("argv", [
    ["scan", "--inventory", "fleet.yaml", "--check", "SSH-0100", "--format", "none"],
    ["--audit-log", "trail.log", "replay", "RUN", "--workers", "3"],
    ["--audit-log=trail.log", "checks", "list", "--json"],
    ["profile", "diff", "default", "mine.yaml"],
    ["keys", "init", "--dir", "k"],
])
def test_the_parser_built_for_the_command_typed_parses_as_the_whole_one(argv):
    # Given the parser of every command, and the one built for the command word typed (cli._command_word)
    from auditor.cli import _command_word, build_parser

    whole, only = build_parser(), build_parser(_command_word(argv))
    # Then the command typed alone was built, the others are known by name, and both read the same arguments
    commands = next(a for a in only._actions if a.dest == "command").choices
    assert [name for name, sub in commands.items() if sub is not None] == [_command_word(argv)]
    assert set(commands) == set(next(a for a in whole._actions if a.dest == "command").choices)
    assert vars(only.parse_args(argv)) == vars(whole.parse_args(argv))


@pytest.mark.parametrize("argv", [["scan", "--check", "SSH-0100"], ["replay", "RUN"], ["checks", "list"]])
def test_a_command_s_parser_loads_no_other_command_s_modules(argv):
    # The evidence commands' module and the zone worker's load only for their own commands (start-up time).
    # Nor does a command without subcommands format any usage (shutil, for the terminal's width: cli._Formatter).
    unused = ("auditor.cli_evidence", "auditor.zones.worker", "auditor.zones.app", "auditor.kit.cli",
              *(("shutil",) if argv[0] in ("scan", "replay") else ()))
    # (What the interpreter had loaded before, a sitecustomize's imports among them, is not the command's.)
    probe = ("import sys; before = set(sys.modules); from auditor.cli import _command_word, _parse, build_parser; "
             f"argv = {argv!r}; _parse(build_parser(_command_word(argv)), argv); "
             f"print(sorted(m for m in sys.modules if m in {unused!r} and m not in before))")
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]", found.stderr


@pytest.mark.parametrize("argv", [[], ["scan"], ["checks", "list"], ["keys", "init"]])
def test_help_and_usage_are_argparse_s_own_at_the_terminal_s_width(argv, monkeypatch):
    # The width is asked when help is written, not for every flag (cli._Formatter): the text is the same
    import argparse

    from auditor import cli

    def texts() -> list[str]:
        parser = cli.build_parser(argv[0] if argv else None)
        for word in argv:
            parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[word]
        return [parser.format_help(), parser.format_usage()]

    for columns in ("60", "97", "200"):
        monkeypatch.setenv("COLUMNS", columns)
        ours = texts()
        with monkeypatch.context() as stock:
            stock.setattr(cli, "_Formatter", argparse.HelpFormatter)
            assert ours == texts()


def test_what_a_command_leaves_is_frozen_so_the_exit_does_not_walk_it(tmp_path):
    # Python's exit runs two full collections over every object the collector tracks (10 ms after a scan's imports)
    probe = ("import gc, sys; from auditor.cli import main; "
             f"code = main(['--audit-log', {str(tmp_path / 'audit.log')!r}, 'profile', 'params']); "
             "print(len(gc.get_objects()))")
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert int(found.stdout.split()[-1]) < 1000, found.stderr


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["-h", "scan"], ["--audit-log"], []])
def test_every_command_is_built_when_no_command_word_comes_first(argv):
    from auditor.cli import _command_word

    assert _command_word(argv) is None


def test_check_ids_are_taken_in_any_case(tmp_path):
    # Given check ids typed in lower case (QA: `--check tls-0010` was refused with "did you mean FW-0010?")
    result = run_cli("replay", str(HOSTS / "debian12-server"), "--out", str(tmp_path / "r"), "--json",
                     "--format", "none", "--check", "log-0020", "--check", "Log-0040", "--skip", "log-0040")
    # Then they name the checks they spell: the one chosen runs, the one skipped is skipped
    assert result.returncode == 1, result.stderr
    statuses = {f["check_id"]: f["status"] for f in json.loads(result.stdout)["findings"]}
    assert statuses == {"LOG-0020": "fail", "LOG-0040": "skipped"}


@pytest.mark.parametrize(
    ("profile_text", "where", "words"),
    [
        # QA's case: a check scoped to a target that does not exist was skipped on every target, exit 0
        ("extends: default\nchecks: {TLS-0020: {targets: [nosuch]}}\n", ":2:31",
         "checks.TLS-0020.targets: unknown target 'nosuch', not in the inventory"),
        ("extends: default\nwaivers:\n  - {check: TLS-0020, targets: [portl], reason: r, approver: DPO, "
         "created: 2026-11-01, expires: 2099-12-31, risk: low}\n", ":3:",
         "waivers.0.targets: unknown target 'portl', not in the inventory"),
    ],
)
def test_a_scope_naming_no_inventory_target_is_refused_before_the_scan(tmp_path, write, profile_text, where, words):
    # Given an inventory of two targets and a profile whose scope names a target it does not hold
    inventory = write("inv.yaml", "targets:\n  - {name: portal, kind: tls, host: 127.0.0.1, port: 9}\n"
                                  "  - {name: web-01, kind: tls, host: 127.0.0.1, port: 9}\n")
    profile = write("p.yaml", profile_text)
    # When they are scanned
    result = run_cli("scan", "--inventory", str(inventory), "--profile", str(profile), "--check", "TLS-0020",
                     "--out", str(tmp_path / "r"))
    # Then one line names the profile's place, the unknown name and the inventory's targets (exit 2), and nothing ran
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{profile}{where}" in result.stderr and words in result.stderr
    assert f"{inventory}; " in result.stderr and "portal, web-01" in result.stderr
    assert not (tmp_path / "r").exists()
