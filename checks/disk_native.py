"""Disk encryption on Windows (BitLocker) and macOS (FileVault): DISK-0010 and DISK-0020 judge their volumes
here; DISK-0040 says whether the protection is really in force."""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.plugin import ControlRef, Platform, Severity, Verdict, check

if TYPE_CHECKING:
    # Collector modules are imported when a check runs, so loading the pack imports none of them.
    from auditor.collectors.disk_native import MacosFileVault, NativeVolume, WindowsBitLocker

_ROLES = {"os": "operating-system drive", "data": "fixed data drive"}
_CONTROLS = (ControlRef("iso27001-2022", "8.24"), ControlRef("iso27001-2022", "8.1"), ControlRef("cis-v8", "3.6"),
             ControlRef("cis-v8", "3.11"))


def in_scope(volume: NativeVolume) -> bool:
    """Fixed volumes (operating system and data); removable and network drives are not judged."""
    return volume.role in _ROLES


def _tool(disk: WindowsBitLocker | MacosFileVault) -> str:
    from auditor.collectors.disk_native import WindowsBitLocker

    return "BitLocker" if isinstance(disk, WindowsBitLocker) else "FileVault"


def _observed(volume: NativeVolume) -> dict[str, object]:
    return {"volume": volume.name, "role": volume.role, "state": volume.state or "unknown",
            "protection": volume.protection or "unknown", "percent_encrypted": volume.percent,
            "method": volume.method or "none", "effective_bits": volume.effective_bits,
            "used_space_only": volume.used_space_only, "deferred": volume.deferred, "basis": volume.basis}


def _unreadable(disk: WindowsBitLocker | MacosFileVault, expected: dict[str, object]) -> list[Verdict]:
    return [Verdict.failed(f"{_tool(disk)} could not be read ({disk.problem or 'no volume was reported'}), so no "
                           "drive can be shown to be encrypted; run the scan as administrator.",
                           observed={"problem": disk.problem}, expected=expected)]


def native_encrypted(disk: WindowsBitLocker | MacosFileVault) -> list[Verdict]:
    """DISK-0010 on Windows and macOS: every fixed drive is (being) encrypted by BitLocker or FileVault."""
    expected: dict[str, object] = {"encrypted": True}
    volumes = [v for v in disk.volumes if in_scope(v)]
    if not volumes:
        return _unreadable(disk, expected)
    verdicts = []
    for volume in volumes:
        what = f"{volume.name} ({_ROLES[volume.role]})"
        observed = _observed(volume)
        if volume.state == "encrypted":
            note = (" Only the used space was encrypted, so files deleted before encryption may still be readable "
                    "in the free space." if volume.used_space_only else "")
            verdicts.append(Verdict.passed(f"{what} is encrypted by {_tool(disk)}.{note}", resource=volume.name,
                                           observed=observed, expected=expected))
        elif volume.state in ("encrypting", "encryption paused"):
            verdicts.append(Verdict.warning(
                f"{what} is only partly encrypted by {_tool(disk)} ({volume.state}, {volume.percent or 0:g}% done); "
                "the rest of the drive is still readable without the key.", resource=volume.name, observed=observed,
                expected=expected))
        else:
            deferred = " FileVault is set to turn on at the next login (deferred), but nothing is encrypted yet." \
                if volume.deferred else ""
            verdicts.append(Verdict.failed(f"{what} is not encrypted ({volume.state or 'state unknown'}).{deferred}",
                                           resource=volume.name, observed=observed, expected=expected))
    return verdicts


