"""DISK-0010, DISK-0020 and DISK-0030 on facts built in code: table-driven, Given/When/Then."""

from __future__ import annotations

import pytest

from auditor.collectors.disk import CryptLayer, CrypttabEntry, DiskFacts, SwapArea, Volume
from auditor.models import Status
from checks.disk_encryption import aes_strength, cipher_strength, in_scope, swap_encrypted, volumes_encrypted

ROOT_LAYER = CryptLayer("nvme0n1p3_crypt", "/dev/nvme0n1p3", "LUKS2", "aes-xts-plain64", 512, "cryptsetup status",
                        mounted_at=("/",))


def volume(mounts, crypt=(), **kw):
    defaults = {"device": "/dev/mapper/vg-root", "kname": "dm-1", "type": "lvm", "fstype": "ext4"}
    return Volume(mountpoints=tuple(mounts), crypt=tuple(crypt), **{**defaults, **kw})


@pytest.mark.parametrize(
    ("vol", "expected"),
    [
        (volume(["/"]), True),
        (volume(["/home", "/"], type="crypt"), True),
        (volume(["/srv/data"], type="part"), True),
        (volume(["/boot"], type="part"), False),
        (volume(["/boot/efi"], type="part", fstype="vfat"), False),
        (volume(["/boot/firmware"], type="part", fstype="vfat"), False),
        (volume(["/media/user/USB"], type="part", fstype="vfat", removable=True), False),
        (volume(["/snap/core22/1380"], type="loop", fstype="squashfs", read_only=True), False),
        (volume(["/mnt/cdrom"], type="rom", fstype="iso9660"), False),
        (volume(["/tmp"], type="disk", kname="zram1"), False),
    ],
)
def test_scope_of_fixed_data_volumes(vol, expected):
    assert in_scope(vol) is expected


@pytest.mark.parametrize(
    ("facts", "statuses", "words"),
    [
        (DiskFacts(volumes=(volume(["/"], ["nvme0n1p3_crypt"]), volume(["/boot"], type="part")),
                   crypt={"nvme0n1p3_crypt": ROOT_LAYER}),
         [Status.PASS], "sits on the encrypted layer nvme0n1p3_crypt (LUKS2 on /dev/nvme0n1p3)"),
        (DiskFacts(volumes=(volume(["/"], device="/dev/sda1", kname="sda1", type="part"),)),
         [Status.FAIL], "/dev/sda1 (mounted at /, ext4) is not encrypted"),
        (DiskFacts(volumes=(volume(["/"], ["nvme0n1p3_crypt"]), volume(["/home"], device="/dev/sdb1", type="part")),
                   crypt={"nvme0n1p3_crypt": ROOT_LAYER}),
         [Status.PASS, Status.FAIL], "/dev/sdb1 (mounted at /home"),
        (DiskFacts(volumes=(volume(["/"], ["v"]),), crypt={"v": CryptLayer("v", "/dev/sda2", "VERITY")}),
         [Status.FAIL], "not encrypted"),
        (DiskFacts(problem="lsblk: not installed"), [Status.FAIL], "could not be listed (lsblk: not installed)"),
        (DiskFacts(volumes=(volume(["/boot"], type="part"),)), [], ""),
    ],
)
def test_volumes_encrypted(facts, statuses, words):
    # Given disk facts, When DISK-0010 evaluates them
    verdicts = volumes_encrypted(facts)
    # Then there is one verdict per fixed data volume, saying what lies beneath it
    assert [v.status for v in verdicts] == statuses
    assert all(words in v.message for v in verdicts if v.status is statuses[-1])


def test_volume_resource_names_mount_points_and_device():
    facts = DiskFacts(volumes=(volume(["/home", "/"], ["luks-1"], device="/dev/mapper/luks-1", type="crypt"),),
                      crypt={"luks-1": CryptLayer("luks-1", "/dev/nvme0n1p3", "LUKS2")})
    assert volumes_encrypted(facts)[0].resource == "/home, / (/dev/mapper/luks-1)"


@pytest.mark.parametrize(
    ("cipher", "bits", "expected"),
    [
        ("aes-xts-plain64", 512, ("aes", 256)),
        ("aes-xts-plain64", 256, ("aes", 128)),
        ("aes-cbc-essiv:sha256", 256, ("aes", 256)),
        ("aes-cbc-essiv:sha256", 128, ("aes", 128)),
        ("capi:xts(aes)-plain64", 512, ("aes", 256)),
        ("aes-lrw-benbi", 384, ("aes", 256)),
        ("xchacha12,aes-adiantum-plain64", 256, ("chacha", 256)),
        ("serpent-xts-plain64", 512, ("serpent", None)),
        ("twofish-cbc-essiv:sha256", 256, ("twofish", None)),
        ("aes-xts-plain64", None, ("aes", None)),
    ],
)
def test_aes_strength(cipher, bits, expected):
    assert aes_strength(cipher, bits) == expected


def layer(cipher, bits, fmt="LUKS2", **kw):
    return CryptLayer("sda2_crypt", "/dev/sda2", fmt, cipher, bits, "cryptsetup status", mounted_at=("/home",), **kw)


