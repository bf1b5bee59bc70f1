"""The home-scan summary an employee reads: plain words, this computer's fix only, the file to hand in last,
and docs/home-scan.md showing exactly what is printed."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.home_summary import home_lines, home_text
from auditor.models import (
    CheckSpec,
    Finding,
    Location,
    Platform,
    Role,
    ScanResult,
    Severity,
    Status,
    SystemFacts,
    Target,
    TargetKind,
    TargetResult,
)
from auditor.pipeline import load_checks
from auditor.profile import load_profile
from tests.conftest import ROOT, run_cli

HOME_DOC = ROOT / "docs" / "home-scan.md"
FENCE = re.compile(r"^```[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
BUNDLE = Path("/home/anna/reports/20261126T120000Z-1a2b.auditor-bundle")


def _doc_blocks() -> list[list[str]]:
    """The fenced blocks under "What the summary looks like": the example, other lines, the Danish example."""
    text = HOME_DOC.read_text(encoding="utf-8")
    section = text[text.index("### What the summary looks like"):text.index("### What the summary means")]
    return [m["body"].splitlines() for m in FENCE.finditer(section)]


def _laptop(platform: Platform, findings: list[tuple[str, Status, str]], *, root: bool = True,
            interrupted: bool = False, skip_reason: str = "") -> ScanResult:
    """One home laptop's result with the given (check, status, resource) findings."""
    target = Target("laptop-017", TargetKind.LOCAL, Role.WORKSTATION, Location.HOME)
    made = tuple(Finding(check, target.name, status, "host's own words", resource,
                         skip_reason=skip_reason if status is Status.SKIPPED else "")
                 for check, status, resource in findings)
    system = SystemFacts(platform, "an OS", is_root=root)
    return ScanResult("20261126T120000Z-1a2b", "0", AT, AT, "default", "0" * 64, {},
                      (TargetResult(target, system, made),), interrupted)


def _passes(n: int) -> list[tuple[str, Status, str]]:
    return [(f"PASS-{i:04d}", Status.PASS, "") for i in range(n)]


def _printed(lines: list[str]) -> list[str]:
    """What the terminal shows, without the leading blank line; the last line is the bundle's path."""
    assert lines[0] == ""
    return lines[1:]


def test_the_doc_example_is_what_a_windows_laptop_prints():
    # Given the Windows laptop of the doc's example: five failing checks, nine fine, two borderline
    example, _, _ = _doc_blocks()
    result = _laptop(Platform.WINDOWS, [
        ("BACKUP-0020", Status.FAIL, "Windows Server Backup (wbadmin)"), ("DISK-0020", Status.PASS, "C:"),
        ("DISK-0020", Status.FAIL, "D:"), ("LOG-0010", Status.FAIL, ""), ("LOG-0020", Status.FAIL, ""),
        ("VPN-0020", Status.FAIL, ""), ("LOCK-0010", Status.WARN, "windows"), ("VPN-0030", Status.WARN, "IKEv2"),
        *_passes(9)])
    # When the summary is made
    printed = _printed(home_lines(result, BUNDLE, "en"))
    # Then every line is the doc's, and the last names the bundle by its absolute path
    assert printed[:-1] == example[:-1]
    assert printed[-1] == str(BUNDLE) and example[-1].endswith(".auditor-bundle")


def test_the_danish_doc_example_is_what_is_printed_with_lang_da():
    # Given a laptop whose only problem is the VPN, thirteen checks fine
    _, _, danish = _doc_blocks()
    result = _laptop(Platform.WINDOWS, [("VPN-0020", Status.FAIL, ""), *_passes(13)])
    # When the summary is made in Danish
    printed = _printed(home_lines(result, BUNDLE, "da"))
    # Then it is the doc's Danish example
    assert printed[:-1] == danish[:-1]


