"""`auditor scan` runs on Windows and macOS with only Python: POSIX-only calls are guarded, and each platform's
collectors are imported and reached only on that platform."""

from __future__ import annotations

import ast
import importlib
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.collectors import COLLECTORS
from auditor.collectors.system import detect
from auditor.models import Platform, SystemFacts, Target, TargetKind
from auditor.profile import load_profile
from auditor.transports import local
from auditor.transports.base import cmd
from auditor.transports.local import LocalTransport
from tests.auditor.fake_host import FakeHost

ROOT = Path(__file__).resolve().parent.parent
# os functions and constants Windows' Python does not have (os.O_NONBLOCK too: opening any input file failed).
POSIX_ONLY_CALLS = {"geteuid", "getuid", "getgid", "getegid", "setsid", "killpg", "getpgid", "fork", "uname",
                    "getpwuid", "chown", "mkfifo", "sync", "O_NONBLOCK", "O_NOCTTY", "O_NOFOLLOW", "O_DIRECTORY",
                    "WNOHANG", "WIFSIGNALED", "WTERMSIG", "WIFEXITED", "WEXITSTATUS", "statvfs", "getloadavg"}
POSIX_ONLY_MODULES = {"fcntl", "pwd", "grp", "termios", "resource", "pty", "tty"}
GUARDS = ("hasattr(os", "_POSIX", "sys.platform", "os.name")
PROFILE = load_profile()


