"""An external (USB/Thunderbolt) APFS disk on a Mac is removable media, as RM=1 is on Linux: DISK-0010 does not
judge it like the startup disk (recorded formats in tests/fixtures/outputs/macos/, sources in its README)."""

from __future__ import annotations

import plistlib
from pathlib import Path

from auditor.collectors import disk, disk_native
from auditor.collectors.disk_native import MacosFileVault
from auditor.models import Platform, Status, SystemFacts
from auditor.transports.base import CommandResult
from checks.disk_encryption import cipher_strength, volumes_encrypted
from checks.disk_native import protection_in_force
from tests.auditor.fake_host import FakeHost, OlderRecording

OUT = Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "macos"
MAC = SystemFacts(Platform.MACOS, "macOS", "26.1", "mac-air", is_root=False)
INFO = disk_native.diskutil_info("disk4s2")


def _answers(info: str | None = "external-disk-diskutil-info-disk4s2.plist") -> dict[str, CommandResult]:
    files = {disk_native.FDESETUP: "fdesetup-on.txt", disk_native.APFS_LIST: "external-disk-diskutil-apfs-list.plist",
             disk_native.CPU_BRAND: "applesilicon-cpu-brand.txt"}
    answers = {str(c): CommandResult(str(c), 0, (OUT / name).read_text(encoding="utf-8")) for c, name in files.items()}
    answers[str(disk_native.ARM64)] = CommandResult(str(disk_native.ARM64), 0, "1\n")
    answers[str(disk_native.MACHINE)] = CommandResult(str(disk_native.MACHINE), 0, "arm64\n")
    if info is not None:
        answers[str(INFO)] = CommandResult(str(INFO), 0, info if info.startswith("<?xml") else
                                           (OUT / info).read_text(encoding="utf-8"))
    return answers




def test_external_usb_apfs_volume_is_removable_and_not_judged_by_disk_0010() -> None:
    # Given an Apple-silicon Mac with FileVault on and an unencrypted APFS disk on USB (disk4s2 -> container disk5)
    host = FakeHost(_answers())
    facts = disk.collect(host, MAC)
    assert isinstance(facts, MacosFileVault)
    # Then diskutil was asked about the external container's physical store, and its volume is removable media
    assert str(INFO) in host.calls
    roles = {v.name: v.role for v in facts.volumes}
    assert roles == {"Macintosh HD - Data (disk3s5)": "os", "Backup (disk5s1)": "removable"}
    # And DISK-0010, DISK-0020 and DISK-0040 judge only the startup disk's Data volume, which passes
    for verdicts in (volumes_encrypted(facts), cipher_strength(facts, 256, False), protection_in_force(facts)):
        assert [(v.resource, v.status) for v in verdicts] == [("Macintosh HD - Data (disk3s5)", Status.PASS)]


def test_an_internal_second_container_is_still_judged() -> None:
    # Given the same second container, but diskutil says its physical store is internal (PCI-Express, Internal)
    info = plistlib.loads((OUT / "external-disk-diskutil-info-disk4s2.plist").read_bytes())
    info.update(BusProtocol="PCI-Express", Internal=True, RemovableMediaOrExternalDevice=False, Ejectable=False)
    facts = disk.collect(FakeHost(_answers(plistlib.dumps(info).decode())), MAC)
    # Then its unencrypted volume is a fixed data drive and DISK-0010 fails it
    verdicts = {v.resource: v for v in volumes_encrypted(facts)}
    assert verdicts["Backup (disk5s1)"].status is Status.FAIL
    assert "fixed data drive" in verdicts["Backup (disk5s1)"].message


def test_a_recording_without_diskutil_info_still_replays_as_before() -> None:
    # Given a run recorded before the collector asked `diskutil info -plist`
    facts = disk.collect(OlderRecording(_answers(info=None)), MAC)
    # Then the collector still answers, judging the volume as it did then (a fixed data drive)
    assert {v.name: v.role for v in facts.volumes}["Backup (disk5s1)"] == "data"
    assert not facts.problem


def test_diskutil_info_is_asked_only_for_a_plain_device_identifier() -> None:
    assert disk_native.diskutil_info("disk4s2").argv == ("diskutil", "info", "-plist", "disk4s2")
    assert disk_native.physical_store({"DesignatedPhysicalStore": "disk4s2; rm -rf /"}) == ""
    assert disk_native.physical_store({"PhysicalStores": [{"DeviceIdentifier": "disk7s2"}]}) == "disk7s2"


def test_external_is_read_from_internal_or_removable_or_external_device() -> None:
    assert disk_native.is_external({"Internal": False, "BusProtocol": "Thunderbolt"}) is True
    assert disk_native.is_external({"Internal": True, "RemovableMediaOrExternalDevice": True}) is True
    assert disk_native.is_external({"Internal": True, "RemovableMediaOrExternalDevice": False}) is False
    assert disk_native.is_external({}) is None
