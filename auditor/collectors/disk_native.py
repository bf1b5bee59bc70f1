"""Disk encryption on Windows (BitLocker) and macOS (FileVault on APFS), as platform-neutral volumes.

Windows: `Get-BitLockerVolume` as JSON (enum numbers as in Microsoft.BitLocker.Structures, which are the
Win32_EncryptableVolume values), with the drive type from Win32_Volume and the conversion flags ("used space
only") from Win32_EncryptableVolume.GetConversionStatus; `manage-bde -status` only when the cmdlet is missing
(its labels are English: it is a fallback, and the facts say so). Key protectors are reduced to their type
names in the script, because ConvertTo-Json would otherwise write each RecoveryPassword into the evidence.

macOS: `fdesetup status` (FileVault on/off, still encrypting, deferred), `diskutil apfs list -plist` (which
APFS volumes are encrypted), `diskutil info -plist` of the physical store of each container that holds other
volumes than the startup disk's Data volume (Internal, RemovableMediaOrExternalDevice: a USB or Thunderbolt disk is
removable media, out of DISK-0010's scope as lsblk's RM=1 is on Linux) and the processor: FileVault's cipher is
fixed by the hardware (Apple Platform Security guide: AES-XTS with 256-bit keys in the Secure Enclave's AES engine
on Apple silicon; XTS-AES-128 on Intel Macs), so it is stated from the hardware, not read from the volume.
"""

from __future__ import annotations

import plistlib
import re
from typing import Any

from auditor.collectors.powershell import as_list, decode_output, enum_name, json_objects, ps
from auditor.errors import FactMissing
from auditor.records import record
from auditor.transports.base import Command, CommandResult, Transport, cmd

BITLOCKER = ps(
    "$types=@{}; Get-CimInstance Win32_Volume | ForEach-Object { $types[[string]$_.DriveLetter]=$_.DriveType }; "
    "$flags=@{}; try { Get-CimInstance -Namespace root/cimv2/Security/MicrosoftVolumeEncryption "
    "-ClassName Win32_EncryptableVolume -ErrorAction Stop | ForEach-Object { "
    "$flags[[string]$_.DriveLetter]=(Invoke-CimMethod -InputObject $_ -MethodName GetConversionStatus).EncryptionFlags"
    " } } catch {}; "
    "Get-BitLockerVolume -ErrorAction Stop | Select-Object MountPoint,VolumeType,ProtectionStatus,VolumeStatus,"
    "EncryptionMethod,EncryptionPercentage,LockStatus,CapacityGB,"
    "@{n='KeyProtector';e={@($_.KeyProtector | ForEach-Object { [string]$_.KeyProtectorType })}},"
    "@{n='DriveType';e={$types[[string]$_.MountPoint]}},@{n='EncryptionFlags';e={$flags[[string]$_.MountPoint]}} "
    "| ConvertTo-Json -Depth 3")
MANAGE_BDE = cmd("manage-bde", "-status", timeout=60)
FDESETUP = cmd("fdesetup", "status")
APFS_LIST = cmd("diskutil", "apfs", "list", "-plist")
CPU_BRAND = cmd("sysctl", "-n", "machdep.cpu.brand_string")
ARM64 = cmd("sysctl", "-n", "hw.optional.arm64")  # 1 on Apple silicon, even for a Python running under Rosetta
MACHINE = cmd("uname", "-m")
_DEVICE_IDENTIFIER = re.compile(r"disk\d+(?:s\d+)*")

WINDOWS_COMMANDS = (BITLOCKER, MANAGE_BDE)
MACOS_COMMANDS = (FDESETUP, APFS_LIST, CPU_BRAND, ARM64, MACHINE)

# Win32_EncryptableVolume.GetEncryptionMethod numbering, which the cmdlet's enums share.
METHODS = {0: "None", 1: "Aes128Diffuser", 2: "Aes256Diffuser", 3: "Aes128", 4: "Aes256", 5: "Hardware",
           6: "XtsAes128", 7: "XtsAes256"}
VOLUME_STATUS = {0: "FullyDecrypted", 1: "FullyEncrypted", 2: "EncryptionInProgress", 3: "DecryptionInProgress",
                 4: "EncryptionSuspended", 5: "DecryptionSuspended"}
PROTECTION = {0: "Off", 1: "On", 2: "Unknown"}
VOLUME_TYPE = {0: "OperatingSystem", 1: "Data"}
_DRIVE_TYPES = {2: "removable", 3: "fixed", 4: "network", 5: "optical", 6: "ramdisk"}
_STATE = {"FullyEncrypted": "encrypted", "FullyDecrypted": "decrypted", "EncryptionInProgress": "encrypting",
          "DecryptionInProgress": "decrypting", "EncryptionSuspended": "encryption paused",
          "DecryptionSuspended": "decryption paused", "EncryptionPaused": "encryption paused",
          "DecryptionPaused": "decryption paused"}
