"""Build the home kit: per operating system, a folder and a zip holding the auditor wheel, every dependency's wheel
for that system and the supported Python versions (hash-pinned), the controller's profile, the processor's
public sealing key and a double-click launcher. Nothing in a kit is fetched from the network when it runs.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import auditor
from auditor.bundle.keys import read_public
from auditor.errors import AuditorError, InputError
from auditor.kit import OPERATING_SYSTEMS
from auditor.profile import load_profile
from auditor.records import record

PYTHON_VERSIONS = ("3.11", "3.12", "3.13")
# Per system, the machines a kit serves, each as pip's --platform values. pip widens a macOS tag to older macOS
# versions and universal2, but not a PEP 600 manylinux tag to older glibc ones, so those are listed: glibc 2.28 is
# Debian 10, Ubuntu 20.04 (focal has 2.31), RHEL 8.
PLATFORMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "linux": (("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"),),
    "windows": (("win_amd64",),),
    "macos": (("macosx_11_0_x86_64",), ("macosx_11_0_arm64",)),
}
LAUNCHERS = {"linux": "scan-this-machine.sh", "windows": "Scan this PC.cmd", "macos": "Scan this Mac.command"}
TEMPLATES = Path(__file__).with_name("templates")
KIT_DIR = "kit"  # beside the launcher: everything else, so the employee sees one thing to double-click
_PIP_TIMEOUT = 900


@record
class KitRequest:
    """What the security lead asked for (the flags of `auditor kit build`)."""

    seal_to: Path
    profile: Path | None
    systems: Sequence[str]
    lang: str
    out: Path
    wheelhouse: Path | None = None
    auditor_wheel: Path | None = None


@record
class BuiltKit:
    """One system's kit: the folder, its zip and how many wheels it holds."""

    system: str
    folder: Path
    zip_file: Path
    wheels: int


def build_kits(request: KitRequest) -> list[BuiltKit]:
    """Check the inputs, then build one kit per requested system."""
    if not request.seal_to.is_file():
        raise InputError("the sealing key file does not exist", f"--seal-to {request.seal_to}",
                         "name the processor's seal.pub (made by `auditor keys init`)")
    read_public(request.seal_to, "x25519")  # a clear error for a wrong key, before any download
    from auditor.pipeline import load_checks

    # The same one-line error as a scan would give, checks included: a profile naming an unknown check would
    # otherwise be built into every employee's kit, and each home scan would end with exit 2.
    load_checks(load_profile(request.profile))
    if request.wheelhouse is not None and not request.wheelhouse.is_dir():
        raise InputError("the wheelhouse folder does not exist", f"--wheelhouse {request.wheelhouse}",
                         "name a folder of wheels, or omit --wheelhouse to download them")
    request.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="auditor-kit-") as scratch:
        wheel = request.auditor_wheel or build_auditor_wheel(Path(scratch))
        if not wheel.is_file():
            raise InputError("the auditor wheel does not exist", f"--auditor-wheel {wheel}", "name a built .whl")
        return [_build_one(request, system, wheel) for system in request.systems]


