"""Facts about disk encryption: which mounted volume and which swap area sits on which dm-crypt layer,
and each layer's cipher and volume-key size, from lsblk, cryptsetup and dmsetup.

The block-device tree comes from `lsblk -J`; a volume is encrypted when a `crypt` device lies between it
and the disk (LVM-on-LUKS, LUKS-on-RAID, ...). Cipher and key size come from `cryptsetup status` (the
authority for an active mapping), then the LUKS header (`cryptsetup luksDump`), then `dmsetup table`.
Key material is never asked for: no `--showkeys`, no `--dump-volume-key`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import field
from typing import Any

from auditor.collectors import disk_native
from auditor.collectors.base import Requests
from auditor.collectors.disk_native import MacosFileVault, WindowsBitLocker
from auditor.models import Platform, SystemFacts
from auditor.records import record
from auditor.transports.base import Command, CommandResult, Transport, cmd

_COLUMNS = "NAME,KNAME,TYPE,FSTYPE,{},PKNAME,RM,RO,SIZE"
# util-linux < 2.37 (Ubuntu 20.04, RHEL 8) has no MOUNTPOINTS; both are asked for up front (one round trip).
LSBLK = cmd("lsblk", "-J", "-b", "-o", _COLUMNS.format("MOUNTPOINTS"))
LSBLK_OLD = cmd("lsblk", "-J", "-b", "-o", _COLUMNS.format("MOUNTPOINT"))
DMSETUP_TABLE = cmd("dmsetup", "table", sudo=True)
CRYPTTAB = "/etc/crypttab"
PROC_SWAPS = "/proc/swaps"
SWAP_MARK = "[SWAP]"
# A device name from the host goes into an argument list; anything outside this set is not asked about.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._:+@-]*$")
_BITS = re.compile(r"(\d+)")


def status_command(mapping: str) -> Command:
    """`cryptsetup status /dev/mapper/<name>` (a path, so a name can never be read as an option)."""
    return cmd("cryptsetup", "status", f"/dev/mapper/{mapping}", sudo=True)


def luks_dump_command(device: str) -> Command:
    """`cryptsetup luksDump <device>`: the header only; never --dump-volume-key."""
    return cmd("cryptsetup", "luksDump", device, sudo=True)


@record
class BlockDevice:
    """One node of the lsblk tree (a node listed under several parents, as an md member is, appears once).

    Attributes:
        kname: kernel name (sda2, dm-0, md1); name: what lsblk calls it (for dm devices, the mapping name).
        type: disk, part, crypt, lvm, raid1, loop, rom, ...; fstype: crypto_LUKS, ext4, swap, ... or "".
        mountpoints: where it is mounted ("[SWAP]" for active swap); parents: knames it is built on.
    """

    kname: str
    name: str
    type: str
    fstype: str = ""
    mountpoints: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    removable: bool = False
    read_only: bool = False
    size: int = 0

    @property
    def path(self) -> str:
        return f"/dev/mapper/{self.name}" if self.kname.startswith("dm-") else f"/dev/{self.name}"


@record
class CryptLayer:
    """An active dm-crypt mapping.

    Attributes:
        mapping: the mapping name (nvme0n1p3_crypt); device: the device it encrypts (/dev/nvme0n1p3).
        format: LUKS2, LUKS1, PLAIN, ... ("" when unknown); cipher: dm-crypt spec (aes-xts-plain64).
        key_bits: the whole volume key in bits as dm-crypt takes it (XTS: two AES keys), None if unread.
        source: which command gave cipher and key size; problem: why they could not be read, or "".
        mounted_at: mount points built on this layer ("swap" for swap), nearest volumes first.
    """

    mapping: str
    device: str
    format: str = ""
    cipher: str = ""
    key_bits: int | None = None
    source: str = ""
    problem: str = ""
    mounted_at: tuple[str, ...] = ()


@record
class Volume:
    """A mounted filesystem and the crypt layers beneath it (nearest first; empty: not encrypted)."""

    device: str
    kname: str
    type: str
    fstype: str
    mountpoints: tuple[str, ...]
    crypt: tuple[str, ...] = ()
    removable: bool = False
    read_only: bool = False


@record
class SwapArea:
    """An active swap area from /proc/swaps.

    Attributes:
        path: as /proc/swaps names it; kind: partition or file; kname: the block device it is on, or "".
        zram: compressed RAM, never written to disk; crypt: crypt layers beneath it (nearest first).
        holder: for a swap file, the mount point of the filesystem that holds it.
    """

    path: str
    kind: str
    kname: str = ""
    zram: bool = False
    crypt: tuple[str, ...] = ()
    holder: str = ""


@record
class CrypttabEntry:
    """One /etc/crypttab line: name, device, key file ("none" = passphrase) and options."""

    name: str
    device: str
    key: str = "none"
    options: tuple[str, ...] = ()

    @property
    def random_key(self) -> bool:
        """A fresh key every boot: the classic encrypted-swap set-up."""
        return self.key in ("/dev/urandom", "/dev/random")


@record
class DiskFacts:
    """Attributes:
    devices: the lsblk tree, flattened; volumes: mounted filesystems (swap excluded) and their crypt layers.
    crypt: active crypt layers by mapping name; swaps: active swap areas; crypttab: /etc/crypttab lines.
    lsblk_column: MOUNTPOINTS or MOUNTPOINT (util-linux < 2.37); problem: why the tree is missing, or "".
    swaps_problem: why /proc/swaps could not be read, or "".

    Windows and macOS answer with WindowsBitLocker and MacosFileVault (disk_native.py) instead.
    """

    devices: tuple[BlockDevice, ...] = ()
    volumes: tuple[Volume, ...] = ()
    crypt: Mapping[str, CryptLayer] = field(default_factory=dict)
    swaps: tuple[SwapArea, ...] = ()
    crypttab: tuple[CrypttabEntry, ...] = ()
    lsblk_column: str = ""
    problem: str = ""
    swaps_problem: str = ""


def requests(system: SystemFacts) -> Requests:
    if system.platform is Platform.WINDOWS:
        return disk_native.WINDOWS_COMMANDS[:1], ()
    if system.platform is Platform.MACOS:
        return disk_native.MACOS_COMMANDS, ()
    return (LSBLK, LSBLK_OLD, DMSETUP_TABLE), (CRYPTTAB, PROC_SWAPS)


def collect(host: Transport, system: SystemFacts) -> DiskFacts | WindowsBitLocker | MacosFileVault:
    if system.platform is Platform.WINDOWS:
        return disk_native.collect_windows(host)
    if system.platform is Platform.MACOS:
        return disk_native.collect_macos(host)
    return _collect_linux(host)


def _collect_linux(host: Transport) -> DiskFacts:
    lsblk = host.run(LSBLK)
    column = "MOUNTPOINTS"
    if not lsblk.ok and "unknown column" in lsblk.stderr:
        lsblk, column = host.run(LSBLK_OLD), "MOUNTPOINT"
    crypttab_file, swaps_file = host.read_many([CRYPTTAB, PROC_SWAPS])
    crypttab = parse_crypttab(crypttab_file.text) if crypttab_file.exists else ()
    swaps_problem = swaps_file.error or ("" if swaps_file.exists else f"{PROC_SWAPS} is missing")
    swap_lines = parse_proc_swaps(swaps_file.text) if not swaps_problem else []
    if not lsblk.ok:
        return DiskFacts(crypttab=crypttab, lsblk_column=column, problem=lsblk.failure(),
                         swaps=tuple(SwapArea(p, k, zram="zram" in p) for p, k in swap_lines),
                         swaps_problem=swaps_problem)
    devices = parse_lsblk(lsblk.stdout)
    by_kname = {d.kname: d for d in devices}
    volumes = tuple(
        Volume(d.path, d.kname, d.type, d.fstype, mounts, crypt_ancestors(by_kname, d.kname), d.removable, d.read_only)
        for d in devices if (mounts := tuple(m for m in d.mountpoints if m != SWAP_MARK))
    )
    swaps = tuple(resolve_swap(by_kname, volumes, path, kind) for path, kind in swap_lines)
    layers = _read_crypt_layers(host, devices, by_kname)
    return DiskFacts(devices, volumes, layers, swaps, crypttab, column, "", swaps_problem)


def _read_crypt_layers(host: Transport, devices: Iterable[BlockDevice],
                       by_kname: Mapping[str, BlockDevice]) -> dict[str, CryptLayer]:
    """One follow-up batch: `cryptsetup status` and `luksDump` for every crypt mapping lsblk showed."""
    plan: list[tuple[BlockDevice, str, bool]] = []
    commands: list[Command] = []
    for layer in (d for d in devices if d.type == "crypt"):
        parent = by_kname.get(layer.parents[0]) if layer.parents else None
        query = bool(_SAFE_NAME.match(layer.name)) and (parent is None or bool(_SAFE_NAME.match(parent.name)))
        plan.append((layer, parent.path if parent else "", query))
        if query:
            commands.append(status_command(layer.name))
            if parent:
                commands.append(luks_dump_command(parent.path))
    if not plan:
        return {}
    results = iter(host.run_many(commands))
    table = host.run(DMSETUP_TABLE)
    rows = parse_dmsetup_table(table.stdout) if table.ok else {}
    layers: dict[str, CryptLayer] = {}
    for layer, device, query in plan:
        status = next(results) if query else None
        dump = next(results) if query and device else None
        layers[layer.name] = _merge(layer.name, device, status, dump, rows.get(layer.name), table,
                                    mounted_above(by_kname, layer.kname))
    return layers


def _merge(mapping: str, device: str, status: CommandResult | None, dump: CommandResult | None,
           row: tuple[str, int | None] | None, table: CommandResult, mounted_at: tuple[str, ...]) -> CryptLayer:
    """Take cipher and key size from the most authoritative answer, and say why the others failed."""
    why: list[str] = []
    fmt, dump_cipher, dump_bits = parse_luks_dump(dump.stdout) if dump is not None and dump.ok else ("", "", None)
    if status is not None and status.ok:
        values = parse_cryptsetup_status(status.stdout)
        fmt = values.get("type", "") if values.get("type", "n/a") != "n/a" else fmt
        if values.get("cipher"):
            return CryptLayer(mapping, values.get("device") or device, fmt, values["cipher"],
                              _bits(values.get("keysize", "")), "cryptsetup status", "", mounted_at)
    elif status is not None:
        why.append(status.failure())
    if dump is not None and not dump.ok:
        why.append(dump.failure())
    if dump_cipher:
        return CryptLayer(mapping, device, fmt, dump_cipher, dump_bits, "cryptsetup luksDump", "", mounted_at)
    if row:
        return CryptLayer(mapping, device, fmt, row[0], row[1], "dmsetup table", "", mounted_at)
    if not table.ok:
        why.append(table.failure())
    if status is None:
        why.append("the mapping name is not a plain device name, so it was not queried")
    return CryptLayer(mapping, device, fmt, "", None, "lsblk", "; ".join(dict.fromkeys(why)), mounted_at)


def parse_lsblk(text: str) -> tuple[BlockDevice, ...]:
    """`lsblk -J` (any util-linux since 2.27: booleans/numbers or "0"/"1"/"123" strings) -> flat devices."""
    merged: dict[str, dict[str, Any]] = {}

    def visit(node: Mapping[str, Any], parent: str) -> None:
        kname = str(node.get("kname") or node.get("name") or "")
        entry = merged.setdefault(kname, {"node": node, "mounts": [], "parents": []})
        raw = node.get("mountpoints", node.get("mountpoint"))
        for mount in raw if isinstance(raw, list) else [raw]:
            if mount and mount not in entry["mounts"]:
                entry["mounts"].append(str(mount))
        for candidate in (parent, node.get("pkname")):
            if candidate and candidate not in entry["parents"]:
                entry["parents"].append(str(candidate))
        for child in node.get("children") or ():
            visit(child, kname)

    for top in json.loads(text).get("blockdevices") or ():
        visit(top, "")
    return tuple(
        BlockDevice(kname, str(e["node"].get("name") or kname), str(e["node"].get("type") or ""),
                    str(e["node"].get("fstype") or ""), tuple(e["mounts"]), tuple(e["parents"]),
                    _flag(e["node"].get("rm")), _flag(e["node"].get("ro")), int(e["node"].get("size") or 0))
        for kname, e in merged.items()
    )


def crypt_ancestors(by_kname: Mapping[str, BlockDevice], kname: str) -> tuple[str, ...]:
    """Walk the tree downward to the disks; the crypt mappings found on the way, nearest first."""
    found: list[str] = []
    seen: set[str] = set()
    queue = [kname]
    while queue:
        current = by_kname.get(queue.pop(0))
        if current is None or current.kname in seen:
            continue
        seen.add(current.kname)
        if current.type == "crypt":
            found.append(current.name)
        queue.extend(current.parents)
    return tuple(found)


def mounted_above(by_kname: Mapping[str, BlockDevice], kname: str) -> tuple[str, ...]:
    """Mount points of everything built on `kname` (itself included); swap shows as "swap"."""
    children: dict[str, list[str]] = {}
    for device in by_kname.values():
        for parent in device.parents:
            children.setdefault(parent, []).append(device.kname)
    mounts: list[str] = []
    queue, seen = [kname], set()
    while queue:
        current = queue.pop(0)
        if current in seen or current not in by_kname:
            continue
        seen.add(current)
        for mount in by_kname[current].mountpoints:
            label = "swap" if mount == SWAP_MARK else mount
            if label not in mounts:
                mounts.append(label)
        queue.extend(children.get(current, ()))
    return tuple(mounts)


def resolve_swap(by_kname: Mapping[str, BlockDevice], volumes: Iterable[Volume], path: str, kind: str) -> SwapArea:
    """Find the block device under a swap area; a swap file inherits the layers of the filesystem holding it."""
    if kind == "file":
        holder = max((v for v in volumes for m in v.mountpoints if _under(path, m)),
                     key=lambda v: max(len(m) for m in v.mountpoints if _under(path, m)), default=None)
        if holder is None:
            return SwapArea(path, kind)
        mount = max((m for m in holder.mountpoints if _under(path, m)), key=len)
        return SwapArea(path, kind, holder.kname, False, holder.crypt, mount)
    leaf = path.rsplit("/", 1)[-1]
    device = by_kname.get(leaf) or next((d for d in by_kname.values() if d.path == path or d.name == leaf), None)
    kname = device.kname if device else leaf
    return SwapArea(path, kind, kname, kname.startswith("zram"), crypt_ancestors(by_kname, kname) if device else ())


def parse_luks_dump(text: str) -> tuple[str, str, int | None]:
    """`cryptsetup luksDump` -> (format, cipher, volume-key bits).

    LUKS1 states "Cipher name", "Cipher mode" and "MK bits". LUKS2 states the cipher under "Data segments"
    and the volume key size as each keyslot's "Key:" line ("Cipher key:" is the keyslot area's own key).
    """
    version = re.search(r"^Version:\s*(\d+)", text, re.M)
    if version is None:
        return "", "", None
    if version.group(1) == "1":
        name = re.search(r"^Cipher name:\s*(\S+)", text, re.M)
        mode = re.search(r"^Cipher mode:\s*(\S+)", text, re.M)
        bits = re.search(r"^MK bits:\s*(\d+)", text, re.M)
        cipher = f"{name.group(1)}-{mode.group(1)}" if name and mode else ""
        return "LUKS1", cipher, int(bits.group(1)) if bits else None
    section = ""
    cipher, key_bits = "", None
    bound = True
    for raw in text.splitlines():
        if raw and not raw[0].isspace():
            section = raw.split(":")[0]
            continue
        line = raw.strip()
        if section == "Data segments" and line.startswith("cipher:") and not cipher:
            cipher = line.split(":", 1)[1].strip()
        elif section == "Keyslots":
            if re.match(r"^\d+: ", line):
                bound = "(unbound)" not in line
            elif bound and line.startswith("Key:") and key_bits is None:
                key_bits = _bits(line.split(":", 1)[1])
    if cipher.startswith("("):  # "(no SW encryption)": hardware OPAL only
        cipher = ""
    return f"LUKS{version.group(1)}", cipher, key_bits


def parse_cryptsetup_status(text: str) -> dict[str, str]:
    """`cryptsetup status`: indented "key: value" lines (type, cipher, keysize, device, ...)."""
    values: dict[str, str] = {}
    for line in text.splitlines()[1:]:
        key, found, value = line.strip().partition(":")
        if found and key:
            values.setdefault(key.strip(), value.strip())
    return values


def parse_dmsetup_table(text: str) -> dict[str, tuple[str, int | None]]:
    """`dmsetup table` crypt rows -> {mapping: (cipher, key bits)}; the key is masked or a keyring reference,
    but its length still tells the key size (hex digits x 4, or ":<bytes>:logon:...")."""
    rows: dict[str, tuple[str, int | None]] = {}
    for line in text.splitlines():
        name, found, rest = line.partition(": ")
        fields = rest.split()
        if not found or len(fields) < 5 or fields[2] != "crypt":
            continue
        key = fields[4]
        bits: int | None = None
        if key.startswith(":") and key[1:].split(":", 1)[0].isdigit():
            bits = int(key[1:].split(":", 1)[0]) * 8
        elif key != "-" and all(c in "0123456789abcdefABCDEF" for c in key):
            bits = len(key) * 4
        rows.setdefault(name, (fields[3], bits))
    return rows


def parse_proc_swaps(text: str) -> list[tuple[str, str]]:
    """/proc/swaps -> [(path, "partition" | "file")], spaces in paths unescaped."""
    swaps = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 2:
            swaps.append((fields[0].replace("\\040", " "), fields[1]))
    return swaps


def parse_crypttab(text: str) -> tuple[CrypttabEntry, ...]:
    """crypttab(5): name, device, key file, comma-separated options; comments and blank lines skipped."""
    entries = []
    for raw in text.splitlines():
        fields = raw.split()
        if len(fields) < 2 or fields[0].startswith("#"):
            continue
        key = fields[2] if len(fields) > 2 else "none"
        options = tuple(fields[3].split(",")) if len(fields) > 3 else ()
        entries.append(CrypttabEntry(fields[0], fields[1], key, options))
    return tuple(entries)


def _under(path: str, mount: str) -> bool:
    return mount == "/" or path == mount or path.startswith(mount.rstrip("/") + "/")


def _flag(value: object) -> bool:
    return value is True or str(value).strip() in ("1", "true")


def _bits(text: str) -> int | None:
    match = _BITS.search(text)
    return int(match.group(1)) if match else None
