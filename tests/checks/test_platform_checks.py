"""The shared check ids on Windows and macOS facts: pass, fail and not applicable per platform."""

from __future__ import annotations

import pytest

from auditor.collectors.antimalware import MacosXProtect, Product, WindowsDefender
from auditor.collectors.backup import BackupJob, MacosTimeMachine, WindowsBackup
from auditor.collectors.disk_native import MacosFileVault, NativeVolume, WindowsBitLocker
from auditor.collectors.listeners import Listener, ListenerFacts
from auditor.collectors.native_facts import (
    AuditPolicyEntry,
    FirewallProfile,
    MacosAuditTrail,
    MacosFirewall,
    MacosUnifiedLog,
    WindowsAuditPolicy,
    WindowsFirewall,
    WindowsSecurityLog,
)
from auditor.collectors.network import Address, Interface, NetworkFacts, Route
from auditor.collectors.screenlock import DesktopLock, LockSetting, ScreenlockFacts
from auditor.collectors.syslog import SyslogFacts
from auditor.collectors.timesync import TimeSyncFacts
from auditor.collectors.updates import PendingUpdate, UpdatesFacts
from auditor.collectors.vpn import VpnFacts, VpnProfile
from auditor.collectors.windows_guids import LOGON, PROCESS_CREATION, SECURITY_GROUPS, USER_ACCOUNTS
from auditor.models import Location, Platform, Role, Status, SystemFacts, Target, TargetKind
from checks.audit_logging import audit_trail, clock_synchronised, logs_kept
from checks.backup import backup_encrypted, backup_recent
from checks.disk_encryption import cipher_strength, volumes_encrypted
from checks.disk_native import protection_in_force
from checks.malware import malware_protection
from checks.network import firewall_default_deny, listening_ports_approved, no_plaintext_admin
from checks.patching import security_updates_installed
from checks.vpn import vpn_cipher_strength, vpn_client_configured, vpn_tunnel_up
from checks.workstation import screen_locks

NOW = 1795685400
HOME = Target("laptop", TargetKind.LOCAL, Role.WORKSTATION, Location.HOME)
OFFICE_SERVER = Target("srv", TargetKind.LOCAL, Role.SERVER, Location.OFFICE)


def _vol(name: str, bits: int | None = 256, state: str = "encrypted", protection: str = "on",
         **kw: object) -> NativeVolume:
    return NativeVolume(name, str(kw.pop("role", "os")), state, protection, 100.0, f"XtsAes{bits}", "aes-xts", bits,
                        **kw)  # type: ignore[arg-type]


def _statuses(verdicts: object) -> list[Status]:
    return [v.status for v in (verdicts if isinstance(verdicts, list) else [verdicts])]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("platform", "volumes", "encrypted", "strength", "force"), [
    # Given a fully protected AES-256 volume: everything passes
    ("windows", (_vol("C:"),), [Status.PASS], [Status.PASS], [Status.PASS]),
    # Given a data drive at XTS-AES-128 beside an OS drive at 256: DISK-0020 fails only the data drive
    ("windows", (_vol("C:"), _vol("D:", 128, role="data")), [Status.PASS] * 2, [Status.PASS, Status.FAIL],
     [Status.PASS] * 2),
    # Given BitLocker suspended: encrypted, but DISK-0040 fails
    ("windows", (_vol("C:", protection="off"),), [Status.PASS], [Status.PASS], [Status.FAIL]),
    # Given hardware encryption: DISK-0020 needs a reason (fail)
    ("windows", (NativeVolume("C:", "os", "encrypted", "on", 100.0, "Hardware", "hardware", None),), [Status.PASS],
     [Status.FAIL], [Status.PASS]),
    # Given an unencrypted data drive: DISK-0010 and DISK-0040 fail, DISK-0020 has no cipher to judge (n/a)
    ("windows", (_vol("D:", None, state="decrypted", protection="off", role="data"),), [Status.FAIL],
     [Status.NOT_APPLICABLE], [Status.FAIL]),
    # Given a removable drive only: nothing is in scope, so the drives cannot be shown (fail, with the reason)
    ("windows", (_vol("E:", None, state="decrypted", role="removable"),), [Status.FAIL], [Status.FAIL],
     [Status.FAIL]),
    # Given FileVault still encrypting on Apple silicon: DISK-0010 warns, DISK-0040 fails
    ("macos", (_vol("Data", state="encrypting"),), [Status.WARN], [Status.PASS], [Status.FAIL]),
    # Given FileVault deferred on an Intel Mac: not encrypted yet
    ("macos", (_vol("Data", None, state="decrypted", protection="off", deferred=True),), [Status.FAIL],
     [Status.NOT_APPLICABLE], [Status.FAIL]),
    # Given an Intel Mac (XTS-AES-128): DISK-0020 fails
    ("macos", (_vol("Data", 128),), [Status.PASS], [Status.FAIL], [Status.PASS]),
])
def test_disk_checks_on_native_volumes(platform: str, volumes: tuple[NativeVolume, ...], encrypted: list[Status],
                                       strength: list[Status], force: list[Status]) -> None:
    facts = WindowsBitLocker(volumes) if platform == "windows" else MacosFileVault(volumes)
    assert _statuses(volumes_encrypted(facts)) == encrypted
    assert _statuses(cipher_strength(facts, 256, False)) == strength
    assert _statuses(protection_in_force(facts)) == force


