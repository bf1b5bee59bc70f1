"""A core install (`pip install .` without extras, into a fresh venv, offline from the test wheelhouse) scans this
machine and seals; what needs an extra says so in one line naming it, never with an ImportError."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from auditor.extras import EXTRAS
from auditor.kit.build import build_auditor_wheel
from tests.conftest import ROOT, run_cli

WHEELHOUSE = ROOT / ".cache" / "wheelhouse"
PASSPHRASE = {"AUDITOR_KEY_PASSPHRASE": "extras-test"}


@pytest.fixture(scope="module")
def core(tmp_path_factory) -> Path:
    """A fresh venv holding auditor and its core dependencies only; returns its bin folder."""
    assert (WHEELHOUSE / ".complete").is_file(), f"{WHEELHOUSE} is empty: run `make test-setup` (make wheelhouse)"
    root = tmp_path_factory.mktemp("core")
    wheel = build_auditor_wheel(root)
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(root / "venv")], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")} | {"PIP_CONFIG_FILE": os.devnull}
    subprocess.run([str(root / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index",
                    "--find-links", str(WHEELHOUSE), str(wheel)], check=True, env=env, timeout=300)
    return root / "venv" / "bin"


def moved_clock_env(env: dict[str, str], scratch: Path) -> dict[str, str]:
    """Under `make test-later`, a venv of its own must move its clock too: its Python gets time-machine alone
    (linked from ours, nothing else of ours), next to the sitecustomize that PYTHONPATH already names."""
    if not env.get("AUDITOR_TEST_DAYS_AHEAD"):
        return env
    import time_machine  # only test-later has it on the path

    site = Path(time_machine.__file__).resolve().parent.parent
    only = scratch / "time-machine-only"
    only.mkdir(exist_ok=True)
    for part in [site / "time_machine", *site.glob("_time_machine*.so")]:
        if not (only / part.name).exists():
            (only / part.name).symlink_to(part)
    return {**env, "PYTHONPATH": f"{env.get('PYTHONPATH', '')}{os.pathsep}{only}"}


def _auditor(core: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(core / "auditor"), "--audit-log", str(cwd / "audit.log"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=180, check=False,
                          env=moved_clock_env({**os.environ, **PASSPHRASE}, cwd))


def test_the_core_install_has_none_of_the_extras_libraries(core):
    # Given the core venv
    # When each extra's modules are looked for
    modules = [m for ms in EXTRAS.values() for m in ms]
    found = subprocess.run([str(core / "python"), "-c", "import importlib.util, sys; print(' '.join(m for m in "
                            "sys.argv[1:] if importlib.util.find_spec(m)))", *modules],
                           capture_output=True, text=True, check=True, timeout=60)
    # Then none is there (so the tests below run without them)
    assert found.stdout.strip() == ""


@pytest.mark.slow
def test_a_core_install_scans_this_machine_at_home_and_seals(core, tmp_path):
    # Given the processor's seal key
    assert run_cli("keys", "init", "--dir", str(tmp_path / "keys"), env=PASSPHRASE).returncode == 0
    # When the home scan runs with the core only
    scanned = _auditor(core, tmp_path, "scan", "--home", "--seal-to", str(tmp_path / "keys" / "seal.pub"),
                       "--format", "none", "--no-history")
    # Then it finishes with the plain summary and the sealed file's path last, and no traceback
    assert scanned.returncode in (0, 1), scanned.stderr
    assert "Traceback" not in scanned.stderr and "extra" not in scanned.stderr
    bundle = Path(scanned.stderr.strip().splitlines()[-1])
    assert bundle.is_absolute() and bundle.is_file() and bundle.suffix == ".auditor-bundle"


@pytest.mark.slow
def test_a_plain_scan_without_the_report_extra_scans_and_says_in_one_line_what_the_report_needs(core, tmp_path):
    # Given the core only
    # When the processor's default scan (HTML and PDF reports) runs
    scanned = _auditor(core, tmp_path, "scan", "--no-history", "--out", str(tmp_path / "run"))
    # Then the evidence and results are written, no report, and one line names the extra
    assert scanned.returncode in (0, 1), scanned.stderr
    assert (tmp_path / "run" / "results.json").is_file() and not list((tmp_path / "run").glob("report*"))
    said = [line for line in scanned.stderr.splitlines() if "extra" in line]
    assert said == ["auditor: the HTML/PDF report needs the 'report' extra: pip install 'auditor[report]' "
                    "(then `auditor report RUN_DIR` renders it from this run)"]
    assert "Traceback" not in scanned.stderr
    # When the report is asked for later
    report = _auditor(core, tmp_path, "report", str(tmp_path / "run"), "--format", "pdf")
    # Then it is the one line naming the extra, exit 2
    assert report.returncode == 2
    assert report.stderr == "auditor: this needs the 'report' extra: pip install 'auditor[report]'\n"


@pytest.mark.parametrize(("kind", "extra"), [("ssh", "fleet"), ("tls", "tls")])
def test_a_fleet_or_tls_target_without_its_extra_is_one_line_naming_it(core, tmp_path, kind, extra):
    # Given an inventory with one target that needs the extra
    inventory = tmp_path / "fleet.yaml"
    inventory.write_text(f"targets:\n  - name: web1\n    kind: {kind}\n    host: 127.0.0.1\n    port: 1\n",
                         encoding="utf-8")
    # When it is scanned with the core only
    scanned = _auditor(core, tmp_path, "scan", "--inventory", str(inventory), "--format", "none", "--no-history",
                       "--out", str(tmp_path / "run"))
    # Then one line names the extra and how to install it, exit 2, before any run folder exists
    assert scanned.returncode == 2
    assert scanned.stderr == f"auditor: this needs the '{extra}' extra: pip install 'auditor[{extra}]'\n"
    assert not (tmp_path / "run").exists()