_BDE_STATE = {"fully encrypted": "encrypted", "used space only encrypted": "encrypted", "fully decrypted": "decrypted",
              "encryption in progress": "encrypting", "decryption in progress": "decrypting",
              "encryption paused": "encryption paused", "decryption paused": "decryption paused"}
USED_SPACE_ONLY = 0x1  # GetConversionStatus EncryptionFlags: data-only (used space) encryption
# Win32_EncryptableVolume.GetLockStatus: a locked volume "must be partially or fully encrypted and must not have the
# encryption key available in the clear on disk"; ProtectionStatus then reads Unknown (2), and the conversion status
# and method cannot be read until the drive is unlocked.
LOCK_STATUS = {0: "Unlocked", 1: "Locked"}
LOCKED_BASIS = "the drive is locked, so BitLocker cannot report its method until it is unlocked"


@record
class NativeVolume:
    """A volume as BitLocker or FileVault reports it (Windows and macOS).

    Attributes:
        name: "C:", "D:", or the APFS volume name with its device ("Macintosh HD - Data (disk3s5)").
        role: "os", "data" or "removable" (removable and network drives are out of scope for DISK-0010).
        state: encrypted, encrypting, decrypted, decrypting, encryption paused, decryption paused or "" (unknown).
        protection: "on", "off" (protection suspended when the volume is still encrypted) or "" (unknown).
        percent: how much is encrypted, None when not reported.
        method: the method as the OS names it (XtsAes128, "XTS-AES 128", AES-XTS), "" when unknown.
        cipher: "aes-xts", "aes-cbc", "hardware" or "" ; effective_bits: AES key strength (XTS-AES-128 = 128).
        used_space_only: only the used space was encrypted (free space may hold old data in clear), None if unknown.
        basis: where cipher and bits come from, in words (a field, manage-bde text, or the Mac's hardware).
        deferred: FileVault is set to turn on at the next login (macOS), so nothing is encrypted yet.
    """

    name: str
    role: str
    state: str = ""
    protection: str = ""
    percent: float | None = None
    method: str = ""
    cipher: str = ""
    effective_bits: int | None = None
    used_space_only: bool | None = None
    basis: str = ""
    deferred: bool = False


@record
class WindowsBitLocker:
    """The `disk` collector on Windows: BitLocker's volumes.

    Attributes:
        volumes: every volume Get-BitLockerVolume (or manage-bde) reported.
        problem: why they could not be read, or "".
    """

    volumes: tuple[NativeVolume, ...] = ()
    problem: str = ""


@record
class MacosFileVault:
    """The `disk` collector on macOS: FileVault on the APFS volumes that hold user data.

    Attributes:
        volumes: the Data (and User) volumes.
        hardware: the Mac's processor ("Apple M2 (Apple silicon)"), which fixes FileVault's cipher.
        problem: why they could not be read, or "".
    """

    volumes: tuple[NativeVolume, ...] = ()
    hardware: str = ""
    problem: str = ""


def method_strength(method: str) -> tuple[str, int | None]:
    """A BitLocker method (cmdlet name or manage-bde words) -> (cipher family, effective AES bits)."""
    key = method.replace("-", "").replace(" ", "").lower()
    if key.startswith("hardware"):
        return "hardware", None
    if key in ("none", "", "unknown", "-1", "4294967295"):
        return "", None
    bits = int(match.group(1)) if (match := re.search(r"(128|256)", key)) else None
    return ("aes-xts" if "xts" in key else "aes-cbc"), bits


def collect_windows(host: Transport) -> WindowsBitLocker:
    """From Get-BitLockerVolume, or manage-bde when the cmdlet is not there."""
    result = host.run(BITLOCKER)
    if result.ok:
        try:
            return WindowsBitLocker(parse_bitlocker_json(result))
        except ValueError as exc:
            return WindowsBitLocker(problem=f"Get-BitLockerVolume returned no JSON ({exc})")
    bde = host.run(MANAGE_BDE)
    if bde.ok:
        volumes = parse_manage_bde(bde.stdout)
        if volumes:
            return WindowsBitLocker(volumes)
        return WindowsBitLocker(problem="Get-BitLockerVolume is not available and manage-bde -status did not answer "
                                        "in English, the only language whose labels this scan reads")
    return WindowsBitLocker(problem=f"Get-BitLockerVolume: {result.failure()}; {bde.failure()}")