def test_disk_0020_with_no_encrypted_drive_says_why_it_judges_nothing() -> None:
    # Given a Windows data drive that BitLocker has not encrypted
    facts = WindowsBitLocker((_vol("D:", None, state="decrypted", protection="off", role="data"),))
    # When DISK-0020 evaluates it, then it names the reason, not "nothing this check judges was found"
    (verdict,) = cipher_strength(facts, 256, False)
    assert verdict.message == ("No fixed drive is encrypted by BitLocker, so there is no cipher to judge (DISK-0010 "
                               "reports the drives that are not encrypted).")


def test_intel_mac_fails_in_words_not_with_the_raw_processor_string() -> None:
    # Given an Intel Mac's FileVault volume as the collector describes it
    volume = _vol("Macintosh HD - Data (disk1s5)", 128, basis="FileVault on an Intel Mac uses XTS-AES-128")
    facts = MacosFileVault((volume,), "Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz (Intel)")
    # When DISK-0020 evaluates it
    (verdict,) = cipher_strength(facts, 256, False)
    # Then the message says "an Intel Mac" and keeps the processor model for the observed values only
    assert verdict.message.startswith("Macintosh HD - Data (disk1s5) (operating-system drive): FileVault on an Intel "
                                      "Mac uses XTS-AES-128, i.e. AES-128; the agreement requires AES-256. This is a "
                                      "FAIL unless"), verdict.message
    assert "Core(TM)" not in verdict.message
    assert verdict.observed["processor"] == "Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz (Intel)"


def test_apple_silicon_mac_passes_in_words() -> None:
    volume = _vol("Macintosh HD - Data (disk3s5)", 256,
                  basis="FileVault on an Apple silicon Mac uses AES-256-XTS (Secure Enclave AES engine)")
    (verdict,) = cipher_strength(MacosFileVault((volume,), "Apple M3 (Apple silicon)"), 256, False)
    assert verdict.status is Status.PASS
    assert verdict.message == ("Macintosh HD - Data (disk3s5) (operating-system drive): FileVault on an Apple "
                               "silicon Mac uses AES-256-XTS (Secure Enclave AES engine), i.e. AES-256.")


def test_intel_mac_passes_when_the_controller_accepts_aes_128() -> None:
    assert _statuses(cipher_strength(MacosFileVault((_vol("Data", 128),)), 128, False)) == \
        [Status.PASS]


def _policy(*audited: str, privilege: bool = True) -> WindowsAuditPolicy:
    entries = [AuditPolicyEntry(LOGON, "Logon", "Success and Failure", True, True)]
    entries += [AuditPolicyEntry(g, g, "Success", True, False) for g in audited]
    if privilege:
        entries.append(AuditPolicyEntry(PROCESS_CREATION, "Process Creation", "Success", True, False))
    return WindowsAuditPolicy(tuple(entries))


@pytest.mark.parametrize(("facts", "status"), [
    (_policy(USER_ACCOUNTS, SECURITY_GROUPS), Status.PASS),
    (_policy(USER_ACCOUNTS, SECURITY_GROUPS, privilege=False), Status.FAIL),
    (WindowsAuditPolicy(problem="auditpol: needs administrator rights"), Status.FAIL),
    (WindowsAuditPolicy((AuditPolicyEntry(LOGON, "Anmelden", "Erfolg", None, None),)), Status.WARN),
    (MacosAuditTrail("System mode = INFO"), Status.WARN),
])
def test_log_0010_windows_and_macos(facts: WindowsAuditPolicy | MacosAuditTrail, status: Status) -> None:
    assert audit_trail(facts, []).status is status