@pytest.mark.parametrize(("situation", "first_words"), [
    ("all fine", "Your computer meets"), ("not administrator", "Some settings could"),
    ("interrupted", "The check was"), ("not sealed", "Nothing was sealed"), ("unreachable", "This computer could"),
])
def test_the_docs_other_lines_are_what_is_printed(situation, first_words):
    # Given the situation in which the doc says a line appears
    _, others, _ = _doc_blocks()
    (documented,) = [line for line in others if line.startswith(first_words)]
    bundle: Path | None = BUNDLE
    if situation == "all fine":
        result = _laptop(Platform.WINDOWS, _passes(14))
    elif situation == "not administrator":
        result = _laptop(Platform.WINDOWS, [("DISK-0040", Status.SKIPPED, "")], root=False,
                         skip_reason="needs root; run the scan as root or set sudo: true for this target")
    elif situation == "interrupted":
        result = _laptop(Platform.WINDOWS, _passes(2), interrupted=True)
    elif situation == "unreachable":
        result = _laptop(Platform.WINDOWS, [])
        target = result.targets[0]
        result = ScanResult(result.run_id, "0", AT, AT, "default", "0" * 64, {},
                            (TargetResult(target.target, None, (), "the scan timed out"),))
    else:
        result, bundle = _laptop(Platform.WINDOWS, _passes(2)), None
    # When the summary is made
    printed = home_lines(result, bundle, "en")
    # Then the documented line is among what is printed, word for word
    if situation == "unreachable":
        documented = documented.replace("(…)", "(the scan timed out)")
    assert documented in printed


@pytest.mark.parametrize(("platform", "ours", "others"), [
    (Platform.WINDOWS, "Device encryption", ["FileVault", "installed; ask your IT contact"]),
    (Platform.MACOS, "FileVault", ["BitLocker", "installed; ask your IT contact"]),
    (Platform.LINUX, "when the system is installed", ["BitLocker", "FileVault"]),
])
def test_the_fix_is_for_this_computers_system_only(platform, ours, others):
    # Given an unencrypted disk on each system
    result = _laptop(platform, [("DISK-0010", Status.FAIL, "C:")])
    # When the summary is made
    text = "\n".join(home_lines(result, BUNDLE))
    # Then it names this system's setting and no other system's
    assert ours in text
    assert not any(word in text for word in others), text


def test_an_administrator_is_never_told_to_scan_as_administrator():
    # Given a check skipped for want of root, once on a scan as root and once as a plain user
    skip = "needs root; run the scan as root or set sudo: true for this target"
    as_root = _laptop(Platform.LINUX, [("FW-0010", Status.SKIPPED, "")], root=True, skip_reason=skip)
    as_user = _laptop(Platform.LINUX, [("FW-0010", Status.SKIPPED, "")], root=False, skip_reason=skip)
    # When the summaries are made
    # Then only the plain user is asked to use sudo, and nobody is sent to processor commands
    assert not any("administrator rights" in line for line in home_lines(as_root, BUNDLE))
    assert any("with sudo in front of the command" in line for line in home_lines(as_user, BUNDLE))
    assert not any("keys init" in line or "scan as root" in line
                   for line in home_lines(as_root, BUNDLE) + home_lines(as_user, BUNDLE))


def test_a_hosts_names_never_break_the_one_line_per_problem():
    # Given a drive whose label holds a line break and a fake bundle path
    result = _laptop(Platform.WINDOWS, [("DISK-0010", Status.FAIL, "D:\n/tmp/fake.auditor-bundle")])
    # When the summary is made
    lines = home_lines(result, BUNDLE)
    # Then the label stays inside its problem's line, and the last line is still the real bundle
    assert [line for line in lines if "fake" in line] == [lines[2]] and lines[2].startswith(" • ")
    assert lines[-1] == str(BUNDLE)


def test_checks_with_the_same_plain_words_make_one_line_and_unknown_checks_go_to_it():
    # Given three failing sshd checks (one SSH server) and a third-party check with no plain words
    result = _laptop(Platform.LINUX, [("SSH-0010", Status.FAIL, ""), ("SSH-0020", Status.FAIL, ""),
                                      ("SSH-0030", Status.FAIL, ""), ("ACME-0010", Status.FAIL, "")])
    result = ScanResult(result.run_id, "0", AT, AT, "default", "0" * 64,
                        {"ACME-0010": CheckSpec("ACME-0010", "Widgets are frobnicated", Severity.LOW, (), (),
                                                frozenset(), frozenset(), False, "Run frobnicate --all.")},
                        result.targets)
    # When the summary is made
    lines = home_lines(result, BUNDLE)
    # Then there are two problem lines, the unknown one by its title and sent to IT, never its admin remediation
    bullets = [line for line in lines if line.startswith(" • ")]
    assert lines[1] == "2 things on this computer need attention (0 checks are fine):"
    assert len(bullets) == 2 and "SSH server" in bullets[0]
    assert bullets[1] == " • Not met: Widgets are frobnicated. To fix it: ask your IT contact."


