"""Shared fixtures: the real CLI in a subprocess, and recorded hosts in the replay layout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.processes import alive

pytest_plugins = ["tests.adversarial.tally"]

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
HOSTS = FIXTURES / "hosts"

# A suite started in the background by a non-interactive shell (`nohup make test &`, some CI runners) inherits
# SIGINT ignored: Python then raises no KeyboardInterrupt, and every process it starts inherits the same, so the
# Ctrl-C tests would test nothing a user can do. A handler of Python's own is reset to the default on exec, so
# this process and each one it starts take Ctrl-C as a terminal user's do.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `python -m auditor ARGS` as a user would, capturing both streams."""
    return subprocess.run([sys.executable, "-m", "auditor", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=child_env(env), timeout=timeout, check=False)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment plus `extra`; a PYTHONPATH in `extra` goes before ours, never instead of it
    (ours carries `make test-later`'s moved clock into every Python subprocess)."""
    merged = {**os.environ, **(extra or {})}
    if extra and "PYTHONPATH" in extra and os.environ.get("PYTHONPATH"):
        merged["PYTHONPATH"] = extra["PYTHONPATH"] + os.pathsep + os.environ["PYTHONPATH"]
    return merged


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_cli


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a text file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write


def real_epoch() -> float:
    """The machine's real clock, read by the kernel (a new file's mtime): what a scanned host's `date` says,
    whatever `make test-later` did to this process's wall clock."""
    with tempfile.NamedTemporaryFile() as probe:
        return os.stat(probe.name).st_mtime


def load_results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True, scope="session")
def _own_data_folders(tmp_path_factory) -> None:
    """Every CLI run in the tests writes its audit trail, history and keys under a temporary folder (the
    session's, for what session-wide fixtures run; each test then gets its own, below)."""
    home = tmp_path_factory.mktemp("xdg")
    os.environ["XDG_DATA_HOME"] = str(home / "data")
    os.environ["XDG_CONFIG_HOME"] = str(home / "config")
    os.environ.pop("AUDITOR_KEY_PASSPHRASE", None)


@pytest.fixture(autouse=True)
def _test_data_folders(_own_data_folders, tmp_path_factory, monkeypatch) -> None:
    """Each test's audit trail, history and keys are its own. A test that brings a key folder of its own (a forged
    processor's, a missing one) appends to the activity log under another log key; in a folder shared with the
    next tests, their commands then said "a new segment starts" on stderr (seen once in a fresh-clone run)."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))


@pytest.fixture
def marker() -> Iterator[str]:
    """A `sleep` argument no other process on this machine has (tests/processes.py finds what carries it);
    whatever still carries it is killed at the end."""
    seconds = f"{uuid.uuid4().int % 1000 + 300}.{uuid.uuid4().int % 10**6:06d}"
    yield seconds
    for proc in alive(seconds):
        proc.kill()