def build_auditor_wheel(scratch: Path) -> Path:
    """Build auditor's own wheel from the source tree this package was loaded from (a copy: the tree stays clean)."""
    root = Path(auditor.__file__).resolve().parents[1]
    if not (root / "pyproject.toml").is_file():
        raise InputError("auditor is installed without its source tree", "auditor kit build",
                         "pass --auditor-wheel PATH (a wheel built with `pip wheel --no-deps .`)")
    source = scratch / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("auditor", "checks"):
        shutil.copytree(root / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (root / name).is_file():
            shutil.copy2(root / name, source / name)
    _pip(["wheel", "--no-deps", "--no-build-isolation", "--no-index", "--wheel-dir", str(scratch), str(source)])
    return next(scratch.glob("auditor-*.whl"))


def _build_one(request: KitRequest, system: str, wheel: Path) -> BuiltKit:
    folder = request.out / system
    if folder.exists():  # an earlier kit is rebuilt; any other folder of that name is not ours to delete
        if not (folder / KIT_DIR / "kit.json").is_file():
            raise InputError(f"{folder} exists and is not a kit", f"--out {request.out}", "name another folder")
        shutil.rmtree(folder)
    kit = folder / KIT_DIR
    wheels = kit / "wheels"
    wheels.mkdir(parents=True)
    shutil.copy2(wheel, wheels / wheel.name)
    jobs = [(platforms, version) for platforms in PLATFORMS[system] for version in PYTHON_VERSIONS]
    with tempfile.TemporaryDirectory(prefix="auditor-kit-wheels-") as scratch:
        folders = [Path(scratch) / str(n) for n in range(len(jobs))]
        with ThreadPoolExecutor(max_workers=4) as pool:  # one folder per pip: two never write the same file
            list(pool.map(lambda n: download([str(wheel)], folders[n], *jobs[n], request.wheelhouse),
                          range(len(jobs))))
        for found in (w for folder in folders for w in folder.glob("*.whl")):
            if not (wheels / found.name).exists():
                shutil.copy2(found, wheels / found.name)
    foreign = [w.name for w in wheels.glob("*.whl") if not platform_matches(w.name, system)]
    if foreign:
        raise AuditorError(f"{system} kit: wheels for another system were chosen: {', '.join(foreign)}")
    (kit / "requirements.txt").write_text(pinned_requirements(sorted(wheels.glob("*.whl"))), encoding="utf-8")
    shutil.copy2(request.seal_to, kit / "seal.pub")
    if request.profile:
        shutil.copy2(request.profile, kit / "profile.yaml")
    (kit / "kit.json").write_text(json.dumps({"system": system, "lang": request.lang, "auditor": wheel.name,
                                              "profile": "profile.yaml" if request.profile else None,
                                              "python": list(PYTHON_VERSIONS)}, indent=2) + "\n", encoding="utf-8")
    shutil.copy2(TEMPLATES / "launch.py", kit / "launch.py")
    launcher = folder / LAUNCHERS[system]
    shutil.copy2(TEMPLATES / LAUNCHERS[system], launcher)
    launcher.chmod(0o755)
    zip_file = request.out / f"auditor-kit-{system}.zip"
    _zip(folder, zip_file, f"auditor-kit-{system}")
    return BuiltKit(system, folder, zip_file, len(list(wheels.glob("*.whl"))))


def download(requirements: Sequence[str], dest: Path, platforms: Sequence[str], version: str,
             wheelhouse: Path | None) -> None:
    """Every wheel `requirements` need on one of `platforms` under CPython `version`, into dest (wheels only)."""
    source = ["--no-index", "--find-links", str(wheelhouse)] if wheelhouse else []
    platform = platforms[0]
    _pip(["download", "--quiet", "--dest", str(dest), "--only-binary=:all:",
          *(f"--platform={p}" for p in platforms),
          "--python-version", version, "--implementation", "cp", *source, *requirements],
         what=f"the wheels for Python {version} on {platform}",
         fix=f"add them to {wheelhouse} (pip download --only-binary=:all: --platform {platform} --python-version "
             f"{version} --dest {wheelhouse} auditor's dependencies)" if wheelhouse else "check the network")


def _pip(args: Sequence[str], what: str = "auditor's wheel", fix: str = "see pip's message above") -> None:
    try:
        done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                              capture_output=True, text=True, timeout=_PIP_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise AuditorError(f"pip took longer than {_PIP_TIMEOUT} s to get {what}") from None
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise AuditorError(f"pip could not get {what}: {last.removeprefix('ERROR: ')}; {fix}")


def platform_matches(wheel_name: str, system: str) -> bool:
    """Whether a wheel runs on `system`: each of its platform tags is "any" or one of that system's."""
    tags = wheel_name.removesuffix(".whl").split("-")[-1].split(".")
    prefixes = {"linux": ("manylinux", "linux_x86_64"), "windows": ("win_amd64",), "macos": ("macosx_",)}[system]
    return all(tag == "any" or tag.startswith(prefixes) for tag in tags)


def pinned_requirements(wheels: Sequence[Path]) -> str:
    """A requirements file pinning every wheel by version and sha256 (pip --require-hashes installs nothing else).

    A project with wheels of two versions (one Python version resolved another release) is pinned per version
    with a python_version marker.
    """
    hashes: dict[tuple[str, str], list[str]] = defaultdict(list)
    pythons: dict[tuple[str, str], set[str]] = defaultdict(set)
    for wheel in wheels:
        name, version, *_, python_tag, _abi, _platform = wheel.name.removesuffix(".whl").split("-")
        key = (_canonical(name), version)
        hashes[key].append(hashlib.sha256(wheel.read_bytes()).hexdigest())
        pythons[key].update(_pythons(python_tag, _abi))
    versions: dict[str, list[str]] = defaultdict(list)
    for name, version in hashes:
        versions[name].append(version)
    lines = ["# Every wheel of this kit, pinned by sha256: pip install --no-index --require-hashes -r this file"]
    for (name, version), digests in sorted(hashes.items()):
        marker = ""
        if len(versions[name]) > 1:
            chosen = sorted(pythons[(name, version)] & set(PYTHON_VERSIONS))
            marker = " ; " + " or ".join(f'python_version == "{v}"' for v in chosen)
        pins = " ".join(f"--hash=sha256:{d}" for d in sorted(set(digests)))
        lines.append(f"{name}=={version}{marker} {pins}")
    return "\n".join(lines) + "\n"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pythons(python_tag: str, abi: str) -> set[str]:
    """The supported versions a wheel serves: cp312 just 3.12, cp311 with abi3 3.11 and later, py3 all."""
    found: set[str] = set()
    for tag in python_tag.split("."):
        match = re.fullmatch(r"cp3(\d+)", tag)
        if not match:
            return set(PYTHON_VERSIONS)
        minor = int(match.group(1))
        found |= {v for v in PYTHON_VERSIONS if int(v.split(".")[1]) == minor
                  or (abi == "abi3" and int(v.split(".")[1]) > minor)}
    return found


def _zip(folder: Path, zip_file: Path, top: str) -> None:
    """Zip the folder under one top-level name; file modes are kept, so the .sh and .command stay executable."""
    with zipfile.ZipFile(zip_file, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, f"{top}/{path.relative_to(folder).as_posix()}")


def kit_size(folder: Path) -> int:
    """Bytes in a kit folder (the closing note of `kit build` and the docs quote it)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


__all__ = ["OPERATING_SYSTEMS", "PYTHON_VERSIONS", "BuiltKit", "KitRequest", "build_kits"]