def test_log_0010_windows_requires_file_system_auditing_for_personal_data_paths() -> None:
    verdict = audit_trail(_policy(USER_ACCOUNTS, SECURITY_GROUPS), ["C:\\Data"])
    assert verdict.status is Status.FAIL and "File System" in verdict.message


@pytest.mark.parametrize(("log", "status"), [
    (WindowsSecurityLog(True, 20971520, False, False, NOW - 12 * 86400, NOW), Status.FAIL),
    (WindowsSecurityLog(True, 1073741824, False, False, NOW - 120 * 86400, NOW), Status.PASS),
    (WindowsSecurityLog(True, 20971520, True, True, None, NOW), Status.PASS),
    (WindowsSecurityLog(None, problem="wevtutil: needs administrator rights"), Status.FAIL),
])
def test_log_0020_windows_security_log(log: WindowsSecurityLog, status: Status) -> None:
    assert logs_kept(log, SyslogFacts(), 90).status is status


def test_log_0020_macos_says_retention_cannot_be_proven() -> None:
    verdict = logs_kept(MacosUnifiedLog(True), SyslogFacts(), 90)
    assert verdict.status is Status.WARN and "cannot be proven" in verdict.message


@pytest.mark.parametrize(("facts", "status"), [
    (TimeSyncFacts(True, "w32tm", True), Status.PASS),
    (TimeSyncFacts(False, "w32tm", True), Status.FAIL),
    (TimeSyncFacts(None, "systemsetup", True, unavailable={"sntp": "timed out"}), Status.WARN),
    (TimeSyncFacts(None, "", False, unavailable={"w32tm": "W32Time is not running"}), Status.FAIL),
])
def test_log_0040_windows_and_macos(facts: TimeSyncFacts, status: Status) -> None:
    assert clock_synchronised(facts).status is status


@pytest.mark.parametrize(("facts", "status"), [
    (WindowsFirewall(tuple(FirewallProfile(n, True, "block") for n in ("Domain", "Private", "Public"))), Status.PASS),
    (WindowsFirewall((FirewallProfile("Public", False, "block"),)), Status.FAIL),
    (WindowsFirewall((FirewallProfile("Private", True, "allow"),)), Status.FAIL),
    (WindowsFirewall(unavailable={"Get-NetFirewallProfile": "access denied"}), Status.FAIL),
    (MacosFirewall(True, "per application", True), Status.PASS),
    (MacosFirewall(True, "per application", False), Status.WARN),
    (MacosFirewall(False), Status.FAIL),
    (MacosFirewall(unavailable={"socketfilterfw": "`socketfilterfw` is not installed"}), Status.FAIL),
])
def test_fw_0010_windows_and_macos(facts: WindowsFirewall | MacosFirewall, status: Status) -> None:
    assert firewall_default_deny(facts).status is status


def test_net_checks_on_windows_listeners() -> None:
    facts = ListenerFacts((Listener("tcp", "0.0.0.0", 445, "", ("System",)), Listener("tcp", "::", 23, "",
                                                                                       ("tlntsvr",))))
    assert no_plaintext_admin(facts).status is Status.FAIL
    assert listening_ports_approved(facts, {}, HOME).status is Status.NOT_APPLICABLE
    assert listening_ports_approved(facts, {"workstation": [445, 23]}, HOME).status is Status.PASS
    assert no_plaintext_admin(ListenerFacts((Listener("tcp", "0.0.0.0", 445),))).status is Status.PASS


WG_UP = NetworkFacts((Interface("office", "wireguard", "none", ("UP", "LOWER_UP"), "UP",
                                (Address("inet", "10.66.0.17", 32),)),),
                     (Route("default", "Wi-Fi", metric=45), Route("0.0.0.0/1", "office", metric=5),
                      Route("128.0.0.0/1", "office", metric=5)))
IKE = VpnProfile("ikev2", "Office IKEv2", "windows", True, False, {"encryptionlevel": "Required",
                                                                    "splittunneling": "False"})


