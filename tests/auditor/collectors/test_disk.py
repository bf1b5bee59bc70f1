"""disk collector: recorded lsblk, cryptsetup, dmsetup, crypttab and /proc/swaps outputs become facts."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from auditor.collectors.disk import (
    CRYPTTAB,
    DMSETUP_TABLE,
    LSBLK,
    LSBLK_OLD,
    PROC_SWAPS,
    collect,
    crypt_ancestors,
    luks_dump_command,
    parse_cryptsetup_status,
    parse_crypttab,
    parse_dmsetup_table,
    parse_lsblk,
    parse_luks_dump,
    parse_proc_swaps,
    status_command,
)
from auditor.models import Platform, SystemFacts
from auditor.transports.base import Command, CommandResult
from auditor.transports.local import LocalTransport
from tests.auditor.fake_host import FakeHost

LINUX = SystemFacts(Platform.LINUX)
OUT = Path(__file__).parents[2] / "fixtures" / "outputs" / "disk"
NO_SWAP = (OUT / "debian12-container-proc-swaps.txt").read_bytes()


def text(name: str) -> str:
    return (OUT / name).read_text()


def ok(command: Command, fixture: str) -> tuple[str, CommandResult]:
    return str(command), CommandResult(str(command), 0, text(fixture))


def failed(command: Command, status: int, stderr_fixture: str) -> tuple[str, CommandResult]:
    return str(command), CommandResult(str(command), status, "", text(stderr_fixture))


def by_kname(devices):
    return {d.kname: d for d in devices}


@pytest.mark.parametrize(
    ("fixture", "volume", "layers"),
    [
        ("debian12-lvm-on-luks2-lsblk.json", "dm-1", ("nvme0n1p3_crypt",)),
        ("ubuntu2204-luks2-lsblk.json", "dm-1", ("dm_crypt-0",)),
        ("fedora39-btrfs-luks2-zram-lsblk.json", "dm-0", ("luks-0bac9939-5b5f-4a2c-9b6a-9791f1d1fad7",)),
        ("ubuntu2004-luks1-lsblk.json", "dm-1", ("sda3_crypt",)),
        ("debian12-luks-on-raid1-lsblk.json", "dm-1", ("md1_crypt",)),
        ("debian12-data-disk-luks2-256-lsblk.json", "dm-1", ("data",)),
        ("raspios12-adiantum-lsblk.json", "dm-0", ("cryptroot",)),
        ("debian12-plain-ext4-lsblk.json", "sda1", ()),
        ("debian12-container-lsblk.json", "vda", ()),
        ("chromeos-util-linux232-lsblk.json", "encstateful", ()),
    ],
)
def test_tree_walk_finds_the_crypt_layers_beneath_a_volume(fixture, volume, layers):
    # Given a recorded lsblk tree, When the walk goes from the mounted volume down to the disks
    devices = by_kname(parse_lsblk(text(fixture)))
    # Then exactly the crypt mappings on the way are found
    assert crypt_ancestors(devices, volume) == layers


def test_raid_member_listed_twice_is_one_device_with_two_parents():
    devices = by_kname(parse_lsblk(text("debian12-luks-on-raid1-lsblk.json")))
    assert devices["md1"].parents == ("sda3", "sdb3")
    assert devices["md0"].mountpoints == ("/boot",)
    assert len([d for d in devices.values() if d.kname == "dm-1"]) == 1


def test_btrfs_subvolumes_keep_every_mount_point_and_old_json_types_parse():
    fedora = by_kname(parse_lsblk(text("fedora39-btrfs-luks2-zram-lsblk.json")))
    assert fedora["dm-0"].mountpoints == ("/home", "/")
    chromeos = by_kname(parse_lsblk(text("chromeos-util-linux232-lsblk.json")))
    assert chromeos["loop1"].read_only is True and chromeos["mmcblk0"].removable is False
    assert chromeos["mmcblk0"].size == 31268536320 and chromeos["zram0"].mountpoints == ("[SWAP]",)
    assert chromeos["encstateful"].parents == ("loop0",)
    usb = by_kname(parse_lsblk(text("debian12-lvm-on-luks2-lsblk.json")))["sda1"]
    assert usb.removable is True and usb.path == "/dev/sda1"


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("debian12-luksdump-luks2-aes-xts-512.txt", ("LUKS2", "aes-xts-plain64", 512)),
        ("debian12-luksdump-luks2-aes-xts-256.txt", ("LUKS2", "aes-xts-plain64", 256)),
        ("debian12-luksdump-luks1-aes-xts-256.txt", ("LUKS1", "aes-xts-plain64", 256)),
        ("debian12-luksdump-luks1-aes-cbc-essiv-256.txt", ("LUKS1", "aes-cbc-essiv:sha256", 256)),
        ("debian12-luksdump-luks2-adiantum.txt", ("LUKS2", "xchacha12,aes-adiantum-plain64", 256)),
        ("debian12-luksdump-luks2-serpent-xts-512.txt", ("LUKS2", "serpent-xts-plain64", 512)),
        ("opensuse151-luksdump-luks2-cryptsetup206.txt", ("LUKS2", "aes-xts-plain64", 256)),
    ],
)
def test_parse_luks_dump(fixture, expected):
    assert parse_luks_dump(text(fixture)) == expected


def test_luks2_key_size_comes_from_bound_keyslots_not_the_keyslot_area_key():
    # Given a LUKS2 dump whose first keyslot is unbound (another key) and whose area key differs
    dump = text("debian12-luksdump-luks2-aes-xts-512.txt")
    dump = dump.replace("Keyslots:\n  0: luks2\n\tKey:        512 bits",
                        "Keyslots:\n  1: luks2 (unbound)\n\tKey:        128 bits\n  0: luks2\n\tKey:        512 bits")
    dump = dump.replace("Cipher key: 512 bits", "Cipher key: 256 bits")
    # Then the segment's volume key is still 512 bits
    assert parse_luks_dump(dump) == ("LUKS2", "aes-xts-plain64", 512)
    assert parse_luks_dump("Device /dev/sda1 is not a valid LUKS device.") == ("", "", None)


@pytest.mark.parametrize(
    ("fixture", "kind", "cipher", "keysize"),
    [
        ("debian12-cryptsetup-status-luks2-512.txt", "LUKS2", "aes-xts-plain64", "512 bits"),
        ("debian12-cryptsetup-status-luks2-256.txt", "LUKS2", "aes-xts-plain64", "256 bits"),
        ("rhel8-cryptsetup-status-luks1-512.txt", "LUKS1", "aes-xts-plain64", "512 bits"),
        ("cryptsetup28-status-luks2-512.txt", "LUKS2", "aes-xts-plain64", "512 [bits]"),
    ],
)
def test_parse_cryptsetup_status(fixture, kind, cipher, keysize):
    values = parse_cryptsetup_status(text(fixture))
    assert (values["type"], values["cipher"], values["keysize"]) == (kind, cipher, keysize)


def test_parse_dmsetup_table_reads_key_size_from_masked_or_keyring_keys():
    rows = parse_dmsetup_table(text("debian12-dmsetup-table.txt"))
    assert rows == {"data": ("aes-xts-plain64", 256), "nvme0n1p3_crypt": ("aes-xts-plain64", 512),
                    "sda3_crypt": ("aes-xts-plain64", 256)}


def test_parse_crypttab_and_proc_swaps():
    entries = parse_crypttab(text("debian12-crypttab.txt"))
    assert [e.name for e in entries] == ["nvme0n1p3_crypt", "data", "cryptswap"]
    assert [e.random_key for e in entries] == [False, False, True] and "swap" in entries[2].options
    assert parse_proc_swaps(text("ubuntu2204-proc-swaps-file.txt")) == [("/swap.img", "file")]
    assert parse_proc_swaps(text("debian12-container-proc-swaps.txt")) == []


def test_debian12_lvm_on_luks2_as_root():
    # Given a Debian 12 LVM-on-LUKS2 laptop scanned as root
    host = FakeHost(dict([
        ok(LSBLK, "debian12-lvm-on-luks2-lsblk.json"),
        ok(status_command("nvme0n1p3_crypt"), "debian12-cryptsetup-status-luks2-512.txt"),
        ok(luks_dump_command("/dev/nvme0n1p3"), "debian12-luksdump-luks2-aes-xts-512.txt"),
        ok(DMSETUP_TABLE, "debian12-dmsetup-table.txt"),
    ]), {PROC_SWAPS: (OUT / "debian12-proc-swaps-lvm.txt").read_bytes(),
         CRYPTTAB: (OUT / "debian12-crypttab.txt").read_bytes()})
    # When the collector runs
    facts = collect(host, LINUX)
    # Then root, swap and the USB stick are seen with what lies beneath them
    volumes = {v.mountpoints: v for v in facts.volumes}
    assert volumes[("/",)].crypt == ("nvme0n1p3_crypt",) and volumes[("/",)].device == "/dev/mapper/debian--vg-root"
    assert volumes[("/media/user/USBSTICK",)].removable is True and volumes[("/boot",)].crypt == ()
    layer = facts.crypt["nvme0n1p3_crypt"]
    assert (layer.format, layer.cipher, layer.key_bits, layer.source) == ("LUKS2", "aes-xts-plain64", 512,
                                                                          "cryptsetup status")
    assert layer.device == "/dev/nvme0n1p3" and layer.mounted_at == ("/", "swap")
    assert facts.swaps[0].path == "/dev/dm-2" and facts.swaps[0].crypt == ("nvme0n1p3_crypt",)
    assert facts.lsblk_column == "MOUNTPOINTS" and len(facts.crypttab) == 3
    assert not any("--showkeys" in call or "--dump-volume-key" in call for call in host.calls)


def test_old_util_linux_falls_back_to_mountpoint_and_reads_luks1_header():
    # Given Ubuntu 20.04 (util-linux 2.34): MOUNTPOINTS is unknown; status refused as non-root, header readable
    host = FakeHost(dict([
        failed(LSBLK, 1, "ubuntu2004-lsblk-mountpoints.stderr.txt"),
        ok(LSBLK_OLD, "ubuntu2004-luks1-lsblk.json"),
        failed(status_command("sda3_crypt"), 1, "debian12-nonroot-cryptsetup-status.stderr.txt"),
        ok(luks_dump_command("/dev/sda3"), "debian12-luksdump-luks1-aes-xts-256.txt"),
    ]), {PROC_SWAPS: (OUT / "debian12-proc-swaps-lvm.txt").read_bytes()})
    facts = collect(host, LINUX)
    assert facts.lsblk_column == "MOUNTPOINT"
    layer = facts.crypt["sda3_crypt"]
    assert (layer.format, layer.cipher, layer.key_bits, layer.source) == ("LUKS1", "aes-xts-plain64", 256,
                                                                          "cryptsetup luksDump")
    assert [v.mountpoints for v in facts.volumes] == [("/boot/efi",), ("/boot",), ("/",)]


def test_non_root_says_why_the_key_size_is_unknown():
    host = FakeHost(dict([
        ok(LSBLK, "debian12-lvm-on-luks2-lsblk.json"),
        failed(status_command("nvme0n1p3_crypt"), 1, "debian12-nonroot-cryptsetup-status.stderr.txt"),
        failed(luks_dump_command("/dev/nvme0n1p3"), 4, "debian12-nonroot-cryptsetup-luksdump.stderr.txt"),
        failed(DMSETUP_TABLE, 1, "debian12-nonroot-dmsetup-table.stderr.txt"),
    ]), {PROC_SWAPS: NO_SWAP})
    layer = collect(host, LINUX).crypt["nvme0n1p3_crypt"]
    assert layer.cipher == "" and layer.key_bits is None and layer.source == "lsblk"
    assert "running as non-root user" in layer.problem and "access denied" in layer.problem
    assert "`dmsetup table` needs root: /dev/mapper/control: open failed: Permission denied" in layer.problem


def test_cryptsetup_not_installed_falls_back_to_dmsetup_table():
    # Given no cryptsetup (FakeHost answers 127 for anything not recorded) but dmsetup as root
    host = FakeHost(dict([ok(LSBLK, "debian12-data-disk-luks2-256-lsblk.json"),
                          ok(DMSETUP_TABLE, "debian12-dmsetup-table.txt")]), {PROC_SWAPS: NO_SWAP})
    facts = collect(host, LINUX)
    assert facts.crypt["data"].key_bits == 256 and facts.crypt["data"].source == "dmsetup table"
    assert facts.crypt["nvme0n1p3_crypt"].key_bits == 512
    assert facts.swaps == ()


def test_luks_on_raid_asks_the_md_device_for_its_header():
    host = FakeHost({str(LSBLK): CommandResult(str(LSBLK), 0, text("debian12-luks-on-raid1-lsblk.json"))},
                    {PROC_SWAPS: (OUT / "debian12-proc-swaps-lvm.txt").read_bytes()})
    facts = collect(host, LINUX)
    assert str(luks_dump_command("/dev/md1")) in host.calls
    assert facts.crypt["md1_crypt"].device == "/dev/md1" and facts.swaps[0].crypt == ("md1_crypt",)
    assert "`cryptsetup` is not installed" in facts.crypt["md1_crypt"].problem


@pytest.mark.parametrize(
    ("lsblk", "swaps", "zram", "crypt", "holder"),
    [
        ("fedora39-btrfs-luks2-zram-lsblk.json", "fedora39-proc-swaps-zram.txt", True, (), ""),
        ("ubuntu2204-luks2-lsblk.json", "ubuntu2204-proc-swaps-file.txt", False, ("dm_crypt-0",), "/"),
        ("debian12-plain-ext4-lsblk.json", "debian12-proc-swaps-plain.txt", False, (), ""),
    ],
)
def test_swap_areas_are_resolved_to_their_device(lsblk, swaps, zram, crypt, holder):
    host = FakeHost({str(LSBLK): CommandResult(str(LSBLK), 0, text(lsblk))}, {PROC_SWAPS: (OUT / swaps).read_bytes()})
    swap = collect(host, LINUX).swaps[0]
    assert (swap.zram, swap.crypt, swap.holder) == (zram, crypt, holder)


def test_lsblk_missing_and_unsafe_mapping_names():
    facts = collect(FakeHost({}, {PROC_SWAPS: NO_SWAP}), LINUX)
    assert facts.problem == "`lsblk` is not installed" and facts.volumes == ()
    # A mapping name that could be read as an option is never put on a command line
    hostile = text("raspios12-adiantum-lsblk.json").replace('"cryptroot"', '"--dump-volume-key"')
    host = FakeHost({str(LSBLK): CommandResult(str(LSBLK), 0, hostile)}, {PROC_SWAPS: NO_SWAP})
    layer = collect(host, LINUX).crypt["--dump-volume-key"]
    assert "not a plain device name" in layer.problem
    assert not any("luksDump" in call or "status" in call for call in host.calls)


def _mounted_block_devices() -> set[tuple[str, str]]:
    """(kernel name, mount point) for each mount of a block device, read from /proc and /sys directly."""
    by_devno = {p.read_text().strip(): p.parent.name for p in Path("/sys/class/block").glob("*/dev")}
    mounts = set()
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        source = fields[fields.index("-") + 2]
        kname = by_devno.get(fields[2]) or (Path(os.path.realpath(source)).name if source.startswith("/dev/") else "")
        if kname and Path(f"/sys/class/block/{kname}").exists():
            mounts.add((kname, re.sub(r"\\040", " ", fields[4])))
    return mounts


def test_collects_this_machine_and_agrees_with_proc_and_sys():
    # Given this machine, When the collector runs through the real local transport
    facts = collect(LocalTransport(), LINUX)
    # Then every mount of a block device in /proc/self/mountinfo is a volume, and /proc/swaps is reflected
    assert facts.problem == ""
    seen = {(v.kname, m) for v in facts.volumes for m in v.mountpoints}
    assert seen == _mounted_block_devices()
    assert [s.path for s in facts.swaps] == [p for p, _ in parse_proc_swaps(Path("/proc/swaps").read_text())]
    assert set(facts.crypt) == {d.name for d in facts.devices if d.type == "crypt"}


def test_ubuntu2404_util_linux239_tree_with_snaps_and_lvm_on_luks2_4k_sectors():
    # Given lsblk 2.39's JSON of Ubuntu 24.04 (snap loop devices, "mountpoints" arrays with null and with two
    # mounts), and cryptsetup 2.7's status of the LUKS2 layer formatted with --sector-size 4096
    lsblk = text("ubuntu2404-util-linux239-lsblk.json")
    status = text("debian13-cryptsetup27-status-luks2-sector4096.txt").replace("nvme0n1p3_crypt", "dm_crypt-0")
    host = FakeHost({str(LSBLK): CommandResult(str(LSBLK), 0, lsblk),
                     str(status_command("dm_crypt-0")): CommandResult("", 0, status)}, {PROC_SWAPS: b"Filename\n"})
    # When collected
    facts = collect(host, SystemFacts(Platform.LINUX))
    # Then / sits on the crypt layer, read as AES-XTS with a 512-bit key from `cryptsetup status`
    root = next(v for v in facts.volumes if "/" in v.mountpoints)
    assert root.crypt == ("dm_crypt-0",) and root.mountpoints == ("/var/snap/firefox/common/host-hunspell", "/")
    layer = facts.crypt["dm_crypt-0"]
    assert (layer.format, layer.cipher, layer.key_bits, layer.source) == ("LUKS2", "aes-xts-plain64", 512,
                                                                          "cryptsetup status")
    assert layer.device == "/dev/nvme0n1p3" and layer.mounted_at[-1] == "/"
    snap = next(v for v in facts.volumes if v.type == "loop")
    assert snap.read_only and snap.fstype == "squashfs"
