"""Mistakes a real user makes, run through the real `auditor` command: each gets one line naming what, where and
the fix, exit status 2, no traceback, and nothing the user already had (a run's evidence, another file) is lost."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import HOSTS, run_cli

pytestmark = pytest.mark.slow
SERVER = HOSTS / "debian12-server"  # a recorded run: replayed and sealed without touching a host


def _one_line_refusal(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("auditor: "), result.stderr
    return lines[0]


WAIVER = """\
extends: default
waivers:
  - check: "LOG-00*"
    reason: Central log store keeps 400 days.
    approver: Region Example DPO
    created: 2026-11-01
    expires: {expires}
    risk: low
"""


@pytest.mark.parametrize("expires", ["9999-12-31", "9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+05:00"])
def test_a_waiver_expiry_beyond_the_calendar_is_one_line_not_a_traceback(write, expires):
    # Given a waiver meant to last "forever" (or a date-time whose UTC instant no calendar holds)
    profile = write("p.yaml", WAIVER.format(expires=expires).replace("2026-11-01", "0001-01-01"))
    # When the profile is read
    line = _one_line_refusal(run_cli("profile", "show", "--profile", str(profile)))
    # Then one line names the field and says a waiver ends on a real date
    assert f"{profile}:7:14: waivers.0.expires" in line and "write the date it ends" in line


def test_a_far_but_representable_waiver_expiry_still_works_in_a_replay(tmp_path, write):
    profile = write("p.yaml", WAIVER.format(expires="9999-12-30"))
    out = tmp_path / "run"
    result = run_cli("replay", str(SERVER), "--profile", str(profile), "--out", str(out), "--quiet",
                     "--check", "LOG-0020", "--format", "none", "--no-history")
    assert result.returncode == 0, result.stderr
    (use,) = json.loads((out / "results.json").read_text())["waivers"]
    assert use["state"] == "active"


@pytest.mark.parametrize(("value", "code", "words"), [
    ("", 0, None),  # empty: the default, as for every other auditor variable
    ("debug", 0, None),  # a level's name in lower case is still that level
    ("LOUD", 2, "auditor: AUDITOR_LOG_LEVEL: unknown log level 'LOUD'; use DEBUG, INFO, WARNING, ERROR or CRITICAL, "
                "or unset it"),
])
def test_the_log_level_variable_is_read_without_a_traceback(value, code, words):
    result = run_cli("checks", "list", "--format", "json", env={"AUDITOR_LOG_LEVEL": value})
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    if words:
        assert result.stderr.strip() == words


@pytest.mark.parametrize(("host", "words"), [
    ("'1.2.3'", "field 'host' is no IPv4 address, got '1.2.3'"),  # inet_aton would connect to 1.2.0.3
    ("'10.0.5'", "field 'host' is no IPv4 address, got '10.0.5'"),
    ("'999.1.1.1'", "field 'host' is no IPv4 address, got '999.1.1.1'"),
    ("'1234'", "field 'host' is no IPv4 address, got '1234'"),  # would be 0.0.4.210
    ("'[::1'", "field 'host' holds a bracket that does not enclose an IPv6 address"),
    ("'::1]'", "field 'host' holds a bracket that does not enclose an IPv6 address"),
    ("'[db-1]'", "field 'host' holds a bracket that does not enclose an IPv6 address"),
    ("'a..b.example'", "field 'host' has an empty label, got 'a..b.example'"),
    ("'.example.dk'", "field 'host' has an empty label, got '.example.dk'"),
    ("'db%1'", "field 'host' must be a host name or an IP address, got 'db%1'"),
])
def test_a_host_that_is_no_address_is_refused_before_any_target_is_touched(tmp_path, write, host, words):
    inventory = write("inv.yaml", f"targets:\n  - {{name: a, kind: ssh, host: {host}}}\n")
    line = _one_line_refusal(run_cli("scan", "--inventory", str(inventory), "--out", str(tmp_path / "run")))
    assert f"{inventory}:2:32: target 'a': {words}" in line
    assert not (tmp_path / "run").exists()


def test_an_ipv6_host_in_brackets_is_the_address_it_encloses(tmp_path, write):
    # Given [::1] (as one writes it before a port) on a port nothing listens on
    inventory = write("inv.yaml", "targets:\n  - {name: a, kind: ssh, host: '[::1]', port: 1, auth: none, "
                                  "connect_timeout: 2, total_timeout: 10}\n")
    result = run_cli("scan", "--inventory", str(inventory), "--out", str(tmp_path / "run"), "--check", "SSH-0100",
                     "--format", "none", "--no-history", "--json")
    # Then the address is tried (refused), not looked up as the name "[::1]"
    assert "cannot resolve" not in result.stdout and "[[::1]]" not in result.stdout, result.stdout
    assert "[::1]:1" in result.stdout


def test_an_ansible_inventory_saved_with_a_byte_order_mark_reads_as_without(tmp_path):
    # Given an INI inventory saved by Windows Notepad (UTF-8 with a BOM) whose host is no address
    inventory = tmp_path / "hosts.ini"
    inventory.write_bytes(b"\xef\xbb\xbf[servers]\ndb1 ansible_host=10.0.5\n")
    # Then the error is the host's, on its line: the first line is the group header it looks like
    line = _one_line_refusal(run_cli("scan", "--inventory", str(inventory), "--out", str(tmp_path / "run")))
    assert line.startswith(f"auditor: {inventory}:2:1: target 'db1': field 'host' is no IPv4 address"), line


def test_an_audit_log_flag_naming_another_file_leaves_that_file_alone(tmp_path, write):
    # Given the audit trail pointed by mistake at the inventory
    inventory = write("inv.yaml", "targets:\n  - {name: a, kind: local}\n")
    before = inventory.read_bytes()
    # When a command runs
    line = _one_line_refusal(run_cli("--audit-log", str(inventory), "log", "verify"))
    # Then it is refused in one line, and the inventory is as it was (no JSON appended, no head record beside it)
    assert f"--audit-log {inventory}: is not an auditor audit trail" in line
    assert inventory.read_bytes() == before
    assert not Path(f"{inventory}.head").exists()


def test_sealing_into_the_run_folder_is_refused_and_the_run_still_verifies(tmp_path, keydir):
    run = tmp_path / "run"
    assert run_cli("replay", str(SERVER), "--out", str(run), "--quiet", "--format", "none", "--no-history",
                   "--no-sign").returncode in (0, 1, 3)
    line = _one_line_refusal(run_cli("seal", str(run), "--to", str(keydir / "seal.pub"), "--out",
                                     str(run / "run.auditor-bundle")))
    assert "inside the run folder" in line
    assert run_cli("verify", str(run), "--allow-unsigned").returncode == 0


def test_sealing_over_an_existing_file_is_refused(tmp_path, keydir, write):
    inventory = write("inv.yaml", "targets:\n  - {name: a, kind: local}\n")
    line = _one_line_refusal(run_cli("seal", str(SERVER), "--to", str(keydir / "seal.pub"), "--out", str(inventory)))
    assert f"--out {inventory}: exists" in line
    assert inventory.read_text() == "targets:\n  - {name: a, kind: local}\n"


@pytest.mark.parametrize(("name", "text", "flag", "words"), [
    ("inv.yaml", "targets:\n  - {name: a, kind: lokal}\n", "--inventory",
     "inv.yaml:2:21: target 'a': unknown kind 'lokal'"),
    ("p.yaml", "extends: default\nchecks: {NET-0200: {enabled: false}}\n", "--profile",
     "p.yaml:2:20: check 'NET-0200' matches no installed check"),
    ("p.yaml", "extends: default\nchecks: {TLS-0020: {targets: [web-1]}}\n", "--profile",
     "checks.TLS-0020.targets: unknown target 'web-1', not in the inventory"),
])
def test_schedule_refuses_what_every_scheduled_scan_would_refuse(tmp_path, write, name, text, flag, words):
    good = write("good.yaml", "targets:\n  - {name: a, kind: local}\n")
    given = write(name, text)
    other = ["--inventory", str(good)] if flag == "--profile" else []
    line = _one_line_refusal(run_cli("schedule", flag, str(given), *other, "--unit-dir", str(tmp_path / "units")))
    assert words in line
    assert not (tmp_path / "units").exists()


def test_an_empty_key_passphrase_variable_is_refused_not_read_as_unset(tmp_path, keydir):
    # Given a signing key and AUDITOR_KEY_PASSPHRASE set, but to nothing (an env file's `AUDITOR_KEY_PASSPHRASE=`)
    result = subprocess.run(
        [*_python_m(), "replay", str(SERVER), "--out", str(tmp_path / "run"), "--sign-key",
         str(keydir / "signing.key"), "--format", "none", "--no-history", "--quiet"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
        env={**os.environ, "AUDITOR_KEY_PASSPHRASE": ""})
    # Then it is refused as empty (a silent unsigned run is not what was asked for), before any work
    line = _one_line_refusal(result)
    assert "AUDITOR_KEY_PASSPHRASE: the passphrase is empty" in line
    assert not (tmp_path / "run").exists()


def test_a_check_id_in_lower_case_gets_the_upper_case_id_as_its_suggestion(write):
    profile = write("p.yaml", "extends: default\nchecks: {net-0020: {enabled: false}}\n")
    line = _one_line_refusal(run_cli("profile", "show", "--profile", str(profile)))
    assert line.endswith("did you mean NET-0020?"), line


@pytest.mark.parametrize(("argv", "words"), [
    (["history", "--target", ""], "argument --target: an empty value is not allowed; give a value or leave out "
                                  "--target"),
    (["scan", "--format", ""], "argument --format: an empty value is not allowed; give a value or leave out --format"),
    (["scan", "--out", ""], "argument --out: an empty value is not allowed (as a path it would mean the current "
                            "folder)"),
])
def test_an_empty_flag_value_is_explained_for_what_the_flag_is(argv, words):
    assert words in _one_line_refusal(run_cli(*argv))


def test_report_names_its_default_folder_not_a_flag_the_user_did_not_give(tmp_path):
    # Given a run whose folder's parent refuses new files (a regular file stands where the folder would go)
    run = tmp_path / "run"
    assert run_cli("replay", str(SERVER), "--out", str(run), "--quiet", "--format", "none",
                   "--no-history").returncode in (0, 1, 3)
    (tmp_path / "run.report").write_text("in the way\n")
    line = _one_line_refusal(run_cli("report", str(run), "--format", "json"))
    assert line.startswith(f"auditor: the report folder {tmp_path / 'run.report'} (beside the run): exists and is "
                           "not a folder"), line
    assert "give --out a folder you can write to" in line


@pytest.mark.parametrize("flags", [["--home", "--role", "server"], ["--home", "--location", "office"],
                                   ["--role", "server", "--inventory", "INV"]])
def test_flags_that_a_scan_would_ignore_are_refused(tmp_path, write, flags):
    inventory = write("inv.yaml", "targets:\n  - {name: a, kind: local}\n")
    argv = [str(inventory) if f == "INV" else f for f in flags]
    line = _one_line_refusal(run_cli("scan", *argv, "--out", str(tmp_path / "run")))
    assert "drop" in line
    assert not (tmp_path / "run").exists()


def _python_m() -> list[str]:
    import sys

    return [sys.executable, "-m", "auditor"]


@pytest.fixture
def keydir(tmp_path: Path) -> Path:
    folder = tmp_path / "keys"
    made = run_cli("keys", "init", "--dir", str(folder), env={"AUDITOR_KEY_PASSPHRASE": "correct horse"})
    assert made.returncode == 0, made.stderr
    return folder


@pytest.mark.parametrize("document", ["[]", '"a run"', "42"])
def test_a_results_json_of_another_json_shape_is_one_line(tmp_path, document):
    # Given a run folder whose results.json is valid JSON but no object (a copy gone wrong)
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(document)
    # When a report is asked of it
    line = _one_line_refusal(run_cli("report", str(run), "--format", "html"))
    # Then one line names the file and says what shape it must have
    assert f"{run / 'results.json'}: results.json does not have the expected shape" in line


def test_kit_build_refuses_a_profile_naming_an_unknown_check_before_building(tmp_path, write):
    # Given a profile with a typo'd check id, which every employee's home scan would refuse
    profile = write("p.yaml", "extends: default\nchecks:\n  NET-0200: {enabled: false}\n")
    (tmp_path / "seal.pub").write_bytes(b"")
    keys = tmp_path / "keys"
    assert run_cli("keys", "init", "--dir", str(keys), env={"AUDITOR_KEY_PASSPHRASE": "kit-profile-test"}
                   ).returncode == 0
    # When the security lead builds a kit with it
    line = _one_line_refusal(run_cli("kit", "build", "--seal-to", str(keys / "seal.pub"), "--profile", str(profile),
                                     "--out", str(tmp_path / "kit"), "--wheelhouse", str(tmp_path)))
    # Then the check id is named before anything is built
    assert "NET-0200" in line and not (tmp_path / "kit").exists()


@pytest.mark.parametrize(("expires", "offset"), [("2026-12-31T17:00:00+25:00", "+25:00"),
                                                 ("2026-12-31T17:00:00-24:00", "-24:00"),
                                                 ("2026-12-31T17:00:00+05:75", "+05:75")])
def test_a_utc_offset_no_clock_has_is_said_in_words(write, expires, offset):
    # Given a waiver's expiry with a UTC offset beyond a day (or minutes beyond an hour)
    profile = write("p.yaml", WAIVER.format(expires=expires))
    # When the profile is read
    line = _one_line_refusal(run_cli("profile", "show", "--profile", str(profile)))
    # Then one line names the place, the field and the offset in words, not Python's timedelta
    assert line == (f"auditor: {profile}:7:14: waivers.0.expires: '{expires}' is not a calendar date or date-time: "
                    f"the UTC offset {offset} is not one (offsets run from -23:59 to +23:59); write the offset of "
                    "the time zone meant, e.g. +01:00, or Z for UTC"), line


def test_a_utc_offset_of_a_whole_day_less_a_minute_is_still_read(tmp_path, write):
    profile = write("p.yaml", WAIVER.format(expires="2026-12-31T17:00:00+23:59"))
    result = run_cli("profile", "show", "--profile", str(profile))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("extends", "words"), [
    ("base", "extends: 'base' is a folder, not a profile file; name the profile file inside it "
             "(e.g. extends: base/region.yaml), or extend default"),
    ("defualt", "extends: no such file: 'defualt' ({folder}/defualt); did you mean default? (the built-in "
                "profile); or give the parent profile's path relative to this file"),
    ("Default", "extends: no such file: 'Default' ({folder}/Default); did you mean default? (the built-in "
                "profile); or give the parent profile's path relative to this file"),
    ("", "extends must be 'default' or a path to another profile, got nothing; write extends: default, or the path "
         "of the parent profile relative to this file"),
    ("[base]", "extends must be 'default' or a path to another profile, got a list; write extends: default, or the "
               "path of the parent profile relative to this file"),
])
def test_a_profile_extends_that_names_no_profile_says_what_to_write(tmp_path, write, extends, words):
    # Given a profile whose parent is a folder, a misspelt built-in, or nothing at all
    (tmp_path / "base").mkdir()
    write("base/region.yaml", "extends: default\n")
    profile = write("p.yaml", f"extends: {extends}\n")
    # When it is read
    line = _one_line_refusal(run_cli("profile", "show", "--profile", str(profile)))
    # Then one line says where and what to write
    column = 10 if extends else 9
    assert line == f"auditor: {profile}:1:{column}: " + words.format(folder=tmp_path), line


def test_a_check_enabled_that_is_not_true_or_false_shows_the_value_and_the_fix(write):
    profile = write("p.yaml", 'extends: default\nchecks:\n  LOCK-0010: {enabled: "no"}\n')
    line = _one_line_refusal(run_cli("profile", "show", "--profile", str(profile)))
    assert line == (f"auditor: {profile}:3:24: checks.LOCK-0010.enabled: must be true or false, got 'no'; "
                    "write enabled: false (no quotes) to turn the check off, or enabled: true"), line


def test_an_attestation_reviewed_before_it_was_made_says_how_to_fix_it(write):
    profile = write("p.yaml", "extends: default\nattestations:\n  - {requirement: R10, statement: s, attestor: "
                              "{name: n}, date: 2026-12-01, next_review: 2026-01-01}\n")
    line = _one_line_refusal(run_cli("profile", "show", "--profile", str(profile)))
    assert line == (f"auditor: {profile}:3:90: attestations.0.next_review: next_review is before the "
                    "attestation's date (next_review 2026-01-01, date 2026-12-01); write the date of the next "
                    "review, on or after 2026-12-01 (or swap the two if they were written the wrong way round)"), line


def test_schedule_into_another_folder_says_how_systemd_finds_the_units(tmp_path, write):
    # Given units written to a folder systemd does not read
    inventory = write("inv.yaml", "targets:\n  - {name: here, kind: local}\n")
    units = tmp_path / "units"
    result = run_cli("schedule", "--inventory", str(inventory), "--unit-dir", str(units))
    assert result.returncode == 0, result.stderr
    # Then the advice is how to bring them to systemd, not to enable what it cannot see
    service, timer = units / "auditor-scan.service", units / "auditor-scan.timer"
    assert "enable it with" not in result.stdout
    assert (f"systemd does not read units from {units}: copy them into ~/.config/systemd/user, or link them there "
            f"with: systemctl --user link {service} {timer}; then: systemctl --user daemon-reload && "
            "systemctl --user enable --now auditor-scan.timer\n") in result.stdout, result.stdout


def test_schedule_into_the_user_unit_folder_still_says_enable_it(tmp_path, write):
    inventory = write("inv.yaml", "targets:\n  - {name: here, kind: local}\n")
    home = tmp_path / "home"
    result = run_cli("schedule", "--inventory", str(inventory), "--unit-dir",
                     str(home / ".config" / "systemd" / "user"), env={"HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert ("enable it with: systemctl --user daemon-reload && systemctl --user enable --now auditor-scan.timer"
            in result.stdout), result.stdout


# (192.0.2.5 is a documentation address: were a line read, nothing would answer there)
@pytest.mark.parametrize(("ini", "words"), [
    ("[servers]\ndb1 ansible_host=192.0.2.5 =x\n",
     "2:28: host 'db1': host variable '=x' has no name before the '='; write name=value, e.g. ansible_port=2222, "
     "or remove it"),
    ("[servers]\ndb1 ansible_host=192.0.2.5 ansible_port=\n",
     "2:28: host 'db1': ansible_port is empty; write the SSH port, e.g. ansible_port=2222, or remove ansible_port= "
     "to use port 22"),
    ("[servers:vars]\n=x\n[servers]\ndb1 ansible_host=192.0.2.5\n",
     "2:1: [servers:vars] line '=x' has no variable name before the '='; write name=value, e.g. ansible_user=audit"),
    ("[servers:vars]\nansible_port=\n[servers]\ndb1 ansible_host=192.0.2.5\n",
     "2:1: [servers:vars] ansible_port is empty; write the SSH port, e.g. ansible_port=2222, or remove "
     "ansible_port= to use port 22"),
], ids=["host-no-name", "host-empty-port", "group-no-name", "group-empty-port"])
def test_an_ansible_variable_without_a_name_or_an_empty_port_is_refused(tmp_path, ini, words):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(ini, encoding="utf-8")
    refusal = _one_line_refusal(run_cli("scan", "--inventory", str(inventory), "--out", str(tmp_path / "run")))
    assert refusal == f"auditor: {inventory}:{words}", refusal
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("text", "words"), [
    ("servers:\n  hosts:\n    db1: {ansible_host: 192.0.2.5, ansible_port: }\n",
     "3:50: host 'db1': ansible_port is empty; write the SSH port, e.g. ansible_port: 2222, or remove ansible_port "
     "to use port 22"),
    ("servers:\n  vars:\n    ansible_port: ''\n  hosts:\n    db1: {ansible_host: 192.0.2.5}\n",
     "3:19: group 'servers': ansible_port is empty; write the SSH port, e.g. ansible_port: 2222, or remove "
     "ansible_port to use port 22"),
])
def test_an_empty_port_in_a_yaml_ansible_inventory_is_refused(tmp_path, text, words):
    inventory = tmp_path / "hosts.yaml"
    inventory.write_text(text, encoding="utf-8")
    refusal = _one_line_refusal(run_cli("scan", "--inventory", str(inventory), "--out", str(tmp_path / "run")))
    assert refusal == f"auditor: {inventory}:{words}", refusal
