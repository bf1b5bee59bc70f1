"""The PDF renderer process started with a scan: it lays out the PDF; whatever becomes of it, the PDF is the same."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.report import pdf_process
from auditor.report.render import render_reports
from tests.conftest import FIXTURES, run_cli

HOST = FIXTURES / "hosts" / "debian12-server"
STARTED = re.compile(r"the PDF renderer process started \(pid (\d+)\)")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A replayed run folder without reports."""
    folder = tmp_path_factory.mktemp("pdf-process") / "run"
    done = run_cli("replay", str(HOST), "--out", str(folder), "--format", "none", "--quiet", "--no-history")
    assert done.returncode in (0, 1), done.stderr
    return folder


@pytest.fixture(scope="module")
def reference(run, tmp_path_factory) -> bytes:
    """The PDF as `auditor report` writes it, in one process."""
    out = tmp_path_factory.mktemp("reference")
    done = run_cli("report", str(run), "--format", "pdf", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return (out / "report.pdf").read_bytes()


@pytest.fixture
def popens(monkeypatch) -> list[subprocess.Popen[bytes]]:
    """Every renderer process started, to see how it ended."""
    started: list[subprocess.Popen[bytes]] = []
    real = subprocess.Popen

    def recording(args, *more, **kwargs):
        process = real(args, *more, **kwargs)
        if tuple(args) == pdf_process.COMMAND:  # not a fixture's `auditor` run
            started.append(process)
        return process

    monkeypatch.setattr(pdf_process.subprocess, "Popen", recording)
    return started


def test_a_scan_with_its_pdf_has_it_laid_out_by_the_process_started_with_the_scan(tmp_path):
    out = tmp_path / "again"
    done = run_cli("replay", str(HOST), "--out", str(out), "--quiet", "--no-history",
                   env={"AUDITOR_LOG_LEVEL": "DEBUG"})
    assert done.returncode in (0, 1), done.stderr
    pid = STARTED.search(done.stderr)
    assert pid, done.stderr
    assert f"the PDF renderer process (pid {pid[1]}) ended with status 0" in done.stderr
    assert (out / "report.html").is_file()
    again = run_cli("report", str(out), "--format", "pdf", "--out", str(tmp_path / "by-report"))
    assert again.returncode == 0, again.stderr
    # the same file `auditor report` writes of that run folder, in one process
    assert (out / "report.pdf").read_bytes() == (tmp_path / "by-report" / "report.pdf").read_bytes()


def test_a_scan_without_a_pdf_starts_no_renderer(tmp_path):
    done = run_cli("replay", str(HOST), "--out", str(tmp_path / "html"), "--format", "html", "--quiet",
                   "--no-history", env={"AUDITOR_LOG_LEVEL": "DEBUG"})
    assert done.returncode in (0, 1), done.stderr
    assert (tmp_path / "html" / "report.html").is_file()
    assert not STARTED.search(done.stderr) and not (tmp_path / "html" / "report.pdf").exists()


@pytest.mark.parametrize("behaviour", [
    "import sys; sys.stdin.buffer.read(); sys.exit(1)",  # fails after the request (a full disk, say)
    "import sys; sys.exit(3)",  # ends before reading it (WeasyPrint could not be imported)
    "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",  # killed
])
def test_a_renderer_that_fails_leaves_the_pdf_to_this_process(run, reference, tmp_path, monkeypatch, behaviour):
    monkeypatch.setattr(pdf_process, "COMMAND", (sys.executable, "-c", behaviour))
    renderer = pdf_process.start()
    assert renderer is not None
    written = render_reports(run, ("html", "pdf"), "en", tmp_path, pdf_process=renderer)
    renderer.close()
    assert written == [tmp_path / "report.html", tmp_path / "report.pdf"]
    assert (tmp_path / "report.pdf").read_bytes() == reference


def test_a_renderer_asked_for_nothing_is_stopped_and_reaped(popens):
    renderer = pdf_process.start()
    assert renderer is not None
    renderer.close()
    renderer.close()  # idempotent
    assert len(popens) == 1 and popens[0].returncode is not None


def test_a_renderer_whose_stdin_ends_ends_by_itself():
    done = subprocess.run(pdf_process.COMMAND, input=b"", capture_output=True, timeout=60, check=False)
    assert (done.returncode, done.stderr) == (0, b"")


def test_a_renderer_asked_and_then_abandoned_is_stopped(run, tmp_path, popens):
    renderer = pdf_process.start()
    assert renderer is not None and renderer.ask(run, "en", tmp_path)
    renderer.close()  # the run failed after asking: nothing waits for the PDF
    assert popens[0].returncode is not None


def environment_of(pid: int) -> bytes:
    """/proc/PID/environ, once the new program has it: Popen returns when the exec is under way (vfork), and
    for a moment before the kernel has copied the environment the file reads empty."""
    deadline = time.monotonic() + 10
    while not (environ := Path(f"/proc/{pid}/environ").read_bytes()) and time.monotonic() < deadline:
        time.sleep(0.005)
    return environ


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads the process's environment in /proc")
def test_the_renderer_sees_none_of_the_scanners_secrets(monkeypatch, popens):
    monkeypatch.setenv("AUDITOR_KEY_PASSPHRASE", "signing-secret-1")
    monkeypatch.setenv("DB_PASSWORD", "database-secret-2")
    monkeypatch.setenv("FONTCONFIG_PATH", "/etc/fonts")
    renderer = pdf_process.start()
    assert renderer is not None
    try:
        environ = environment_of(popens[0].pid)
    finally:
        renderer.close()
    assert b"signing-secret-1" not in environ and b"database-secret-2" not in environ
    assert b"FONTCONFIG_PATH=/etc/fonts" in environ and b"PATH=" in environ