@pytest.mark.parametrize(("vpn", "network", "target", "configured", "tunnel"), [
    (VpnFacts(profiles=(IKE,)), NetworkFacts(), HOME, Status.PASS, Status.FAIL),  # installed but down
    (VpnFacts(), NetworkFacts(), HOME, Status.FAIL, Status.FAIL),  # no VPN client
    (VpnFacts(installed={"WireGuard": "service WireGuardManager (Running)"}), WG_UP, HOME, Status.PASS, Status.PASS),
    (VpnFacts(profiles=(VpnProfile("ikev2", "Office", "windows", True, True, {"splittunneling": "False"}),)),
     NetworkFacts(), HOME, Status.PASS, Status.PASS),  # built-in VPN connected, full tunnel
    (VpnFacts(), NetworkFacts(), OFFICE_SERVER, Status.NOT_APPLICABLE, Status.NOT_APPLICABLE),
])
def test_vpn_0010_0020_windows(vpn: VpnFacts, network: NetworkFacts, target: Target, configured: Status,
                               tunnel: Status) -> None:
    assert vpn_client_configured(vpn, network, ["workstation"], target).status is configured
    assert vpn_tunnel_up(network, vpn, target).status is tunnel


def test_vpn_0030_windows_ikev2_warns_and_no_profile_is_not_applicable() -> None:
    (ike,) = vpn_cipher_strength(VpnFacts(profiles=(IKE,)), 256, False)
    assert ike.status is Status.WARN and "encryption level (Required)" in ike.message
    (none,) = vpn_cipher_strength(VpnFacts(), 256, False)
    assert none.status is Status.NOT_APPLICABLE
    wg = VpnProfile("wireguard", "Office", "macos", True, True)
    assert vpn_cipher_strength(VpnFacts(profiles=(wg,)), 256, True)[0].status is Status.PASS


def _lock(desktop: str, system: LockSetting, user: LockSetting) -> ScreenlockFacts:
    defaults = (0, False, 0) if desktop == "windows" else (1200, True, 0)
    return ScreenlockFacts((desktop,), locks=(DesktopLock(desktop, defaults, (system, user)),))


@pytest.mark.parametrize(("facts", "status"), [
    (_lock("windows", LockSetting("system", "InactivityTimeoutSecs", 900, True, 0, ("idle", "enabled")),
           LockSetting("user:e", "HKCU", None, None, 0)), Status.PASS),
    (_lock("windows", LockSetting("system", "InactivityTimeoutSecs", 1800, True, 0, ("idle", "enabled")),
           LockSetting("user:e", "HKCU", 600, True, 0)), Status.FAIL),
    (_lock("windows", LockSetting("system", ""), LockSetting("user:e", "HKCU", 0, False, 0)), Status.FAIL),
    (_lock("macos", LockSetting("system", ""), LockSetting("user:e", "sysadminctl", 300, True, 0)), Status.WARN),
])
def test_lock_0010_windows_and_macos(facts: ScreenlockFacts, status: Status) -> None:
    # (A server is not applicable before its facts are collected: tests/checks/test_workstation.py.)
    (verdict,) = screen_locks(facts, 900)
    assert verdict.status is status
    # And the finding names no resource: a Windows or macOS machine has one screen lock, and the platform's name
    # as a resource reads like a stray word after the target's ("laptop-017 windows:")
    assert verdict.resource == ""


WIN = SystemFacts(Platform.WINDOWS, "Microsoft Windows 11 Pro", "10.0.26200", "windows")


@pytest.mark.parametrize(("updates", "system", "status"), [
    (UpdatesFacts("windows update", True, (), NOW - 3600, "search", NOW), WIN, Status.PASS),
    (UpdatesFacts("windows update", True, (PendingUpdate("2026-11 Cumulative Update", "KB5070773", "Critical",
                                                         True),), NOW - 3600, "search", NOW), WIN, Status.FAIL),
    (UpdatesFacts("windows update", True, (), NOW - 3600, "search", NOW),
     SystemFacts(Platform.WINDOWS, "Microsoft Windows 11 Pro", "10.0.22631", "windows"), Status.FAIL),  # 23H2 ended
    (UpdatesFacts("softwareupdate", True, (), NOW - 3600, "prefs", NOW),
     SystemFacts(Platform.MACOS, "macOS", "15.7.2", "macos"), Status.PASS),
    (UpdatesFacts("softwareupdate", True, (), NOW - 3600, "prefs", NOW),
     SystemFacts(Platform.MACOS, "macOS", "13.7.8", "macos"), Status.FAIL),
])
def test_patch_0010_windows_and_macos(updates: UpdatesFacts, system: SystemFacts, status: Status) -> None:
    assert security_updates_installed(updates, system).status is status


