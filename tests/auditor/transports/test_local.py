"""The local transport: argument lists only, C locale, sbin on PATH, time and size limits."""

from __future__ import annotations

import time

from auditor.transports import base
from auditor.transports.base import cmd
from auditor.transports.local import LocalTransport


def test_arguments_are_never_interpreted_by_a_shell(tmp_path):
    marker = tmp_path / "pwned"
    result = LocalTransport().run(cmd("echo", f"$(touch {marker}); `id`; | cat"))
    assert result.ok and result.stdout == f"$(touch {marker}); `id`; | cat\n"
    assert not marker.exists()


def test_c_locale_and_sbin_on_path():
    result = LocalTransport().run(cmd("sh", "-c", 'echo "$LC_ALL:$PATH"'))
    locale, path = result.stdout.strip().split(":", 1)
    assert locale == "C" and "/usr/sbin" in path.split(":")


def test_missing_program_is_exit_127_not_an_exception():
    result = LocalTransport().run(cmd("no-such-program-auditor"))
    assert result.not_found and "command not found" in result.stderr


def test_a_hanging_command_is_killed_at_its_timeout():
    started = time.monotonic()
    result = LocalTransport().run(cmd("sleep", "30", timeout=0.5))
    assert result.timed_out and time.monotonic() - started < 5
    assert "timed out after 0.5 s" in result.stderr


def test_flooding_output_is_cut_and_marked(monkeypatch):
    monkeypatch.setattr("auditor.transports.local.MAX_FACT_BYTES", 1000)
    result = LocalTransport().run(cmd("head", "-c", "5000", "/dev/zero"))
    assert result.truncated and len(result.stdout) == 1000


def test_files_missing_unreadable_and_directories(tmp_path):
    host = LocalTransport()
    assert not host.read_file(str(tmp_path / "absent")).exists
    folder = host.read_file(str(tmp_path))
    assert folder.exists and folder.error == "is a directory"
    (tmp_path / "f").write_bytes(b"\x00\xffdata")
    assert host.read_file(str(tmp_path / "f")).data == b"\x00\xffdata"


def test_run_many_keeps_order_and_runs_in_parallel():
    started = time.monotonic()
    results = LocalTransport().run_many([cmd("sh", "-c", f"sleep 0.4; echo {i}") for i in range(4)])
    assert [r.stdout.strip() for r in results] == ["0", "1", "2", "3"]
    assert time.monotonic() - started < 1.4


def test_close_stops_commands_in_flight():
    import threading

    host = LocalTransport()
    threading.Timer(0.3, host.close).start()
    started = time.monotonic()
    result = host.run(cmd("sleep", "30"))
    assert time.monotonic() - started < 5 and not result.ok
    assert host.run(cmd("true")).exit_status == base.TIMED_OUT  # a closed transport runs nothing more