def _sources() -> list[Path]:
    return sorted([*(ROOT / "auditor").rglob("*.py"), *(ROOT / "checks").rglob("*.py")])


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def _unguarded(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node

    def guarded(node: ast.AST, for_import: bool = False) -> bool:
        current: ast.AST | None = node
        while current is not None:
            test = getattr(current, "test", None)
            if isinstance(current, ast.If | ast.IfExp | ast.While) and test is not None and \
                    any(g in ast.get_source_segment(source, test) or "" for g in GUARDS):
                return True
            if isinstance(current, ast.BoolOp) and any(g in (ast.get_source_segment(source, current) or "")
                                                       for g in GUARDS):
                return True
            if for_import and isinstance(current, ast.Try) and any(
                    "ImportError" in ast.dump(h) or "ModuleNotFoundError" in ast.dump(h) for h in current.handlers):
                return True
            current = parents.get(current)
        return False

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in POSIX_ONLY_CALLS and \
                isinstance(node.value, ast.Name) and node.value.id == "os" and not guarded(node):
            found.append(f"{_name(path)}:{node.lineno} os.{node.attr}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                if name.split(".")[0] in POSIX_ONLY_MODULES and not guarded(node, for_import=True):
                    found.append(f"{_name(path)}:{node.lineno} import {name}")
        elif isinstance(node, ast.keyword) and node.arg == "start_new_session" and \
                isinstance(node.value, ast.Constant) and node.value.value is True:
            found.append(f"{_name(path)}:{node.lineno} start_new_session=True")
    return found


def test_posix_only_calls_are_guarded_everywhere() -> None:
    # Given every module of the scanner and the built-in checks
    # When they are scanned for POSIX-only calls and imports
    found = [hit for path in _sources() for hit in _unguarded(path)]
    # Then each one sits behind a hasattr(os, ...), _POSIX or sys.platform test (or a try/except ImportError)
    assert found == []


def test_the_scan_finds_an_unguarded_call(tmp_path: Path) -> None:
    # The scan itself must be able to fail: an unguarded geteuid and pwd import are reported, a guarded one not.
    path = tmp_path / "probe.py"
    path.write_text("import os\nimport pwd\nROOT = os.geteuid() == 0\nOK = hasattr(os, 'getuid') and os.getuid()\n",
                    encoding="utf-8")
    assert _unguarded(path) == ["probe.py:2 import pwd", "probe.py:3 os.geteuid"]


def test_local_transport_on_windows_needs_no_posix_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a Python on Windows: sys.platform is win32 and os has no geteuid
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delattr(os, "geteuid", raising=False)
    monkeypatch.setenv("PATH", "C:\\Windows\\system32")
    try:
        windows_local = importlib.reload(local)
        # When the local transport is created
        transport = windows_local.LocalTransport()
        # Then no sbin PATH or C locale is forced on Windows, and the scanner is not taken for root
        assert windows_local._environment()["PATH"] == "C:\\Windows\\system32"
        assert "LC_ALL" not in windows_local._environment() or os.environ.get("LC_ALL")
        assert transport._is_root is False
    finally:
        monkeypatch.undo()
        importlib.reload(local)


def test_linux_collectors_never_import_the_windows_or_macos_code() -> None:
    # Given a fresh interpreter that loads every collector as a Linux scan does
    code = ("import sys; from auditor.collectors import COLLECTORS; [COLLECTORS[n] for n in COLLECTORS]; "
            "print(sorted(m for m in sys.modules if m in ('auditor.collectors.windows', 'auditor.collectors.macos')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    # Then neither platform module was imported
    assert done.stdout.strip() == "[]"


# Facts seen from the network are answered by the scanner itself (pseudo-commands), whatever the target's system.
@pytest.mark.parametrize("name", [n for n in COLLECTORS if COLLECTORS[n].needs_login and n not in ("sshd", "system")])
def test_each_collector_plans_only_its_platforms_commands(name: str) -> None:
    # Given the same collector planned for Linux, Windows and macOS
    plans = {p: COLLECTORS[name].requests(SystemFacts(p), **_params(name))[0] for p in Platform}
    windows_programs = {c.argv[0] for c in plans[Platform.WINDOWS]}
    macos_programs = {c.argv[0] for c in plans[Platform.MACOS]}
    linux_programs = {c.argv[0] for c in plans[Platform.LINUX]}
    # Then Windows runs only Windows programs, and no platform gets another's
    assert windows_programs <= {"powershell", "auditpol", "wevtutil", "w32tm", "wbadmin", "manage-bde"}
    assert not (linux_programs & windows_programs) and not (macos_programs & windows_programs)


def _params(name: str) -> dict[str, object]:
    """Every parameter the collector declares: a TLS endpoint as the target, the default profile's values."""
    given: dict[str, object] = {"backup_marker_paths": [],
                                "target": Target("t", TargetKind.TLS, options={"host": "192.0.2.1", "port": 443})}
    return {p: given[p] if p in given else PROFILE.parameters[p] for p in COLLECTORS[name].parameters}


def test_detect_on_this_machine_agrees_with_python() -> None:
    # Given this machine, read through the real local transport
    facts = detect(LocalTransport())
    # Then the detected platform and architecture are what Python itself reports
    expected = {"Linux": Platform.LINUX, "Darwin": Platform.MACOS, "Windows": Platform.WINDOWS}[platform.system()]
    assert facts.platform is expected
    if expected is not Platform.WINDOWS:
        assert facts.architecture == platform.machine()


def test_local_transport_decodes_utf16_output_for_real() -> None:
    # Given a real process that answers in UTF-16LE with a BOM, as Windows tools do into a pipe
    script = "import sys; sys.stdout.buffer.write('Größe: 20971520'.encode('utf-16'))"
    result = LocalTransport().run(cmd(sys.executable, "-c", script))
    # Then the transport hands the collector text, not NUL-interleaved bytes
    assert result.ok and result.stdout == "Größe: 20971520"


def test_native_collectors_are_reached_only_on_their_platform() -> None:
    # Given a host that answers nothing: each collector must still plan and return facts for its platform
    from auditor.collectors import antimalware, disk
    from auditor.collectors.disk_native import MacosFileVault, WindowsBitLocker

    assert isinstance(antimalware.collect(FakeHost({}), SystemFacts(Platform.LINUX)), antimalware.AntimalwareFacts)
    assert isinstance(disk.collect(FakeHost({}), SystemFacts(Platform.WINDOWS)), WindowsBitLocker)
    macos_host = FakeHost({})
    assert isinstance(disk.collect(macos_host, SystemFacts(Platform.MACOS)), MacosFileVault)
    assert all(not call.startswith(("powershell", "lsblk")) for call in macos_host.calls)