TM = "Time Machine (Backup)"


@pytest.mark.parametrize(("facts", "recent", "encrypted"), [
    (MacosTimeMachine(NOW, jobs=(BackupJob(TM, "timemachine", "tmutil", result="success", finished_at=NOW - 3600),),
                      encryption={TM: "encrypted"}), Status.PASS, [Status.WARN]),
    (MacosTimeMachine(NOW, jobs=(BackupJob(TM, "timemachine", "tmutil", result="success",
                                           finished_at=NOW - 9 * 86400),), encryption={TM: "not encrypted"}),
     Status.FAIL, [Status.FAIL]),
    (WindowsBackup(NOW), Status.FAIL, [Status.NOT_APPLICABLE]),
])
def test_backup_windows_and_macos(facts: WindowsBackup | MacosTimeMachine, recent: Status,
                                  encrypted: list[Status]) -> None:
    assert backup_recent(facts, 26, []).status is recent
    assert _statuses(backup_encrypted(facts, 256, False)) == encrypted


WBADMIN = BackupJob("Windows Server Backup (wbadmin)", "wbadmin", "wbadmin", "wbadmin get versions",
                    result="success", finished_at=NOW - 12 * 3600)


def test_backup_0010_names_a_windows_or_mac_backup_once() -> None:
    # Given a Windows Server Backup and a Time Machine backup, each named for its product
    windows_backup = WindowsBackup(NOW, ("wbadmin",), (WBADMIN,))
    mac = MacosTimeMachine(NOW, jobs=(BackupJob(TM, "timemachine", "tmutil", result="success",
                                                finished_at=NOW - 3600),), encryption={TM: "encrypted"})
    # When BACKUP-0010 passes them, then the tool is not repeated after a name that already says it
    assert backup_recent(windows_backup, 26, []).message == \
        "The newest successful backup is 12.0 h old (Windows Server Backup (wbadmin) last succeeded)."
    assert backup_recent(mac, 26, []).message == \
        "The newest successful backup is 1.0 h old (Time Machine (Backup) last succeeded)."


def test_backup_0020_on_windows_server_backup_says_what_it_does_not_encrypt() -> None:
    # Given Windows Server Backup's newest version
    (verdict,) = backup_encrypted(WindowsBackup(NOW, ("wbadmin",), (WBADMIN,)), 256, False)
    # Then it fails because AES-256 is not evidenced, without repeating the resource's name in the message
    assert verdict.status is Status.FAIL and verdict.resource == "Windows Server Backup (wbadmin)"
    assert verdict.message == (
        "wbadmin has no encryption setting of its own: its backups are only as protected as the drive or share "
        "they are written to (a BitLocker drive, say), which this check cannot see, so AES-256 is not evidenced.")
    assert "Backup job" not in verdict.message


def test_backup_0020_remediation_has_a_windows_part_of_its_own() -> None:
    from auditor.pipeline import load_checks
    from auditor.profile import load_profile
    from auditor.report.messages import _OS_PART

    remediation = load_checks(load_profile())["BACKUP-0020"].remediation
    parts = _OS_PART.split(remediation)[1:]
    by_os = dict(zip(parts[::2], parts[1::2], strict=True))
    # Then each platform reads its own part: Windows is not told to use restic or borg
    assert set(by_os) == {"Windows", "macOS", "Linux"}, by_os
    assert "BitLocker" in by_os["Windows"] and "restic" not in by_os["Windows"] and "borg" not in by_os["Windows"]


@pytest.mark.parametrize(("facts", "status"), [
    (WindowsDefender("Microsoft Defender", True, "1.441", NOW - 3600, NOW, "Normal"), Status.PASS),
    (WindowsDefender("Microsoft Defender", True, "1.439", NOW - 23 * 86400, NOW), Status.FAIL),
    (WindowsDefender("Microsoft Defender", False, "1.441", NOW - 3600, NOW), Status.FAIL),
    (WindowsDefender("", None, mode="Passive Mode", products=(Product("Acme AV", True, True),)), Status.PASS),
    (MacosXProtect(True, "5328", NOW - 9 * 86400, NOW), Status.PASS),
    (MacosXProtect(False, "5328", NOW - 9 * 86400, NOW), Status.FAIL),
    (MacosXProtect(True, "5100", NOW - 95 * 86400, NOW), Status.FAIL),
])
def test_malw_0010(facts: WindowsDefender | MacosXProtect, status: Status) -> None:
    assert malware_protection(facts).status is status


