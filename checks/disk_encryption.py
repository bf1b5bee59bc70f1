"""Encryption of data at rest (DISK-xxxx): every fixed data volume and the swap area sit on dm-crypt, with
AES and an effective key of at least the agreed size. Facts come from auditor/collectors/disk.py.

On Windows (BitLocker) and macOS (FileVault) the `disk` collector answers with WindowsBitLocker or MacosFileVault,
and the same checks judge their volumes (see checks/disk_native.py); DISK-0040 (protection on, not suspended, not
still encrypting) is theirs alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.plugin import ControlRef, Platform, Severity, Verdict, check
from checks.disk_native import native_encrypted, native_strength

if TYPE_CHECKING:
    # Collector modules are imported when a check runs, so loading the pack imports none of them.
    from auditor.collectors.disk import CryptLayer, DiskFacts, Volume
    from auditor.collectors.disk_native import MacosFileVault, WindowsBitLocker

_BOOT = frozenset({"/boot", "/boot/efi", "/efi", "/boot/firmware"})
_MEDIA_FS = frozenset({"squashfs", "iso9660", "udf", "erofs"})
_NOT_ENCRYPTION = frozenset({"VERITY", "INTEGRITY"})  # dm "crypt" types that protect integrity only
_CONTROLS = (ControlRef("iso27001-2022", "8.24"), ControlRef("iso27001-2022", "8.1"), ControlRef("cis-v8", "3.6"),
             ControlRef("cis-v8", "3.11"))


def in_scope(volume: Volume) -> bool:
    """A fixed data volume: not boot/EFI, not removable or read-only media, not a loop image or RAM disk."""
    if volume.removable or volume.read_only or volume.type in ("loop", "rom"):
        return False
    if volume.fstype in _MEDIA_FS or volume.kname.startswith(("zram", "ram")):
        return False
    return not all(m in _BOOT for m in volume.mountpoints)


def aes_strength(cipher: str, key_bits: int | None) -> tuple[str, int | None]:
    """(algorithm family, effective bits): "aes" with XTS halved (two keys), "chacha" for Adiantum/XChaCha."""
    spec = cipher.lower().removeprefix("capi:")
    if "chacha" in spec or "adiantum" in spec:
        return "chacha", key_bits
    if not (spec.startswith("aes") or "(aes)" in spec):
        return spec.split("-")[0].split("(")[0] or "unknown", None
    if key_bits is None:
        return "aes", None
    if "xts" in spec:
        return "aes", key_bits // 2
    if "lrw" in spec:  # LRW appends a 128-bit tweak key
        return "aes", key_bits - 128
    return "aes", key_bits


def _layers(disk: DiskFacts, names: tuple[str, ...]) -> list[CryptLayer]:
    from auditor.collectors.disk import CryptLayer

    return [disk.crypt.get(n, CryptLayer(n, "")) for n in names
            if disk.crypt.get(n, CryptLayer(n, "")).format.upper() not in _NOT_ENCRYPTION]


def _describe(layer: CryptLayer) -> str:
    return f"{layer.mapping} ({layer.format + ' on ' if layer.format else ''}{layer.device or 'unknown device'})"


@check(
    id="DISK-0010",
    title="Every fixed data volume is stored on an encrypted (dm-crypt/LUKS) device",
    severity=Severity.HIGH,
    requirements=("R1", "R11"),
    controls=_CONTROLS,
    platforms=(Platform.LINUX, Platform.WINDOWS, Platform.MACOS),
    remediation="Linux: encrypt the volume with LUKS2 (cryptsetup luksFormat --type luks2 --cipher aes-xts-plain64 "
    "--key-size 512, or `cryptsetup reencrypt --encrypt` in place after a backup) and open it from /etc/crypttab. "
    "Windows: turn on BitLocker for every fixed drive (Settings > Privacy & security > Device encryption, or "
    "Control Panel > BitLocker Drive Encryption). macOS: turn on FileVault (System Settings > Privacy & Security).",
)
def volumes_encrypted(disk: DiskFacts | WindowsBitLocker | MacosFileVault) -> list[Verdict]:
    from auditor.collectors.disk import DiskFacts

    if not isinstance(disk, DiskFacts):
        return native_encrypted(disk)
    if disk.problem:
        return [Verdict.failed(f"The block devices could not be listed ({disk.problem}), so no volume can be shown "
                               "to be encrypted.", observed={"problem": disk.problem}, expected={"encrypted": True})]
    verdicts = []
    for volume in filter(in_scope, disk.volumes):
        mounts = ", ".join(volume.mountpoints)
        resource = f"{mounts} ({volume.device})"
        layers = _layers(disk, volume.crypt)
        observed = {"device": volume.device, "mountpoints": list(volume.mountpoints), "fstype": volume.fstype,
                    "crypt_layers": [layer.mapping for layer in layers]}
        if layers:
            verdicts.append(Verdict.passed(
                f"{volume.device} (mounted at {mounts}) sits on the encrypted layer "
                f"{', '.join(_describe(layer) for layer in layers)}.",
                resource=resource, observed=observed, expected={"encrypted": True}))
        else:
            verdicts.append(Verdict.failed(
                f"{volume.device} (mounted at {mounts}, {volume.fstype or 'unknown filesystem'}) is not encrypted: "
                "no dm-crypt/LUKS layer lies beneath it.", resource=resource, observed=observed,
                expected={"encrypted": True}))
    return verdicts


@check(
    id="DISK-0020",
    title="Encrypted volumes use AES with an effective key of at least the agreed size",
    severity=Severity.HIGH,
    requirements=("R1", "R11"),
    controls=_CONTROLS,
    platforms=(Platform.LINUX, Platform.WINDOWS, Platform.MACOS),
    remediation="Linux: re-encrypt the volume with AES-256: `cryptsetup reencrypt --cipher aes-xts-plain64 "
    "--key-size 512 <device>` (XTS needs a 512-bit key for AES-256); take a backup first. Windows: set the policy "
    "'Choose drive encryption method and cipher strength' to XTS-AES 256-bit for operating-system and fixed "
    "drives, then decrypt and re-encrypt each drive (`manage-bde -off D:`, then `manage-bde -on D: -em "
    "XtsAes256`); BitLocker cannot change the method in place. macOS: FileVault's cipher is fixed by the "
    "hardware; an Intel Mac (XTS-AES-128) needs replacing by an Apple-silicon Mac or the controller's written "
    "acceptance (min_aes_bits: 128 or a waiver).",
)
def cipher_strength(disk: DiskFacts | WindowsBitLocker | MacosFileVault, min_aes_bits: int,
                    chacha20_counts_as_aes256: bool) -> list[Verdict]:
    from auditor.collectors.disk import DiskFacts

    if not isinstance(disk, DiskFacts):
        return native_strength(disk, min_aes_bits)
    verdicts = []
    expected = {"algorithm": "AES", "effective_bits": f">= {min_aes_bits}"}
    for layer in disk.crypt.values():
        if layer.format.upper() in _NOT_ENCRYPTION:
            continue
        where = f"mounted at {', '.join(layer.mounted_at)}" if layer.mounted_at else "not mounted"
        subject = f"{layer.device or layer.mapping} ({where})"
        algorithm, bits = aes_strength(layer.cipher, layer.key_bits)
        observed = {"mapping": layer.mapping, "format": layer.format, "cipher": layer.cipher,
                    "key_bits": layer.key_bits, "effective_bits": bits, "source": layer.source}
        kind = f"{layer.format} " if layer.format else ""
        size = f"a {layer.key_bits}-bit key" if layer.key_bits else "a key of unknown size"
        stated = f"{subject} is {kind}{layer.cipher} with {size}"
        if not layer.cipher or (algorithm == "aes" and bits is None):
            reason = layer.problem or "the cipher was not reported"
            seen = f"uses {layer.cipher} but " if layer.cipher else ""
            verdicts.append(Verdict.failed(
                f"{subject} is encrypted ({layer.mapping}), but its {seen}key size could not be read ({reason}); "
                "scan with root rights to read it.", resource=subject, observed=observed, expected=expected))
        elif algorithm == "aes" and bits is not None and bits >= min_aes_bits:
            verdicts.append(Verdict.passed(f"{stated} = AES-{bits}.", resource=subject, observed=observed,
                                           expected=expected))
        elif algorithm == "aes":
            verdicts.append(Verdict.failed(f"{stated} = AES-{bits}; the agreement requires AES-{min_aes_bits}.",
                                           resource=subject, observed=observed, expected=expected))
        elif algorithm == "chacha" and chacha20_counts_as_aes256 and (bits or 0) >= 256:
            verdicts.append(Verdict.passed(f"{stated}: equivalent strength, not AES (the profile accepts ChaCha "
                                           "as equivalent to AES-256).", resource=subject, observed=observed,
                                           expected=expected))
        else:
            verdicts.append(Verdict.failed(f"{stated}: {layer.cipher} is not AES; the agreement requires "
                                           f"AES-{min_aes_bits}.", resource=subject, observed=observed,
                                           expected=expected))
    if verdicts:
        return verdicts
    # No crypt layer to judge: say why, rather than the runner's "Nothing this check judges was found".
    if disk.problem:
        return [Verdict.failed(f"The block devices could not be listed ({disk.problem}), so no encrypted volume's "
                               "cipher can be read.", observed={"problem": disk.problem}, expected=expected)]
    return [Verdict.not_applicable("No volume is encrypted with dm-crypt/LUKS, so there is no cipher to judge "
                                   "(DISK-0010 reports the volumes that are not encrypted).")]


@check(
    id="DISK-0030",
    title="Swap is encrypted, in compressed RAM only, or absent",
    severity=Severity.MEDIUM,
    requirements=("R1",),
    controls=_CONTROLS,
    platforms=(Platform.LINUX,),
    remediation="Put swap inside the encrypted LVM volume group, or give it a random key at every boot in "
    "/etc/crypttab (`cryptswap <device> /dev/urandom swap,cipher=aes-xts-plain64,size=512`), or use zram.",
)
def swap_encrypted(disk: DiskFacts) -> list[Verdict]:
    expected = {"swap": "encrypted, zram or none"}
    if disk.swaps_problem:
        return [Verdict.failed(f"The active swap areas could not be read ({disk.swaps_problem}).",
                               observed={"problem": disk.swaps_problem}, expected=expected)]
    if not disk.swaps:
        return [Verdict.passed("No swap area is active, so no memory is paged to disk unencrypted.",
                               observed={"swaps": []}, expected=expected)]
    random_keyed = {f"/dev/mapper/{e.name}" for e in disk.crypttab if e.random_key and "swap" in e.options}
    verdicts = []
    for swap in disk.swaps:
        observed = {"path": swap.path, "kind": swap.kind, "crypt_layers": list(swap.crypt), "zram": swap.zram}
        layers = _layers(disk, swap.crypt)
        if swap.zram:
            verdicts.append(Verdict.passed(f"Swap {swap.path} is zram (compressed RAM); it is never written to disk.",
                                           resource=swap.path, observed=observed, expected=expected))
        elif layers:
            held = f" (a file on {swap.holder})" if swap.holder else ""
            verdicts.append(Verdict.passed(
                f"Swap {swap.path}{held} sits on the encrypted layer {', '.join(_describe(x) for x in layers)}.",
                resource=swap.path, observed=observed, expected=expected))
        elif swap.path in random_keyed:
            verdicts.append(Verdict.passed(f"Swap {swap.path} is opened from /etc/crypttab with a random key at "
                                           "every boot.", resource=swap.path, observed=observed, expected=expected))
        else:
            verdicts.append(Verdict.failed(
                f"Swap {swap.path} ({swap.kind}) is not encrypted: memory pages, which may hold personal data, "
                "are written to disk in clear.", resource=swap.path, observed=observed, expected=expected))
    return verdicts