@pytest.mark.parametrize(
    ("crypt", "chacha_ok", "status", "message"),
    [
        (layer("aes-xts-plain64", 512), False, Status.PASS,
         "/dev/sda2 (mounted at /home) is LUKS2 aes-xts-plain64 with a 512-bit key = AES-256."),
        (layer("aes-xts-plain64", 256, "LUKS1"), False, Status.FAIL,
         "/dev/sda2 (mounted at /home) is LUKS1 aes-xts-plain64 with a 256-bit key = AES-128; "
         "the agreement requires AES-256."),
        (layer("aes-cbc-essiv:sha256", 256, "LUKS1"), False, Status.PASS,
         "/dev/sda2 (mounted at /home) is LUKS1 aes-cbc-essiv:sha256 with a 256-bit key = AES-256."),
        (layer("xchacha12,aes-adiantum-plain64", 256), True, Status.PASS, "equivalent strength, not AES"),
        (layer("xchacha12,aes-adiantum-plain64", 256), False, Status.FAIL,
         "xchacha12,aes-adiantum-plain64 is not AES; the agreement requires AES-256."),
        (layer("serpent-xts-plain64", 512), True, Status.FAIL, "serpent-xts-plain64 is not AES"),
        (layer("", None, "", problem="cryptsetup status: Cannot initialize device-mapper, running as non-root user."),
         False, Status.FAIL, "key size could not be read (cryptsetup status: Cannot initialize device-mapper"),
    ],
)
def test_cipher_strength(crypt, chacha_ok, status, message):
    # Given one crypt layer, When DISK-0020 evaluates it at min_aes_bits=256
    verdicts = cipher_strength(DiskFacts(crypt={crypt.mapping: crypt}), 256, chacha_ok)
    # Then the sentence states cipher, key size and effective AES strength
    assert [v.status for v in verdicts] == [status]
    assert message in verdicts[0].message
    assert verdicts[0].resource == "/dev/sda2 (mounted at /home)"
    assert verdicts[0].expected == {"algorithm": "AES", "effective_bits": ">= 256"}


def test_cipher_strength_data_disk_beside_root_and_a_lower_profile():
    # Given root at 512-bit XTS and a data disk at 256-bit XTS
    data = CryptLayer("data", "/dev/sda1", "LUKS2", "aes-xts-plain64", 256, "cryptsetup status", mounted_at=("/srv",))
    facts = DiskFacts(crypt={"nvme0n1p3_crypt": ROOT_LAYER, "data": data})
    # Then only the data disk fails at AES-256, and both pass a profile that accepts AES-128
    assert [v.status for v in cipher_strength(facts, 256, False)] == [Status.PASS, Status.FAIL]
    assert [v.status for v in cipher_strength(facts, 128, False)] == [Status.PASS, Status.PASS]
    assert cipher_strength(facts, 256, False)[1].observed["effective_bits"] == 128


@pytest.mark.parametrize(
    ("facts", "statuses", "words"),
    [
        (DiskFacts(), [Status.PASS], "No swap area is active"),
        (DiskFacts(swaps=(SwapArea("/dev/zram0", "partition", "zram0", zram=True),)), [Status.PASS],
         "zram (compressed RAM); it is never written to disk"),
        (DiskFacts(swaps=(SwapArea("/dev/dm-2", "partition", "dm-2", crypt=("nvme0n1p3_crypt",)),),
                   crypt={"nvme0n1p3_crypt": ROOT_LAYER}), [Status.PASS], "sits on the encrypted layer nvme0n1p3"),
        (DiskFacts(swaps=(SwapArea("/swap.img", "file", "dm-1", crypt=("dm_crypt-0",), holder="/"),),
                   crypt={"dm_crypt-0": ROOT_LAYER}), [Status.PASS], "(a file on /) sits on the encrypted layer"),
        (DiskFacts(swaps=(SwapArea("/dev/mapper/cryptswap", "partition"),),
                   crypttab=(CrypttabEntry("cryptswap", "/dev/sda3", "/dev/urandom", ("swap",)),)),
         [Status.PASS], "random key at every boot"),
        (DiskFacts(swaps=(SwapArea("/dev/sda5", "partition", "sda5"),)), [Status.FAIL],
         "Swap /dev/sda5 (partition) is not encrypted"),
        (DiskFacts(swaps_problem="permission denied"), [Status.FAIL], "could not be read (permission denied)"),
    ],
)
def test_swap_encrypted(facts, statuses, words):
    verdicts = swap_encrypted(facts)
    assert [v.status for v in verdicts] == statuses
    assert words in verdicts[0].message


def test_cipher_strength_with_no_encrypted_volume_says_so_and_points_to_disk_0010():
    # Given a host whose volumes sit on no dm-crypt layer (DISK-0010 fails them)
    facts = DiskFacts(volumes=(volume(["/"], device="/dev/sda1", kname="sda1", type="part"),))
    # When DISK-0020 evaluates it
    (verdict,) = cipher_strength(facts, 256, False)
    # Then it is not applicable for the stated reason: there is no cipher to judge, and DISK-0010 has the failure
    assert verdict.status is Status.NOT_APPLICABLE
    assert verdict.message == ("No volume is encrypted with dm-crypt/LUKS, so there is no cipher to judge (DISK-0010 "
                               "reports the volumes that are not encrypted).")


def test_cipher_strength_when_the_block_devices_could_not_be_listed():
    (verdict,) = cipher_strength(DiskFacts(problem="`lsblk` exited 1: permission denied"), 256, False)
    assert verdict.status is Status.FAIL
    assert verdict.message == ("The block devices could not be listed (`lsblk` exited 1: permission denied), so no "
                               "encrypted volume's cipher can be read.")
