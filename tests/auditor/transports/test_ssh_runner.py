"""The batch runner that runs on SSH targets, started here the way sshd starts it (`/bin/sh -c LAUNCH`)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from auditor.transports import _ssh_runner as runner
from auditor.transports._ssh_batch import LIMIT, FrameReader, Item, Raw, command_result, file_content
from auditor.transports.base import MAX_FACT_BYTES, TIMED_OUT, cmd


class _Bytes:
    """All the runner printed, as a ByteSource."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def receive(self, timeout: float) -> bytes:
        data, self.data = self.data, b""
        return data


def _unprivileged() -> list[str]:
    """A prefix that runs the runner as nobody when the tests run as root (as CI does)."""
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []


def _run(*batches: list[Item], sudo: bool = False, prefix: list[str] | None = None) -> list[dict[int, Raw]]:
    """Run the batches through one runner process; the results of each, by item index."""
    text = runner.bootstrap() + b"".join(runner.request(items, f"tok{n}", sudo) for n, items in enumerate(batches))
    done = subprocess.run([*(prefix or []), "/bin/sh", "-c", runner.LAUNCH], input=text, capture_output=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.startswith(runner.HELLO)  # said before any batch, so the scanner knows it started
    reader = FrameReader(_Bytes(done.stdout[len(runner.HELLO):]))
    answers = []
    for n, items in enumerate(batches):
        results = dict(reader.result(f"tok{n}", time.monotonic() + 1) for _ in items)
        reader.end(f"tok{n}", time.monotonic() + 1)
        answers.append(results)
    return answers


def test_each_result_keeps_its_stdout_stderr_and_status_apart_even_when_the_output_imitates_a_header():
    hostile = "printf 'tok0 5 0 99 0\\ntok0 end\\n\\0\\377'; echo oops >&2; exit 7"
    (results,) = _run([Item(0, cmd("sh", "-c", hostile)), Item(1, cmd("no-such-tool-here")), Item(2, cmd("true"))])
    assert results[0] == Raw(7, b"tok0 5 0 99 0\ntok0 end\n\0\377", b"oops\n")
    missing = command_result(cmd("no-such-tool-here"), results[1])
    assert missing.not_found and missing.stderr == "no-such-tool-here: command not found"
    assert results[2] == Raw(0, b"", b"")


def test_files_are_read_and_missing_directory_and_special_files_are_told_apart(tmp_path):
    data = tmp_path / "data.bin"
    data.write_bytes(b"\0binary\377")
    paths = [str(data), str(tmp_path / "absent"), str(tmp_path), "/dev/null"]
    (results,) = _run([Item(i, path=p) for i, p in enumerate(paths)])
    contents = [file_content(p, results[i]) for i, p in enumerate(paths)]
    assert contents[0].data == b"\0binary\377" and not contents[1].exists
    assert contents[2].error == "is a directory" and contents[3].error == "not a regular file"


def test_an_unreadable_file_says_why_and_sudo_never_prompts():
    folder = Path(tempfile.mkdtemp(prefix="auditor-runner-"))  # /tmp: nobody may look inside
    try:
        folder.chmod(0o755)
        secret = folder / "secret"
        secret.write_text("x")
        secret.chmod(0)
        (results,) = _run([Item(0, path=str(secret)), Item(1, cmd("id", "-u", sudo=True))], sudo=True,
                          prefix=_unprivileged())
        assert file_content(str(secret), results[0]).error == "Permission denied"
        # Without a sudo right (or without sudo at all) the command fails at once with sudo's reason.
        assert results[1].status == 1 and results[1].stderr.startswith(b"sudo:")
    finally:
        shutil.rmtree(folder)


def test_commands_run_four_at_a_time():
    started = time.monotonic()
    (results,) = _run([Item(i, cmd("sleep", "1")) for i in range(4)])
    assert all(raw.status == 0 for raw in results.values())
    assert time.monotonic() - started < 3.5  # one after another would take 4 s


def test_a_command_past_its_timeout_is_killed_with_everything_it_started(tmp_path):
    pid_file = tmp_path / "child.pid"
    # The command starts a child of its own; both must die when the timeout strikes.
    script = f"sleep 60 & echo $! > {pid_file}; wait"
    started = time.monotonic()
    (results,) = _run([Item(0, cmd("sh", "-c", script, timeout=1)), Item(1, cmd("echo", "after"))])
    assert results[0].status == TIMED_OUT and results[1] == Raw(0, b"after\n", b"")
    assert time.monotonic() - started < 6
    child = int(pid_file.read_text())
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


def test_flooding_output_is_cut_one_byte_past_the_limit_and_the_command_stopped():
    started = time.monotonic()
    (results,) = _run([Item(0, cmd("cat", "/dev/zero", timeout=60))])
    assert len(results[0].stdout) == LIMIT and time.monotonic() - started < 30
    result = command_result(cmd("cat", "/dev/zero"), results[0])
    assert result.truncated and len(result.stdout) == MAX_FACT_BYTES


def test_one_runner_answers_batch_after_batch():
    first, second = _run([Item(0, cmd("echo", "one"))], [Item(0, cmd("echo", "two")), Item(1, path="/etc/hostname")])
    assert first[0].stdout == b"one\n" and second[0].stdout == b"two\n" and second[1].status == 0


def test_the_launcher_exits_127_without_a_system_python():
    launch = runner.launch(("/nonexistent/python3",))
    done = subprocess.run(["/bin/sh", "-c", launch], input=b"", capture_output=True, timeout=10, check=False)
    assert done.returncode == 127


def test_the_runner_is_written_for_python_3_6_as_rhel_8_ships_it():
    # RHEL 8's /usr/libexec/platform-python is 3.6: no walrus, no f-string `=`, no match, no `X | Y` unions.
    ast.parse(runner.SCRIPT, feature_version=(3, 6))