# Real-world outputs through the real parsers and the checks (tests/fixtures/outputs/*/README.md: sources)

def _recorded(family: str, name: str) -> str:
    from pathlib import Path

    return (Path(__file__).resolve().parents[1] / "fixtures" / "outputs" / family / name).read_text(encoding="utf-8")


def test_locked_bitlocker_data_drive_counts_as_encrypted_and_protected() -> None:
    from auditor.collectors.disk_native import parse_bitlocker_json
    from auditor.transports.base import CommandResult

    facts = WindowsBitLocker(parse_bitlocker_json(CommandResult(
        "x", 0, _recorded("windows", "win11-bitlocker-locked-data.json"))))
    by = {v.resource: v for v in volumes_encrypted(facts)}
    assert by["D:"].status is Status.PASS
    assert {v.resource: v.status for v in protection_in_force(facts)}["D:"] is Status.PASS
    # DISK-0020 cannot verify the key size of a locked drive, and says why
    strength = {v.resource: v for v in cipher_strength(facts, 256, False)}["D:"]
    assert strength.status is Status.FAIL and "locked" in strength.message


def test_manage_bde_in_german_fails_as_unreadable_not_as_unencrypted() -> None:
    from auditor.collectors import disk_native
    from auditor.transports.base import CommandResult
    from tests.auditor.fake_host import FakeHost

    host = FakeHost({str(disk_native.BITLOCKER): CommandResult("x", 1, "", "not recognized"),
                     str(disk_native.MANAGE_BDE): CommandResult("m", 0, _recorded("windows",
                                                                                  "win11-manage-bde-status-german.txt"))})
    (verdict,) = volumes_encrypted(disk_native.collect_windows(host))
    assert verdict.status is Status.FAIL and "could not be read" in verdict.message and "English" in verdict.message


def test_w32tm_local_cmos_clock_fails_log_0040() -> None:
    from auditor.collectors.windows import parse_w32tm

    assert clock_synchronised(parse_w32tm(_recorded("windows", "win11-w32tm-status-local-cmos.txt"))).status \
        is Status.FAIL


def test_third_party_antivirus_passes_malw_0010_when_defender_is_off() -> None:
    import json

    from auditor.collectors.windows import parse_defender

    verdict = malware_protection(parse_defender(json.loads(_recorded("windows", "win11-defender-thirdparty-av.json"))))
    assert verdict.status is Status.PASS and "ESET Security" in verdict.message


def test_softwareupdate_exit_1_with_nothing_new_passes_patch_0010() -> None:
    from auditor.collectors import macos
    from auditor.transports.base import CommandResult
    from tests.auditor.fake_host import FakeHost

    host = FakeHost({str(macos.SOFTWAREUPDATE): CommandResult(
        "s", 1, _recorded("macos", "softwareupdate-none-exit1-stdout.txt"),
        _recorded("macos", "softwareupdate-none-exit1-stderr.txt")),
        str(macos.HOST_TIME): CommandResult("t", 0, _recorded("macos", "date.txt"))},
        {macos.SOFTWAREUPDATE_PREFS: _recorded("macos", "softwareupdate-prefs.plist").encode()})
    mac = SystemFacts(Platform.MACOS, "macOS", "15.7.2", "macos")
    assert security_updates_installed(macos.updates(host, mac), mac).status is Status.PASS


def test_filevault_pending_restart_fails_disk_0040_as_deferred() -> None:
    from auditor.collectors import disk_native
    from auditor.transports.base import CommandResult
    from tests.auditor.fake_host import FakeHost

    host = FakeHost({str(disk_native.FDESETUP): CommandResult("f", 0, _recorded("macos",
                                                                                "fdesetup-off-pending-restart.txt")),
                     str(disk_native.APFS_LIST): CommandResult("d", 0, _recorded(
                         "macos", "applesilicon-diskutil-apfs-list.plist")),
                     str(disk_native.CPU_BRAND): CommandResult("b", 0, "Apple M3\n")})
    (verdict,) = protection_in_force(disk_native.collect_macos(host))
    assert verdict.status is Status.FAIL and "deferred" in verdict.message