def parse_bitlocker_json(result: CommandResult) -> tuple[NativeVolume, ...]:
    """The BITLOCKER script's JSON (the Get-BitLockerVolume shape, enums as numbers or names)."""
    volumes = []
    for item in json_objects(result):
        method = enum_name(item.get("EncryptionMethod"), METHODS)
        status = enum_name(item.get("VolumeStatus"), VOLUME_STATUS)
        vtype = enum_name(item.get("VolumeType"), VOLUME_TYPE)
        drive = _DRIVE_TYPES.get(item.get("DriveType") or 0, "")
        role = "os" if vtype == "OperatingSystem" else ("removable" if drive == "removable" or vtype == "Removable"
                                                       else "data")
        cipher, bits = method_strength(method)
        flags = item.get("EncryptionFlags")
        percent = item.get("EncryptionPercentage")
        state = _STATE.get(status, "")
        protection = enum_name(item.get("ProtectionStatus"), PROTECTION).lower().replace("unknown", "")
        basis = "Get-BitLockerVolume EncryptionMethod"
        if enum_name(item.get("LockStatus"), LOCK_STATUS) == "Locked":
            state, protection = state or "encrypted", protection or "on"
            basis = basis if cipher else LOCKED_BASIS
        volumes.append(NativeVolume(
            str(item.get("MountPoint") or ""), role, state, protection,
            float(percent) if isinstance(percent, int | float) else None, method, cipher, bits,
            bool(flags & USED_SPACE_ONLY) if isinstance(flags, int) else None, basis))
    return tuple(volumes)


def parse_manage_bde(text: str) -> tuple[NativeVolume, ...]:
    """`manage-bde -status` (English labels): one block per "Volume X: [label]". A block without the English
    "Conversion Status" label (another display language) gives no volume, rather than one of unknown state."""
    volumes = []
    for block in re.split(r"^(?=Volume )", decode_output(text), flags=re.M)[1:]:
        head = block.splitlines()[0]
        values = {k.strip().lower(): v.strip() for k, _, v in
                  (line.partition(":") for line in block.splitlines()[1:]) if v.strip()}
        if "conversion status" not in values:
            continue
        conversion = values.get("conversion status", "").lower()
        method = values.get("encryption method", "")
        cipher, bits = method_strength(method)
        protection = values.get("protection status", "").lower()
        percent = re.match(r"([\d.,]+)", values.get("percentage encrypted", ""))
        role = "os" if "[OS Volume]" in block else ("removable" if "Removable" in block else "data")
        state = _BDE_STATE.get(conversion, "")
        protected = "on" if "protection on" in protection else ("off" if "protection off" in protection else "")
        basis = "manage-bde -status (English labels)"
        if values.get("lock status", "").lower() == "locked":
            state, protected = state or "encrypted", protected or "on"
            basis = basis if cipher else LOCKED_BASIS
        volumes.append(NativeVolume(
            head.split()[1].rstrip(":") + ":" if len(head.split()) > 1 else head, role, state, protected,
            float(percent.group(1).replace(",", ".")) if percent else None, method, cipher, bits,
            "used space only" in conversion if conversion in _BDE_STATE else None, basis))
    return tuple(volumes)


def collect_macos(host: Transport) -> MacosFileVault:
    """From fdesetup, diskutil and sysctl."""
    fde, apfs, brand, arm, machine = host.run_many(MACOS_COMMANDS)
    hardware = describe_hardware(brand.stdout.strip(), arm.stdout.strip(), machine.stdout.strip())
    if not fde.ok:
        return MacosFileVault(hardware=hardware, problem=fde.failure())
    state, percent, deferred = parse_fdesetup(fde.stdout)
    containers = parse_apfs_containers(apfs.stdout) if apfs.ok else []
    data = [(c, v) for c in containers for v in c.get("Volumes", []) if isinstance(v, dict)]
    cipher, bits, basis = macos_cipher(hardware)
    volumes = []
    external = _external_stores(host, [c for c, v in data if _holds_user_data(v) and "Data" not in _roles(v)])
    for container, volume in data or [({}, {"Name": "startup volume", "DeviceIdentifier": "", "Roles": ["Data"]})]:
        if not _holds_user_data(volume):
            continue  # System (sealed, read-only), Preboot, Recovery, VM, Update: no user data
        roles = _roles(volume)
        name = f"{volume.get('Name', '')} ({volume.get('DeviceIdentifier', '')})".replace(" ()", "")
        filevault = volume.get("FileVault", state != "decrypted")
        vstate = state if filevault or state in ("encrypting", "decrypting") else "decrypted"
        role = "os" if "Data" in roles else "removable" if physical_store(container) in external else "data"
        volumes.append(NativeVolume(name, role, vstate,
                                    "on" if vstate == "encrypted" else "off", percent, "FileVault" if filevault
                                    else "", cipher if vstate != "decrypted" else "", bits if vstate != "decrypted"
                                    else None, False, basis, deferred))
    # Without diskutil's list the startup volume stands in, judged on fdesetup's answer: no problem to report.
    return MacosFileVault(tuple(volumes), hardware, "" if volumes or apfs.ok else apfs.failure())