def test_every_installed_check_has_plain_words_in_english_and_danish_for_each_of_its_systems():
    for spec in load_checks(load_profile()).values():
        text = home_text(spec.id)
        assert text, f"{spec.id} has no plain words in auditor/home_summary.py"
        assert set(text.problem) == {"en", "da"}, spec.id
        for platform in spec.platforms:
            fix = text.fix.get(platform.value) or text.fix.get("any")
            assert fix and set(fix) == {"en", "da"}, (spec.id, platform)


def _kind(line: str) -> str:
    """A line's shape: which kind of line it is, whatever its numbers, problem and fix."""
    if not line:
        return ""
    if line.endswith(".auditor-bundle") and (line.startswith("/") or re.match(r"[A-Z]:\\", line)):
        return "<the bundle's absolute path>"
    if line.startswith(" • "):
        return " • <problem>. To fix it: <fix>" if ". To fix it: " in line else " • <?>"
    words = re.sub(r"\d+", "N", line).split()[:4]
    return " ".join({"thing": "things", "needs": "need"}.get(w, w) for w in words)


@pytest.mark.slow
def test_a_real_home_scan_prints_what_the_doc_shows(tmp_path):
    # Given the processor's seal key, generated for this test
    keys = tmp_path / "keys"
    assert run_cli("keys", "init", "--dir", str(keys), env={"AUDITOR_KEY_PASSPHRASE": "home-scan-pw"}).returncode == 0
    # When an employee scans this machine as the doc says, in English and in Danish
    english = run_cli("scan", "--home", "--seal-to", str(keys / "seal.pub"), "--format", "none", "--no-history",
                      cwd=tmp_path)
    danish = run_cli("scan", "--home", "--seal-to", str(keys / "seal.pub"), "--format", "none", "--no-history",
                     "--lang", "da", "--out", str(tmp_path / "da"), cwd=tmp_path)
    assert english.returncode in (0, 1) and danish.returncode in (0, 1), english.stderr + danish.stderr
    # Then no fleet progress line comes first ("vm: 35 fail, 11 pass" beside "5 checks are fine" misleads)
    for printed_all in (english.stderr, danish.stderr):
        assert ": scanning" not in printed_all and not re.search(r"\d+ (fail|pass)\b", printed_all), printed_all
    # and the summary has only the kinds of lines the doc shows, in its order
    lines = english.stderr.splitlines()
    printed = lines[lines.index(""):]
    example, others, _ = _doc_blocks()
    assert {_kind(line) for line in printed} <= {_kind(line) for line in example + others}, printed
    assert _kind(printed[1]) in {"N things on this", "Your computer meets the"}
    assert printed[-2] == example[-2]
    # and the last line is the sealed file's absolute path
    bundle = Path(printed[-1])
    assert bundle.is_absolute() and bundle.is_file() and bundle.suffix == ".auditor-bundle"
    # and each failing check is said once, in plain words, with nothing for the processor and no check ids
    (run_dir,) = [p for p in (tmp_path / "reports").iterdir() if p.is_dir()]
    failing = {f["check_id"] for f in json.loads((run_dir / "results.json").read_text())["findings"]
               if f["status"] == "fail" and f["target"]}
    bullets = [line for line in printed if line.startswith(" • ")]
    titles = {c: spec["title"] for c, spec in json.loads((run_dir / "results.json").read_text())["checks"].items()}
    for check_id in failing:
        text = home_text(check_id)
        problem = text.problem["en"] if text else f"Not met: {titles[check_id]}"
        said = [b for b in bullets if b.startswith(f" • {problem}")]
        assert len(said) == 1, (check_id, bullets)
    assert len(bullets) == len(set(bullets))
    body = "\n".join(printed)
    assert not re.search(r"\b[A-Z]{2,6}-\d{4}\b|keys init|scan as root|Evidence and results|FAIL ", body), body
    assert not any(other in body for other in ("Windows Security", "System Settings", "Control Panel")), body
    # and the Danish scan says it all in Danish, with the same last two lines
    da_lines = danish.stderr.splitlines()
    da_printed = da_lines[da_lines.index(""):]
    _, _, da_example = _doc_blocks()
    assert da_printed[-2] == da_example[-2] and Path(da_printed[-1]).is_absolute()
    assert not any("To fix it" in line or "need attention" in line for line in da_printed)
