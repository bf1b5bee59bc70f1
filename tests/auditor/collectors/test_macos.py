"""macOS collectors on recorded outputs (tests/fixtures/outputs/macos/, sources in its README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.collectors import disk, disk_native, macos
from auditor.collectors.disk_native import MacosFileVault
from auditor.models import Platform, SystemFacts
from auditor.transports.base import CommandResult
from tests.auditor.fake_host import FakeHost

OUT = Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "macos"
MAC = SystemFacts(Platform.MACOS, "macOS", "26.1", "macos")


def _text(name: str) -> str:
    return (OUT / name).read_text(encoding="utf-8")


def _disk_host(fdesetup: str, brand: str, arm64: str | None, machine: str) -> FakeHost:
    commands = {str(disk_native.FDESETUP): CommandResult("f", 0, _text(fdesetup)),
                str(disk_native.APFS_LIST): CommandResult("d", 0, _text("applesilicon-diskutil-apfs-list.plist")),
                str(disk_native.CPU_BRAND): CommandResult("b", 0, _text(brand)),
                str(disk_native.MACHINE): CommandResult("m", 0, machine)}
    if arm64 is not None:
        commands[str(disk_native.ARM64)] = CommandResult("a", 0, arm64)
    return FakeHost(commands)


@pytest.mark.parametrize(("brand", "arm64", "machine", "bits", "hardware"), [
    ("applesilicon-cpu-brand.txt", "1\n", "arm64\n", 256, "Apple silicon"),
    # A Python under Rosetta sees x86_64 from uname, but hw.optional.arm64 still says Apple silicon
    ("applesilicon-cpu-brand.txt", "1\n", "x86_64\n", 256, "Apple silicon"),
    ("intel-cpu-brand.txt", None, "x86_64\n", 128, "Intel"),
])
def test_filevault_cipher_follows_the_hardware(brand: str, arm64: str | None, machine: str, bits: int,
                                               hardware: str) -> None:
    facts = disk.collect(_disk_host("fdesetup-on.txt", brand, arm64, machine), MAC)
    assert isinstance(facts, MacosFileVault)
    (volume,) = facts.volumes  # only the Data volume holds user data
    assert volume.name == "Macintosh HD - Data (disk3s5)" and volume.effective_bits == bits
    assert hardware in facts.hardware and volume.state == "encrypted" and volume.protection == "on"
    # And the basis, which the findings quote, says the kind of Mac in words, not the raw processor string
    assert volume.basis == {256: "FileVault on an Apple silicon Mac uses AES-256-XTS (Secure Enclave AES engine)",
                            128: "FileVault on an Intel Mac uses XTS-AES-128"}[bits]


@pytest.mark.parametrize(("name", "state", "percent", "deferred"), [
    ("fdesetup-on.txt", "encrypted", 100.0, False), ("fdesetup-encrypting.txt", "encrypting", 43.2, False),
    ("fdesetup-deferred.txt", "decrypted", 0.0, True), ("fdesetup-off.txt", "decrypted", 0.0, False),
])
def test_fdesetup_states(name: str, state: str, percent: float, deferred: bool) -> None:
    assert disk_native.parse_fdesetup(_text(name)) == (state, percent, deferred)


def test_tunnels_ignore_the_system_utuns_with_link_local_only() -> None:
    interfaces = {i.name: i for i in macos.parse_ifconfig(_text("applesilicon-ifconfig-wireguard-up.txt"))}
    assert interfaces["utun0"].tunnel and interfaces["utun0"].addresses == ()
    assert interfaces["utun4"].up and interfaces["utun4"].addresses[0].local == "10.66.0.21"
    routes = macos.parse_netstat_routes(_text("applesilicon-netstat-routes-full-tunnel.txt"))
    assert {(r.dst, r.dev) for r in routes} == {("0.0.0.0/1", "utun4"), ("default", "en0"), ("128.0.0.0/1", "utun4")}


def test_scutil_nc_connected_and_disconnected() -> None:
    (wg,) = macos.parse_scutil_nc(_text("applesilicon-scutil-nc-wireguard-connected.txt"))
    (ike,) = macos.parse_scutil_nc(_text("intel-scutil-nc-ikev2-disconnected.txt"))
    assert (wg.kind, wg.name, wg.active) == ("wireguard", "Office", True)
    assert (ike.kind, ike.active) == ("ipsec", False)
    assert macos.parse_scutil_nc(_text("scutil-nc-empty.txt")) == ()


@pytest.mark.parametrize(("state", "stealth", "enabled", "inbound", "stealth_on"), [
    ("firewall-enabled.txt", "stealth-on.txt", True, "per application", True),
    ("firewall-block-all.txt", "stealth-off.txt", True, "block all", False),
    ("firewall-disabled.txt", "stealth-off.txt", False, "per application", False),
])
def test_socketfilterfw(state: str, stealth: str, enabled: bool, inbound: str, stealth_on: bool) -> None:
    profile = macos.parse_socketfilterfw(_text(state), _text(stealth))
    assert (profile.enabled, profile.inbound, profile.stealth) == (enabled, inbound, stealth_on)


def test_lsof_listeners() -> None:
    found = macos.parse_lsof(_text("applesilicon-lsof-listen.txt"))
    assert any(i.port == 7000 and i.address == "0.0.0.0" and i.processes == ("ControlCenter",) for i in found)
    assert {i.address for i in found if i.port == 631} == {"::1", "127.0.0.1"}


def test_screenlock_user_and_managed_profile() -> None:
    managed = macos._plist(_text("managed-screensaver.plist"))
    facts = macos.parse_screenlock(_text("sysadminctl-screenlock-immediate.txt"), "300\n", _text("pmset-g.txt"),
                                   managed)
    system, user = facts.locks[0].layers
    assert (user.idle_seconds, user.lock_enabled, user.grace_seconds) == (300, True, 0)
    assert system.locked == ("idle", "enabled", "grace") and system.idle_seconds == 300
    off = macos.parse_screenlock(_text("sysadminctl-screenlock-off.txt"), "", _text("intel-pmset-g.txt"), {})
    assert off.locks[0].layers[1].lock_enabled is False and off.locks[0].layers[1].idle_seconds == 1800


def test_softwareupdate_pending_and_none() -> None:
    pending = macos.parse_softwareupdate(_text("intel-softwareupdate-pending.txt"))
    assert [(u.name, u.version, u.security) for u in pending] == [("macOS Sequoia 15.7.3", "15.7.3", True),
                                                                 ("Safari", "26.1.1", True)]
    assert macos.parse_softwareupdate(_text("softwareupdate-none.txt")) == ()


def test_time_machine_latest_backup_and_encryption() -> None:
    host = FakeHost({str(macos.TM_LATEST): CommandResult("l", 0, _text("tmutil-latestbackup.txt")),
                     str(macos.TM_DESTINATIONS): CommandResult("d", 0, _text("tmutil-destinationinfo.plist")),
                     str(macos.HOST_TIME): CommandResult("t", 0, _text("date.txt"))},
                    {macos.TM_PREFS: (OUT / "timemachine-prefs-encrypted.plist").read_bytes()})
    facts = macos.backup(host, MAC)
    (job,) = facts.jobs
    # 09:12:04 local time at UTC+01:00 is 08:12:04 UTC, 78 minutes before the host's clock (09:30 UTC)
    assert facts.host_time is not None and job.finished_at is not None
    assert facts.host_time - job.finished_at == 4676
    assert facts.encryption[job.name] == "encrypted"


def test_no_time_machine_destination_means_no_job() -> None:
    host = FakeHost({str(macos.TM_DESTINATIONS): CommandResult("d", 0, _text("tmutil-destinationinfo-none.plist")),
                     str(macos.HOST_TIME): CommandResult("t", 0, _text("date.txt"))})
    assert macos.backup(host, MAC).jobs == ()


def test_xprotect_and_gatekeeper() -> None:
    host = FakeHost({str(macos.SPCTL): CommandResult("s", 0, _text("spctl-disabled.txt")),
                     str(macos.XPROTECT_MTIME): CommandResult("m", 0, _text("xprotect-mtime.txt")),
                     str(macos.HOST_TIME): CommandResult("t", 0, _text("date.txt"))},
                    {macos.XPROTECT: (OUT / "xprotect-info.plist").read_bytes()})
    facts = macos.malware(host, MAC)
    assert (facts.gatekeeper, facts.version) == (False, "5328")
    assert facts.age_days == pytest.approx(9.0)


def test_network_time_needs_admin_and_sntp_answers() -> None:
    facts = macos.parse_timesync(CommandResult("n", 1, _text("systemsetup-needs-admin.txt")),
                                 CommandResult("s", 0, _text("sntp.txt")))
    assert facts.synchronized is True and facts.ntp_service_enabled is None and "systemsetup" in facts.unavailable


# Real-world variants (tests/fixtures/outputs/macos/README.md says where each format comes from)

def test_softwareupdate_with_nothing_to_install_may_exit_1() -> None:
    # Given softwareupdate --list exiting 1 with "No new software available." on stderr (seen since macOS 10.15.7)
    host = FakeHost({str(macos.SOFTWAREUPDATE): CommandResult("s", 1, _text("softwareupdate-none-exit1-stdout.txt"),
                                                              _text("softwareupdate-none-exit1-stderr.txt")),
                     str(macos.HOST_TIME): CommandResult("t", 0, _text("date.txt"))},
                    {macos.SOFTWAREUPDATE_PREFS: (OUT / "softwareupdate-prefs.plist").read_bytes()})
    facts = macos.updates(host, MAC)
    # Then the search counts as done, with nothing pending
    assert facts.listed is True and facts.pending == () and not facts.problem


def test_firewall_blocking_all_non_essential_connections() -> None:
    fw = macos.parse_socketfilterfw(_text("firewall-blocking-non-essential.txt"), _text("stealth-on.txt"))
    assert (fw.enabled, fw.inbound, fw.stealth) == (True, "block all", True)


def test_filevault_pending_the_next_restart_is_deferred() -> None:
    assert disk_native.parse_fdesetup(_text("fdesetup-off-pending-restart.txt")) == ("decrypted", 0.0, True)
