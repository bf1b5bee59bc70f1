"""Attacks on the evidence's secrecy: a host that prints or holds secrets (private keys, WireGuard and OpenVPN
keys, BitLocker recovery passwords, password assignments, credentials in URLs) must never get one into a run
folder (evidence, results.json, reports) or the activity log, while the evidence record says what was cut.

Three ways in: a live scan of this machine reading files a profile names (the local transport), recorded hosts
with secrets in their outputs scanned by the real runner, and a replay of an older run that stored secrets.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.bundle.evidence import EvidenceStore
from auditor.bundle.finish import finish
from auditor.clock import FixedClock
from auditor.models import Target
from auditor.pipeline import load_checks
from auditor.profile import load_profile
from auditor.report.render import render_reports
from auditor.runner import ScanOptions, run_scan
from auditor.transports.base import Command
from auditor.transports.records import command_record, file_record
from tests.auditor.transports.test_redaction import EXPECTED, SECRETS
from tests.conftest import run_cli
from tests.fixtures import make_hosts, make_platform_hosts

TEXT_REPORTS = ("html", "json", "sarif", "junit", "csv", "md")


def _leaked(folder: Path, secrets: list[str], *also: Path) -> list[str]:
    """Each secret found in any file of the folder (or the extra files), as 'secret in file'."""
    files = [p for p in folder.rglob("*") if p.is_file()] + [p for p in also if p.is_file()]
    return [f"{s[:12]}... in {p.name}" for p in files for s in secrets if s.encode() in p.read_bytes()]


def _records(folder: Path) -> dict[str, dict]:
    return {r["source"]: r for r in (json.loads(p.read_text()) for p in (folder / "evidence").glob("*/*.json")
                                     if p.name != "manifest.json")}


# ---- a live scan reads files the profile names ------------------------------------------------------------

@pytest.fixture(scope="module")
def live_scan(tmp_path_factory) -> tuple[Path, Path, dict[str, Path]]:
    """One real scan of this machine whose profile names every secret fixture as a backup marker file."""
    root = tmp_path_factory.mktemp("live-redaction")
    planted = {}
    for name in EXPECTED:
        planted[name] = root / "host" / name
        planted[name].parent.mkdir(exist_ok=True)
        shutil.copy(SECRETS / name, planted[name])
    profile = root / "profile.yaml"
    profile.write_text("extends: default\nparameters:\n  backup_marker_paths:\n"
                       + "".join(f"    - {json.dumps(str(p))}\n" for p in planted.values()))
    log = root / "audit.log"
    result = run_cli("--audit-log", str(log), "scan", "--profile", str(profile), "--check", "BACKUP-0010",
                     "--out", str(root / "run"), "--no-sign", "--no-history", "--quiet",
                     "--format", ",".join(TEXT_REPORTS))
    assert result.returncode in (0, 1), result.stderr
    return root / "run", log, planted


@pytest.mark.attack("redaction")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_live_scan_never_stores_a_secret_it_reads(live_scan, name):
    # Given a scan of this machine that read a file holding throw-away secrets (a profile named it)
    run, log, planted = live_scan
    # Then no secret is in any file of the run folder (evidence, results.json, reports) or the activity log
    assert _leaked(run, EXPECTED[name]["secrets"], log) == []
    # And the file's evidence record names each pattern and how many were cut
    record = _records(run)[str(planted[name])]
    assert record["redactions"] == EXPECTED[name]["patterns"]


# ---- recorded hosts with secrets in what the collectors read -----------------------------------------------

def _hex_key(bits: int) -> str:
    return ("0123456789abcdef" * 64)[:bits // 4]


def _debian12_server() -> tuple[Target, dict, dict, list[str], dict[str, int]]:
    """db-1 with a repository password in the restic unit, the volume key shown by dmsetup --showkeys, and a
    commented-out password in auditd.conf."""
    target, commands, files = make_hosts.BUILDERS["debian12-server"]()
    url_password, old_password = "Rz8qLw2vXk7sPn4t", "Tq3vHs9wLm2xRk8p"
    show = next(k for k in commands if k.startswith("env TZ=UTC systemctl show"))
    repository = f"rest:https://db1:{url_password}@backup.example.net/db-1"
    commands[show] = commands[show].replace("argv[]=/usr/bin/restic backup",
                                            f"argv[]=/usr/bin/restic -r {repository} backup")
    key = _hex_key(512)
    commands["dmsetup table"] = commands["dmsetup table"].replace(
        ":64:logon:cryptsetup:0bac9939-5b5f-4a2c-9b6a-9791f1d1fad7-d0", key)
    files["/etc/audit/auditd.conf"] += f"# krb5 password = {old_password}\n"
    assert key in commands["dmsetup table"] and url_password in commands[show]
    return target, commands, files, [url_password, key, old_password], {
        "url-password": 1, "dm-crypt-volume-key": 1, "password-assignment": 1}


def _ubuntu2204_laptop() -> tuple[Target, dict, dict, list[str], dict[str, int]]:
    """laptop-017 with a GNOME proxy password in the system dconf database."""
    target, commands, files = make_hosts.BUILDERS["ubuntu2204-laptop-home"]()
    password = "Vn6yQe3rTz8wPk2m"
    grep = "grep -rIs '' /etc/dconf"
    commands[grep] += ("/etc/dconf/db/local.d/10-proxy:[system/proxy/http]\n"
                       f"/etc/dconf/db/local.d/10-proxy:authentication-password='{password}'\n")
    return target, commands, files, [password], {"password-assignment": 1}


def _scan_recorded(case: str, target: Target, host, clock: FixedClock, run_dir: Path):
    profile = load_profile()
    store = EvidenceStore(run_dir)
    result = run_scan(f"20261126T000000Z-{case}", [target], load_checks(profile), profile, store, ScanOptions(),
                      open_target=lambda _target, _login: host, clock=clock)
    store.write_manifest()
    return result


def _verdicts(result) -> set[tuple[str, str, str]]:
    return {(f.check_id, f.resource, f.status.value) for f in result.findings()}


@pytest.mark.attack("redaction")
@pytest.mark.parametrize("build", [_debian12_server, _ubuntu2204_laptop], ids=["debian12-server", "ubuntu2204-laptop"])
def test_a_recorded_linux_host_with_secrets_is_judged_the_same_and_stores_none(tmp_path, build):
    # Given a recorded host, and the same host with secrets in the outputs its collectors read
    target, commands, files, secrets, patterns = build()
    clean_target, clean_commands, clean_files = make_hosts.BUILDERS[
        "debian12-server" if target.name == "db-1" else "ubuntu2204-laptop-home"]()
    clock = FixedClock(make_hosts.RECORDED_AT)
    # When both are scanned by the real runner, and the secret one's run folder is finished with its reports
    baseline = _scan_recorded("clean", clean_target, make_hosts.RecordedHost(target.name, clean_commands, clean_files),
                              clock, tmp_path / "clean")
    run = tmp_path / "run"
    result = _scan_recorded("secrets", target, make_hosts.RecordedHost(target.name, commands, files), clock, run)
    finish(run, result, db=None, render=lambda: render_reports(run, TEXT_REPORTS), signer=None, audit_head="",
           seal_to=())
    # Then every check gives the same verdict as on the host without secrets (nothing a check needs was cut)
    assert _verdicts(result) == _verdicts(baseline)
    # And no secret is in the run folder, while the records together name what was cut
    assert _leaked(run, secrets) == []
    cut: dict[str, int] = {}
    for record in _records(run).values():
        for name, count in record.get("redactions", {}).items():
            cut[name] = cut.get(name, 0) + count
    assert cut == patterns


@pytest.mark.attack("redaction")
def test_a_windows_host_that_prints_a_recovery_password_is_judged_the_same_and_stores_none(tmp_path):
    # Given the recorded Windows laptop, and the same laptop whose BitLocker listing also prints each volume's
    # numerical recovery password (as Get-BitLockerVolume does when the protectors are not reduced to names)
    target, answers = make_platform_hosts.CASES["win11-laptop-home"]
    key = str(make_platform_hosts.disk_native.BITLOCKER)
    listing = make_platform_hosts._read(answers[key]).decode()
    passwords = ["408705-236401-685289-012463-190487-535843-221309-672782",
                 "117964-604879-318890-059829-426393-651057-284053-003520"]
    volumes = json.loads(listing)
    for volume, password in zip(volumes, passwords, strict=False):
        volume["RecoveryPassword"] = password
    printed = json.dumps(volumes, indent=4)
    with_secrets = {**answers, key: ("literal:" + printed, 0, "out")}
    clock = FixedClock(make_platform_hosts.RECORDED_AT)
    # When both are scanned by the real runner
    baseline = _scan_recorded("clean", target, make_platform_hosts.RecordedHost(target.name, answers), clock,
                              tmp_path / "clean")
    run = tmp_path / "run"
    result = _scan_recorded("secrets", target, make_platform_hosts.RecordedHost(target.name, with_secrets), clock, run)
    finish(run, result, db=None, render=lambda: render_reports(run, TEXT_REPORTS), signer=None, audit_head="",
           seal_to=())
    # Then the disk checks judge BitLocker as before, no password is stored, and the record says two were cut
    assert _verdicts(result) == _verdicts(baseline)
    assert _leaked(run, passwords) == []
    assert _records(run)[key]["redactions"] == {"bitlocker-recovery-password": 2}


# ---- a replay of a run recorded before redaction existed ---------------------------------------------------

def _as_recorded_before_redaction(run: Path, host, older: Path) -> None:
    """The run's evidence as auditor stored it before redaction existed: each record with the host's raw text."""
    store = EvidenceStore(older)
    for record in _records(run).values():
        if record.pop("redactions", None):
            raw = command_record(record["target"], Command(tuple(record["argv"]), record["sudo"]),
                                 host.run(Command(tuple(record["argv"]), record["sudo"])), make_hosts.RECORDED_AT) \
                if record["kind"] == "command" else \
                file_record(record["target"], host.read_file(record["source"]), make_hosts.RECORDED_AT)
            record = {**record, **{k: raw[k] for k in ("stdout", "stderr", "content", "encoding") if k in raw}}
        store.save(record["target"], record)
    store.write_manifest()


@pytest.mark.attack("redaction")
def test_replaying_an_older_run_that_stored_secrets_stores_none(tmp_path):
    # Given an older run of db-1 whose evidence holds a repository password, a volume key and a password (as
    # auditor stored evidence before redaction existed)
    target, commands, files, secrets, patterns = _debian12_server()
    clock = FixedClock(make_hosts.RECORDED_AT)
    scanned = _scan_recorded("direct", target, make_hosts.RecordedHost(target.name, commands, files), clock,
                             tmp_path / "direct")
    older = tmp_path / "older"
    _as_recorded_before_redaction(tmp_path / "direct", make_hosts.RecordedHost(target.name, commands, files), older)
    assert sorted(_leaked(older, secrets)) != []  # the attack's premise: the older run does hold them
    # When it is replayed by the real runner
    run = tmp_path / "replay"
    profile = load_profile()
    store = EvidenceStore(run)
    result = run_scan("20270105T000000Z-replay", [target], load_checks(profile), profile, store,
                      ScanOptions(replay_from=older), clock=FixedClock(datetime(2027, 1, 5, tzinfo=UTC)))
    store.write_manifest()
    finish(run, dataclasses.replace(result, replayed_from="older"), db=None,
           render=lambda: render_reports(run, TEXT_REPORTS), signer=None, audit_head="", seal_to=())
    # Then the verdicts are those of the evidence, no secret reaches the new run, and the records say what went
    assert _verdicts(result) == _verdicts(scanned)
    assert _leaked(run, secrets) == []
    replayed = [r for r in _records(run).values() if r.get("redactions")]
    assert sorted(n for r in replayed for n in r["redactions"]) == sorted(patterns)
    assert {r["collected_at"] for r in replayed} == {"2026-11-26T14:43:46.000Z"}  # their recorded time kept


# ---- the activity log --------------------------------------------------------------------------------------

@pytest.mark.attack("redaction")
def test_a_credential_on_the_command_line_never_reaches_the_activity_log(tmp_path):
    # Given a command whose argument carries a password in a URL and a --password= style flag value
    log = tmp_path / "audit.log"
    run_cli("--audit-log", str(log), "verify", "https://auditor:Wq7pLz3nRt5v@evidence.example.net/run-17")
    run_cli("--audit-log", str(log), "history", "--history", str(tmp_path / "h.sqlite"), "--target",
            "db_password=Hx4mNp8qVz2k")
    # Then the log records both commands, each secret replaced by its pattern's marker
    text = log.read_text()
    assert "Wq7pLz3nRt5v" not in text and "Hx4mNp8qVz2k" not in text
    assert "[REDACTED:url-password]" in text and "[REDACTED:password-assignment]" in text
