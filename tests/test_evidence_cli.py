"""Evidence you can trust, through the command line: signed scans, verify, seal and open, the audit trail,
history and drift, schedules, and runs killed at any point."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, child_env, run_cli

pytestmark = pytest.mark.slow
SECRET = {"AUDITOR_KEY_PASSPHRASE": "correct horse battery staple"}
FAST = ("--format", "none", "--check", "LOG-0040", "--check", "LOG-0020")


@pytest.fixture(scope="module")
def keydir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("keys") / "k"
    result = run_cli("keys", "init", "--dir", str(folder), env=SECRET)
    assert result.returncode == 0 and "SHA256:" in result.stdout, result.stderr
    return folder


def _scan(out: Path, keydir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("scan", "--quiet", "--out", str(out), "--sign-key", str(keydir / "signing.key"), *FAST, *extra,
                   env=SECRET)


def test_signed_scan_verifies_and_tampering_is_named(tmp_path, keydir):
    assert _scan(tmp_path / "run", keydir).returncode in (0, 1)
    pub = str(keydir / "signing.pub")
    ok = run_cli("verify", str(tmp_path / "run"), "--pubkey", pub)
    assert ok.returncode == 0 and "signature valid" in ok.stdout
    results = tmp_path / "run" / "results.json"
    results.write_text(results.read_text().replace('"fail"', '"pass"'))
    bad = run_cli("verify", str(tmp_path / "run"), "--pubkey", pub)
    assert bad.returncode == 1 and "CHANGED results.json" in bad.stdout


def test_seal_open_and_verify_a_bundle(tmp_path, keydir):
    assert _scan(tmp_path / "run", keydir, "--seal-to", str(keydir / "seal.pub")).returncode in (0, 1)
    bundle = tmp_path / "run.auditor-bundle"
    assert bundle.is_file()
    checked = run_cli("verify", str(bundle), "--key", str(keydir / "seal.key"), "--pubkey",
                      str(keydir / "signing.pub"), env=SECRET)
    assert checked.returncode == 0 and "OK:" in checked.stdout, checked.stdout + checked.stderr
    opened = run_cli("open", str(bundle), "--key", str(keydir / "seal.key"), "--out", str(tmp_path / "o"),
                     "--pubkey", str(keydir / "signing.pub"), env=SECRET)
    assert opened.returncode == 0 and (tmp_path / "o" / "results.json").is_file()
    wrong = run_cli("open", str(bundle), "--key", str(keydir / "seal.key"), "--out", str(tmp_path / "w"),
                    env={"AUDITOR_KEY_PASSPHRASE": "wrong"})
    assert wrong.returncode == 2 and "passphrase is wrong" in wrong.stderr and "Traceback" not in wrong.stderr


def test_audit_trail_records_every_command_without_secrets(tmp_path, keydir):
    log = tmp_path / "audit.log"
    _scan(tmp_path / "run", keydir, "--no-history")
    run_cli("--audit-log", str(log), "verify", str(tmp_path / "run"))
    run_cli("--audit-log", str(log), "scan", "--quiet", "--out", str(tmp_path / "r2"), "--no-sign", *FAST)
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["command"] for e in entries] == ["verify", "scan"]
    assert entries[1]["run_id"] and entries[1]["targets"] and "correct horse" not in log.read_text()
    assert run_cli("log", "verify", "--audit-log", str(log)).returncode == 0
    lines = log.read_text().splitlines(keepends=True)
    log.write_text(lines[1] + lines[0])
    broken = run_cli("log", "verify", "--audit-log", str(log))
    assert broken.returncode == 1 and "BROKEN at line 1" in broken.stdout


def test_history_diff_and_the_changes_section(tmp_path):
    db = str(tmp_path / "h.sqlite")
    for name in ("a", "b"):
        assert run_cli("scan", "--quiet", "--out", str(tmp_path / name), "--no-sign", "--history", db,
                       "--format", "html", "--check", "LOG-0040").returncode in (0, 1)
    listed = run_cli("history", "--history", db)
    assert listed.stdout.count("1 target(s)") == 2
    change = json.loads(run_cli("diff", "--since-last", "--history", db, "--json").stdout)
    assert change["new_failures"] == [] and change["fixed"] == []
    assert json.loads((tmp_path / "b" / "changes.json").read_text())["old"] == change["old"]
    assert "Changes since the previous run" in (tmp_path / "b" / "report.html").read_text()
    folders = run_cli("diff", str(tmp_path / "a"), str(tmp_path / "b"))
    assert folders.returncode == 0 and "still failing" in folders.stdout


def _kill_when(path: Path, argv: list[str], env: dict[str, str]) -> int:
    proc = subprocess.Popen([sys.executable, "-m", "auditor", *argv], cwd=ROOT, env=child_env(env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    return proc.wait()


def test_killed_scan_leaves_an_incomplete_folder_never_a_verifying_one(tmp_path, keydir):
    run = tmp_path / "run"
    _kill_when(run / "evidence", ["scan", "--quiet", "--out", str(run), "--sign-key", str(keydir / "signing.key")],
               SECRET)
    result = run_cli("verify", str(run), "--pubkey", str(keydir / "signing.pub"))
    assert result.returncode == 1 and "INCOMPLETE" in result.stdout


def test_killed_seal_leaves_no_bundle(tmp_path, keydir):
    run = tmp_path / "run"
    (run / "evidence").mkdir(parents=True)
    (run / "results.json").write_text(json.dumps({"schema_version": 1}))
    (run / "evidence" / "big.bin").write_bytes(os.urandom(1 << 20) * 64)
    bundle = tmp_path / "run.auditor-bundle"
    run_cli("verify", str(run))  # warm the import cache so the kill lands inside the seal
    _kill_when(tmp_path / ".run.auditor-bundle.tmp",
               ["seal", str(run), "--to", str(keydir / "seal.pub"), "--out", str(bundle)], {})
    assert not bundle.exists()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is part of systemd")
def test_schedule_writes_units_that_systemd_accepts(tmp_path, keydir, write):
    inventory = write("inv.yaml", "targets:\n  - {name: here, kind: local}\n")
    units = tmp_path / "units"
    result = run_cli("schedule", "--inventory", str(inventory), "--every", "daily", "--keep", "7",
                     "--seal-to", str(keydir / "seal.pub"), "--unit-dir", str(units))
    assert result.returncode == 0, result.stderr
    service = (units / "auditor-scan.service").read_text()
    assert "--keep\" \"7\"" in service and str(inventory) in service and "AUDITOR_KEY_PASSPHRASE" not in service
    assert "OnCalendar=daily" in (units / "auditor-scan.timer").read_text()
    checked = subprocess.run(["systemd-analyze", "verify", "--man=no", str(units / "auditor-scan.service"),
                              str(units / "auditor-scan.timer")], capture_output=True, text=True, check=False)
    problems = [line for line in checked.stderr.splitlines() if "auditor-scan" in line]
    assert problems == [], checked.stderr
    cron = run_cli("schedule", "--inventory", str(inventory), "--every", "weekly", "--cron")
    assert cron.stdout.startswith("@weekly cd ") and "-m auditor scan" in cron.stdout
