"""A Debian package state in a folder: dpkg's status and one security suite's package list, laid out as on a
host (ROOT/var/lib/dpkg/status, ROOT/var/lib/apt/lists/), so the real `apt` and the security-list script can
both be asked about it. Used by the updates tests and by tests/fixtures/make_hosts.py."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from auditor.collectors._apt_security_script import SCRIPT

_LISTS = "var/lib/apt/lists"
_ARCHIVE = "deb.debian.org_debian-security_dists_{suite}"


def write_tree(root: Path, installed: Mapping[str, tuple[str, str]], security: Mapping[str, tuple[str, str]],
               suite: str = "bookworm-security") -> Path:
    """installed / security: package -> (architecture, version). Returns root."""
    (root / "var/lib/dpkg").mkdir(parents=True, exist_ok=True)
    (root / _LISTS / "partial").mkdir(parents=True, exist_ok=True)
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "var/lib/dpkg/status").write_text("".join(
        f"Package: {name}\nStatus: install ok installed\nArchitecture: {arch}\nVersion: {version}\n"
        f"Description: {name}\n\n" for name, (arch, version) in installed.items()))
    archive = _ARCHIVE.format(suite=suite)
    (root / _LISTS / f"{archive}_Release").write_text(
        f"Origin: Debian\nLabel: Debian-Security\nSuite: {suite}\nCodename: {suite}\nComponents: main\n"
        "Architectures: amd64\n")
    (root / _LISTS / f"{archive}_main_binary-amd64_Packages").write_text("".join(
        f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\nFilename: pool/{name}.deb\n\n"
        for name, (arch, version) in security.items()))
    (root / "etc/sources.list").write_text(
        f"deb [trusted=yes] http://deb.debian.org/debian-security {suite} main\n")
    return root


def apt_upgradable(root: Path) -> str:
    """What the real `apt list --upgradable` says about the tree (this machine's apt, pointed at it)."""
    options = {"Dir": str(root), "Dir::State::status": str(root / "var/lib/dpkg/status"),
               "Dir::Etc::sourcelist": str(root / "etc/sources.list"), "Dir::Etc::sourceparts": str(root / "etc"),
               "Dir::Etc::preferences": "/dev/null", "Dir::Etc::preferencesparts": str(root / "etc"),
               "Dir::Cache": str(root / "cache")}
    argv = ["apt", *(f"-o{key}={value}" for key, value in options.items()), "list", "--upgradable"]
    return subprocess.run(argv, capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"}).stdout


def security_script(root: Path) -> subprocess.CompletedProcess[str]:
    """The security-list script run on the tree, as the collector runs it on a host."""
    return subprocess.run(["/usr/bin/python3", "-I", "-S", "-c", SCRIPT, str(root)], capture_output=True, text=True,
                          check=False)
