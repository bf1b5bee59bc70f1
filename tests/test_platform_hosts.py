"""Recorded Windows and macOS hosts replayed through `python -m auditor replay`, as a controller would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HOSTS, run_cli


def _replay(case: str, tmp_path: Path, *extra: str) -> list[dict[str, Any]]:
    out = tmp_path / case
    done = run_cli("replay", str(HOSTS / case), "--out", str(out), "--quiet", "--no-history", *extra)
    assert done.returncode in (0, 1), done.stderr
    return json.loads((out / "results.json").read_text(encoding="utf-8"))["findings"]


def _by(findings: list[dict[str, Any]], check: str) -> dict[str, dict[str, Any]]:
    return {f["resource"]: f for f in findings if f["check_id"] == check}


def test_windows_laptop_at_home_fails_disk_0020_on_its_xts_aes_128_data_drive(tmp_path: Path) -> None:
    # Given a Windows 11 laptop at home with C: at XtsAes256 and D: at XtsAes128 (used space only)
    # When its recording is replayed
    findings = _replay("win11-laptop-home", tmp_path)
    # Then DISK-0020 fails for D: naming the drive and the method, and passes for C:
    strength = _by(findings, "DISK-0020")
    assert strength["D:"]["status"] == "fail" and "D:" in strength["D:"]["message"]
    assert "XtsAes128" in strength["D:"]["message"] and "AES-128" in strength["D:"]["message"]
    assert strength["C:"]["status"] == "pass" and "AES-256" in strength["C:"]["message"]
    # And the removable E: drive is not judged, and D:'s used-space-only encryption is stated
    assert "E:" not in _by(findings, "DISK-0010")
    assert "used space" in _by(findings, "DISK-0010")["D:"]["message"]
    # And the installed-but-down VPN passes VPN-0010 and fails VPN-0020 at home
    statuses = {f["check_id"]: f["status"] for f in findings if not f["resource"]}
    assert statuses["VPN-0010"] == "pass" and statuses["VPN-0020"] == "fail"
    assert statuses["LOG-0020"] == "fail" and statuses["MALW-0010"] == "pass" and statuses["FW-0010"] == "pass"


def test_compliant_apple_silicon_mac_passes_disk_encryption(tmp_path: Path) -> None:
    # Given an Apple-silicon Mac with FileVault on
    findings = _replay("macos-applesilicon", tmp_path)
    # Then DISK-0010, DISK-0020 and DISK-0040 pass for its data volume, with AES-256 stated
    for check in ("DISK-0010", "DISK-0020", "DISK-0040"):
        (only,) = _by(findings, check).values()
        assert only["status"] == "pass", (check, only["message"])
    (strength,) = _by(findings, "DISK-0020").values()
    assert "AES-256" in strength["message"] and "Apple silicon" in strength["message"]
    statuses = {f["check_id"]: f["status"] for f in findings if not f["resource"]}
    assert statuses["VPN-0020"] == "pass" and statuses["FW-0010"] == "pass" and statuses["PATCH-0010"] == "pass"


def test_intel_mac_fails_disk_0020_saying_xts_aes_128(tmp_path: Path) -> None:
    # Given an Intel Mac with FileVault on
    findings = _replay("macos-intel", tmp_path)
    # Then DISK-0020 fails and says XTS-AES-128, and how a controller may accept it
    (strength,) = _by(findings, "DISK-0020").values()
    assert strength["status"] == "fail"
    assert "XTS-AES-128" in strength["message"] and "min_aes_bits: 128" in strength["message"]


def test_intel_mac_passes_disk_0020_when_the_controller_accepts_aes_128(tmp_path: Path) -> None:
    # Given a controller profile that accepts AES-128
    profile = tmp_path / "aes128.yaml"
    profile.write_text("extends: default\nparameters: {min_aes_bits: 128}\n", encoding="utf-8")
    # When the Intel Mac is replayed under it
    findings = _replay("macos-intel", tmp_path, "--profile", str(profile))
    # Then DISK-0020 passes
    (strength,) = _by(findings, "DISK-0020").values()
    assert strength["status"] == "pass"


@pytest.mark.parametrize("case", ["win11-laptop-home", "macos-applesilicon", "macos-intel"])
def test_replay_reproduces_the_golden_results(case: str, tmp_path: Path) -> None:
    # Given the golden results.json written when the host was built
    golden = json.loads((HOSTS / case / "results.json").read_text(encoding="utf-8"))["findings"]
    # When replayed, every finding has the same status and message
    again = _replay(case, tmp_path)
    assert [(f["check_id"], f["resource"], f["status"], f["message"]) for f in again] == \
        [(f["check_id"], f["resource"], f["status"], f["message"]) for f in golden]