def native_strength(disk: WindowsBitLocker | MacosFileVault, min_aes_bits: int) -> list[Verdict]:
    """DISK-0020 on Windows and macOS: the method's effective AES strength against min_aes_bits."""
    from auditor.collectors.disk_native import MacosFileVault

    expected: dict[str, object] = {"algorithm": "AES", "effective_bits": f">= {min_aes_bits}"}
    if not any(in_scope(v) for v in disk.volumes):
        return _unreadable(disk, expected)
    verdicts = []
    for volume in (v for v in disk.volumes if in_scope(v) and v.state not in ("decrypted", "")):
        what = f"{volume.name} ({_ROLES[volume.role]})"
        observed = _observed(volume)
        # On a Mac: how FileVault encrypts, the collector's own sentence ("FileVault on an Intel Mac uses XTS-AES-128"),
        # quoted whole so that the report's catalogue translates it as it stands.
        filevault = ""
        if isinstance(disk, MacosFileVault):
            # The collector's basis names the kind of Mac in words; the processor's model string is only observed.
            filevault = volume.basis or "FileVault uses AES-XTS"
            observed["processor"] = disk.hardware or "unknown"
        if volume.cipher == "hardware":
            verdicts.append(Verdict.failed(
                f"{what} relies on the drive's own hardware encryption (BitLocker method Hardware): its cipher and "
                "key size cannot be verified, and several self-encrypting SSDs were shown to be breakable; the "
                "controller must give a reason to accept it, or BitLocker must encrypt in software (XtsAes256).",
                resource=volume.name, observed=observed, expected=expected))
        elif volume.effective_bits is None:
            verdicts.append(Verdict.failed(f"{what} is encrypted, but its key size could not be read ({volume.basis}).",
                                           resource=volume.name, observed=observed, expected=expected))
        elif volume.effective_bits >= min_aes_bits and filevault:
            verdicts.append(Verdict.passed(f"{what}: {filevault}, i.e. "
                                           f"AES-{volume.effective_bits}.", resource=volume.name, observed=observed,
                                           expected=expected))
        elif volume.effective_bits >= min_aes_bits:
            verdicts.append(Verdict.passed(f"{what} uses {volume.method} = AES-{volume.effective_bits} "
                                           f"({volume.basis}).", resource=volume.name, observed=observed,
                                           expected=expected))
        elif filevault:
            verdicts.append(Verdict.failed(
                f"{what}: {filevault}, i.e. AES-{volume.effective_bits}; the "
                f"agreement requires AES-{min_aes_bits}. This is a FAIL unless the controller accepts AES-128 for "
                "Intel Macs in writing (profile min_aes_bits: 128, or a waiver); the cipher cannot be changed on this "
                "Mac.",
                resource=volume.name, observed=observed, expected=expected))
        else:
            verdicts.append(Verdict.failed(
                f"{what} uses {volume.method} = AES-{volume.effective_bits}; the agreement requires "
                f"AES-{min_aes_bits} (XtsAes256). BitLocker's default is XtsAes128.", resource=volume.name,
                observed=observed, expected=expected))
    if not verdicts:
        return [Verdict.not_applicable(f"No fixed drive is encrypted by {_tool(disk)}, so there is no cipher to judge "
                                       "(DISK-0010 reports the drives that are not encrypted).")]
    return verdicts


@check(
    id="DISK-0040",
    title="BitLocker or FileVault protection is in force: on, not suspended, not deferred, fully encrypted",
    severity=Severity.HIGH,
    requirements=("R1", "R11"),
    controls=_CONTROLS,
    platforms=(Platform.WINDOWS, Platform.MACOS),
    remediation="Windows: resume BitLocker protection (`Resume-BitLocker -MountPoint C:` or Control Panel > "
    "BitLocker > Resume protection) and let encryption finish with the laptop on power. macOS: finish turning on "
    "FileVault (log out and in again if it was deferred) and keep the Mac on power until encryption completes.",
)
def protection_in_force(disk: WindowsBitLocker | MacosFileVault) -> list[Verdict]:
    expected: dict[str, object] = {"state": "encrypted", "protection": "on", "deferred": False}
    volumes = [v for v in disk.volumes if in_scope(v)]
    if not volumes:
        return _unreadable(disk, expected)
    verdicts = []
    for volume in volumes:
        what = f"{volume.name} ({_ROLES[volume.role]})"
        observed = _observed(volume)
        if volume.state == "encrypted" and volume.protection == "on" and not volume.deferred:
            verdicts.append(Verdict.passed(f"{_tool(disk)} protection of {what} is on and the drive is fully "
                                           "encrypted.", resource=volume.name, observed=observed, expected=expected))
        elif volume.state == "encrypted" and volume.protection == "off":
            verdicts.append(Verdict.failed(
                f"{_tool(disk)} protection of {what} is suspended: the drive is encrypted but its key is stored "
                "unprotected on the drive, so anyone holding the computer can read the data.", resource=volume.name,
                observed=observed, expected=expected))
        elif volume.state in ("encrypting", "encryption paused"):
            verdicts.append(Verdict.failed(f"{_tool(disk)} is still encrypting {what} ({volume.state}, "
                                           f"{volume.percent or 0:g}% done).", resource=volume.name,
                                           observed=observed, expected=expected))
        elif volume.deferred:
            verdicts.append(Verdict.failed(f"FileVault is deferred on {what}: it turns on only at the next login, "
                                           "so the drive is not encrypted now.", resource=volume.name,
                                           observed=observed, expected=expected))
        else:
            verdicts.append(Verdict.failed(f"{_tool(disk)} protection of {what} is not in force "
                                           f"({volume.state or 'state unknown'}, protection "
                                           f"{volume.protection or 'unknown'}).", resource=volume.name,
                                           observed=observed, expected=expected))
    return verdicts
