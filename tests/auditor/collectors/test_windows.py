"""Windows collectors on recorded outputs (tests/fixtures/outputs/windows/, sources in its README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.collectors import disk, disk_native, windows
from auditor.collectors.disk_native import WindowsBitLocker
from auditor.collectors.powershell import decode_output, epoch, json_objects
from auditor.collectors.system import UNAME, WINDOWS_OS, detect
from auditor.collectors.windows_guids import FILE_SYSTEM, LOGON, SENSITIVE_PRIVILEGE
from auditor.models import Platform, SystemFacts
from auditor.transports.base import CommandResult
from tests.auditor.fake_host import FakeHost

OUT = Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "windows"
WIN = SystemFacts(Platform.WINDOWS, "Microsoft Windows 11 Pro", "10.0.26200", "windows", is_root=True)


def _ok(command: object, name: str, status: int = 0) -> CommandResult:
    return CommandResult(str(command), status, (OUT / name).read_text(encoding="utf-8"))


def test_windows_is_detected_when_uname_is_missing() -> None:
    # Given a host without uname whose PowerShell answers the detection script
    host = FakeHost({str(WINDOWS_OS): _ok(WINDOWS_OS, "win11-os.json")})
    # When the system is detected
    facts = detect(host)
    # Then it is Windows 11 Pro, build 26200, run as administrator
    assert (facts.platform, facts.os_name, facts.os_version, facts.hostname, facts.is_root) == \
        (Platform.WINDOWS, "Microsoft Windows 11 Pro", "10.0.26200", "LAPTOP-017", True)
    assert host.calls[0] == str(UNAME)


def test_git_bash_uname_on_windows_is_not_taken_for_linux() -> None:
    host = FakeHost({str(UNAME): CommandResult(str(UNAME), 0, "MINGW64_NT-10.0-26200 LAPTOP 3.5.4 x86_64\n"),
                     str(WINDOWS_OS): _ok(WINDOWS_OS, "win11-os.json")})
    assert detect(host).platform is Platform.WINDOWS


def test_bitlocker_json_gives_every_fixed_volume_with_its_method() -> None:
    # Given Get-BitLockerVolume with C: XtsAes256, D: XtsAes128 used-space-only, and a removable E:
    host = FakeHost({str(disk_native.BITLOCKER): _ok(disk_native.BITLOCKER, "win11-bitlocker-data-xts128.json")})
    facts = disk.collect(host, WIN)
    assert isinstance(facts, WindowsBitLocker)
    by_name = {v.name: v for v in facts.volumes}
    # Then each volume's role, state, protection, method and effective bits are read from the fields
    assert (by_name["C:"].role, by_name["C:"].method, by_name["C:"].effective_bits) == ("os", "XtsAes256", 256)
    assert (by_name["D:"].role, by_name["D:"].method, by_name["D:"].effective_bits) == ("data", "XtsAes128", 128)
    assert by_name["D:"].used_space_only is True and by_name["C:"].used_space_only is False
    assert by_name["E:"].role == "removable" and by_name["E:"].state == "decrypted"
    assert not facts.problem


def test_suspended_bitlocker_is_encrypted_with_protection_off() -> None:
    (volume,) = disk_native.parse_bitlocker_json(_ok("x", "win10-bitlocker-suspended.json"))
    assert (volume.state, volume.protection, volume.used_space_only) == ("encrypted", "off", True)


def test_powershell_7_enum_names_are_read_like_numbers() -> None:
    c, d = disk_native.parse_bitlocker_json(_ok("x", "win11-bitlocker-pwsh7-names.json"))
    assert (c.state, c.percent, c.effective_bits) == ("encrypting", 43.0, 256)
    assert (d.cipher, d.effective_bits) == ("hardware", None)


def test_manage_bde_is_the_fallback_when_the_cmdlet_is_missing() -> None:
    # Given no Get-BitLockerVolume (exit 1) but manage-bde -status
    host = FakeHost({str(disk_native.BITLOCKER): CommandResult("x", 1, "", "Get-BitLockerVolume : The term ..."),
                     str(disk_native.MANAGE_BDE): _ok(disk_native.MANAGE_BDE, "win11-manage-bde-status.txt")})
    volumes = {v.name: v for v in disk.collect(host, WIN).volumes}
    # Then C:, D: and F: come from the text, with used-space-only and suspended protection understood
    assert volumes["C:"].effective_bits == 256 and volumes["D:"].effective_bits == 128
    assert volumes["D:"].used_space_only is True and volumes["F:"].protection == "off"
    assert volumes["C:"].role == "os" and "manage-bde" in volumes["C:"].basis


def test_no_bitlocker_at_all_says_why() -> None:
    facts = disk.collect(FakeHost({}), WIN)
    assert facts.volumes == () and "manage-bde" in facts.problem


@pytest.mark.parametrize(("name", "logon", "privilege", "files"), [
    ("win11-auditpol-default.csv", (True, True), None, False),
    ("win11-auditpol-hardened.csv", (True, True), True, True),
])
def test_auditpol_csv_is_read_by_guid(name: str, logon: tuple[bool, bool], privilege: bool | None,
                                      files: bool) -> None:
    entries = {e.guid: e for e in windows.parse_auditpol((OUT / name).read_text(encoding="utf-8"))}
    assert (entries[LOGON].success, entries[LOGON].failure) == logon
    assert bool(entries[SENSITIVE_PRIVILEGE].success) == bool(privilege)
    assert entries[FILE_SYSTEM].success is files


def test_auditpol_in_german_keeps_guids_and_says_the_words_are_unknown() -> None:
    entries = windows.parse_auditpol((OUT / "win11-auditpol-german.csv").read_text(encoding="utf-8"))
    assert entries[0].guid == LOGON and entries[0].name == "Anmelden" and entries[0].success is None


def test_security_log_size_retention_and_covered_days() -> None:
    host = FakeHost({str(windows.WEVTUTIL): _ok(windows.WEVTUTIL, "win11-wevtutil-gl-security.txt"),
                     str(windows.SECURITY_OLDEST): _ok(windows.SECURITY_OLDEST, "win11-security-oldest.json")})
    log = windows.journald(host, WIN)
    assert (log.enabled, log.max_bytes, log.retention, log.auto_backup) == (True, 20971520, False, False)
    assert log.covered_days is not None and 12 < log.covered_days < 13


@pytest.mark.parametrize(("name", "synced"), [("win11-w32tm-status.txt", True),
                                              ("win11-w32tm-status-german-unsynced.txt", False)])
def test_w32tm_is_read_by_its_leading_numbers(name: str, synced: bool) -> None:
    assert windows.parse_w32tm((OUT / name).read_text(encoding="utf-8")).synchronized is synced


def test_vpn_installed_but_down_and_no_vpn() -> None:
    down = windows.parse_vpn(json_objects(_ok("x", "win11-vpn-installed-down.json"))[0])
    (profile,) = down.profiles
    assert (profile.name, profile.kind, profile.active, profile.settings["encryptionlevel"]) == \
        ("Office IKEv2", "ikev2", False, "Required")
    assert "WireGuard" in down.installed
    none = windows.parse_vpn(json_objects(_ok("x", "win11-vpn-none.json"))[0])
    assert (none.profiles, dict(none.installed), dict(none.processes)) == ((), {}, {})


def test_network_adapters_tunnels_and_routes() -> None:
    facts = windows.parse_network(json_objects(_ok("x", "win11-network-wireguard-up.json"))[0])
    office = next(i for i in facts.interfaces if i.name == "office")
    assert office.kind == "wireguard" and office.up and office.addresses[0].local == "10.66.0.17"
    assert {r.dst for r in facts.routes if r.dev == "office"} == {"0.0.0.0/1", "128.0.0.0/1"}


def test_firewall_profiles_not_configured_means_block() -> None:
    profiles = windows.parse_firewall_profiles(_ok("x", "win11-firewall.json"))
    assert [(p.name, p.enabled, p.inbound) for p in profiles] == \
        [("Domain", True, "block"), ("Private", True, "block"), ("Public", True, "block")]
    off = {p.name: p for p in windows.parse_firewall_profiles(_ok("x", "win11-firewall-public-off.json"))}
    assert off["Public"].enabled is False and off["Private"].inbound == "allow"


def test_listeners_with_owning_process() -> None:
    facts = windows.parse_listeners(json_objects(_ok("x", "win11-listeners.json"))[0])
    assert any(item.port == 445 and item.processes == ("System",) for item in facts.listeners)
    assert any(item.protocol == "udp" and item.port == 5353 for item in facts.listeners)
    assert [i.port for i in facts.listeners if i.loopback] == [49670]


def test_screenlock_policy_is_enforced_and_user_setting_is_not() -> None:
    policy = windows.parse_screenlock(json_objects(_ok("x", "win11-screenlock-policy.json"))[0]).locks[0]
    assert policy.layers[0].idle_seconds == 900 and policy.layers[0].locked == ("idle", "enabled")
    user = windows.parse_screenlock(json_objects(_ok("x", "win11-screenlock-user-only.json"))[0]).locks[0]
    assert user.layers[0].locked == () and (user.layers[1].idle_seconds, user.layers[1].lock_enabled) == (600, True)


def test_pending_security_updates_by_category_guid() -> None:
    facts = windows.parse_updates(json_objects(_ok("x", "win11-updates-security-pending.json"))[0])
    assert [u.name[:21] for u in facts.security] == ["2026-11 Cumulative Up"]
    assert len(facts.pending) == 2 and facts.index_age_days == pytest.approx(3.0)


def test_wbadmin_version_identifiers_are_utc_timestamps() -> None:
    (job,) = windows.parse_wbadmin_versions((OUT / "win11-wbadmin-versions.txt").read_text(encoding="utf-8"))
    assert job.finished_at == 1795640400 and job.result == "success"


def test_defender_and_security_center() -> None:
    good = windows.parse_defender(json_objects(_ok("x", "win11-defender.json"))[0])
    assert good.realtime is True and good.signature_age_days == pytest.approx(0.375)
    bad = windows.parse_defender(json_objects(_ok("x", "win11-defender-stale-off.json"))[0])
    assert bad.realtime is False and bad.products[0].enabled is False


def test_utf16_and_dates_from_powershell() -> None:
    assert decode_output("\ufeff{\x00}\x00") == "{}"
    assert epoch("/Date(1795685400000)/") == 1795685400 and epoch("2026-11-26T09:30:00Z") == 1795685400


# Real-world variants (tests/fixtures/outputs/windows/README.md says where each format comes from)

def test_locked_data_drive_is_encrypted_and_protected_but_its_method_unreadable() -> None:
    # Given a fixed data drive that BitLocker has locked (no password typed since boot): the cmdlet can read neither
    # its conversion status nor its method, and reports ProtectionStatus Unknown (2) with LockStatus Locked (1)
    host = FakeHost({str(disk_native.BITLOCKER): _ok(disk_native.BITLOCKER, "win11-bitlocker-locked-data.json")})
    facts = disk.collect(host, WIN)
    assert isinstance(facts, WindowsBitLocker)
    d = {v.name: v for v in facts.volumes}["D:"]
    # Then it is encrypted with its key protected (a locked volume never has its key in the clear), method unknown
    assert (d.role, d.state, d.protection, d.effective_bits, d.cipher) == ("data", "encrypted", "on", None, "")
    assert "locked" in d.basis


def test_manage_bde_locked_volume_is_encrypted_and_protected() -> None:
    host = FakeHost({str(disk_native.BITLOCKER): CommandResult("x", 1, "", "Get-BitLockerVolume : The term ..."),
                     str(disk_native.MANAGE_BDE): _ok(disk_native.MANAGE_BDE, "win11-manage-bde-status-locked.txt")})
    d = {v.name: v for v in disk.collect(host, WIN).volumes}["D:"]
    assert (d.state, d.protection, d.effective_bits, d.cipher, d.percent) == ("encrypted", "on", None, "", None)
    assert "locked" in d.basis


def test_manage_bde_in_another_language_says_so_instead_of_reporting_unencrypted_drives() -> None:
    # Given no BitLocker cmdlet (as on Windows Home) and manage-bde answering in German
    host = FakeHost({str(disk_native.BITLOCKER): CommandResult("x", 1, "", "Get-BitLockerVolume : The term ..."),
                     str(disk_native.MANAGE_BDE): _ok(disk_native.MANAGE_BDE, "win11-manage-bde-status-german.txt")})
    facts = disk.collect(host, WIN)
    # Then no volume is made up from labels it cannot read, and the problem says why
    assert facts.volumes == ()
    assert "English" in facts.problem and "manage-bde" in facts.problem


def test_w32tm_on_the_local_cmos_clock_is_not_synchronised() -> None:
    # Given W32Time serving its own clock: leap 0 and stratum 1 look healthy, but ReferenceId is LOCL (0x4C4F434C)
    facts = windows.parse_w32tm((OUT / "win11-w32tm-status-local-cmos.txt").read_text(encoding="utf-8"))
    assert facts.synchronized is False


def test_defender_off_because_another_antivirus_is_registered() -> None:
    # Given Get-MpComputerStatus failing (Defender disabled by a third-party antivirus) and Security Center listing it
    facts = windows.parse_defender(json_objects(_ok("x", "win11-defender-thirdparty-av.json"))[0])
    assert facts.engine == "" and facts.realtime is None
    assert [(p.name, p.enabled, p.up_to_date) for p in facts.products] == \
        [("Windows Defender", False, True), ("ESET Security", True, True)]


def test_windows_powershell_51_value_count_wrapper_is_an_array() -> None:
    # Given Windows PowerShell 5.1's serialisation of a PSObject-wrapped array (PowerShell issue #3222)
    from auditor.collectors.powershell import as_list

    assert as_list({"value": ["Tpm", "RecoveryPassword"], "Count": 2}) == ["Tpm", "RecoveryPassword"]
    assert as_list({"Name": "x"}) == [{"Name": "x"}]