def parse_fdesetup(text: str) -> tuple[str, float | None, bool]:
    """`fdesetup status` -> (state, percent done, deferred enablement pending)."""
    on = "FileVault is On" in text
    encrypting = re.search(r"Encryption in progress: Percent completed = ([\d.]+)", text)
    decrypting = re.search(r"Decryption in progress: Percent completed = ([\d.]+)", text)
    # "FileVault is Off, but will be enabled after the next restart." (with or without the deferred line): pending.
    deferred = "Deferred enablement appears to be active" in text or "will be enabled after the next restart" in text
    if encrypting:
        return "encrypting", float(encrypting.group(1)), deferred
    if decrypting:
        return "decrypting", float(decrypting.group(1)), deferred
    return ("encrypted" if on else "decrypted"), (100.0 if on else 0.0), deferred


def parse_apfs_list(text: str) -> list[dict[str, Any]]:
    """`diskutil apfs list -plist` -> every volume dict of every container."""
    return [v for c in parse_apfs_containers(text) for v in c.get("Volumes", []) if isinstance(v, dict)]


def parse_apfs_containers(text: str) -> list[dict[str, Any]]:
    """`diskutil apfs list -plist` -> its Containers (ContainerReference, PhysicalStores, Volumes, ...)."""
    data = plistlib.loads(text.encode("utf-8"))
    return [c for c in data.get("Containers", []) if isinstance(c, dict)]


def _roles(volume: dict[str, Any]) -> list[str]:
    return [str(r) for r in as_list(volume.get("Roles"))]


def _holds_user_data(volume: dict[str, Any]) -> bool:
    roles = _roles(volume)
    return not roles or bool({"Data", "User"} & set(roles))


def physical_store(container: dict[str, Any]) -> str:
    """The device a container lives on ("disk4s2"), "" when none is named as a plain device identifier."""
    stores = [s.get("DeviceIdentifier") for s in as_list(container.get("PhysicalStores")) if isinstance(s, dict)]
    for store in (container.get("DesignatedPhysicalStore"), *stores):
        if isinstance(store, str) and _DEVICE_IDENTIFIER.fullmatch(store):
            return store
    return ""


def diskutil_info(device: str) -> Command:
    """`diskutil info -plist <device>` for a device identifier already checked to be "diskN" or "diskNsM"."""
    return cmd("diskutil", "info", "-plist", device)


def is_external(info: dict[str, Any]) -> bool | None:
    """`diskutil info -plist`: a disk that is not Internal, or that macOS calls RemovableMediaOrExternalDevice (USB,
    Thunderbolt, SD card, disk image); None when the answer says neither."""
    internal, external = info.get("Internal"), info.get("RemovableMediaOrExternalDevice")
    if internal is False or external is True:
        return True
    if internal is True or external is False:
        return False
    return None


def _external_stores(host: Transport, containers: list[dict[str, Any]]) -> set[str]:
    """The physical stores, among those of `containers`, that diskutil says are external or removable. A run recorded
    before this was asked has no answer: its containers count as internal, as they did then."""
    stores = sorted({store for c in containers if (store := physical_store(c))})
    try:
        results = host.run_many([diskutil_info(store) for store in stores]) if stores else []
    except FactMissing:
        return set()
    external = set()
    for store, result in zip(stores, results, strict=True):
        try:
            info = plistlib.loads(result.stdout.encode("utf-8")) if result.ok else {}
        except (plistlib.InvalidFileException, ValueError):
            info = {}
        if isinstance(info, dict) and is_external(info):
            external.add(store)
    return external


def describe_hardware(brand: str, arm64: str, machine: str) -> str:
    """"Apple M2 (Apple silicon)" or "Intel(R) Core(TM) i7 (Intel)"."""
    apple = arm64 == "1" or brand.startswith("Apple") or machine == "arm64"
    if not (brand or arm64 or machine):
        return ""
    return f"{brand or machine} ({'Apple silicon' if apple else 'Intel'})"


def macos_cipher(hardware: str) -> tuple[str, int | None, str]:
    """FileVault's cipher follows from the hardware (Apple Platform Security guide). The basis says the kind of
    Mac in words; the processor's model string stays in `MacosFileVault.hardware`."""
    if hardware.endswith("(Apple silicon)"):
        return "aes-xts", 256, "FileVault on an Apple silicon Mac uses AES-256-XTS (Secure Enclave AES engine)"
    if hardware.endswith("(Intel)"):
        return "aes-xts", 128, "FileVault on an Intel Mac uses XTS-AES-128"
    return "aes-xts", None, "the processor could not be read, so FileVault's key size is unknown"
