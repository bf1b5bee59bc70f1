"""A lying target attacks the person at the terminal and the run's verdict; the scanner's secrets are sought in
the processes it starts.

- terminal: escape sequences in what a target says (window title, clear screen, colours, OSC 8 hyperlinks, C1
  controls, bidi overrides) reach a pipe and a real pty only as visible text (`\\x1b`), never as escapes.
- honest outcomes: a target whose system answers garbage, or that answers nothing in time, is "not assessed"
  with the reason and the run exits 3; nothing made of timeouts is judged FAIL.
- secrets in environment: commands run on this machine, and the TLS scan server, see none of the scanner's
  secrets (AUDITOR_KEY_PASSPHRASE, the variables an inventory's password_env names).

The SSH cases are real: OpenSSH's sshd on 127.0.0.1 runs tests/adversarial/lying_runner.py as its ForceCommand
in place of auditor's batch runner, and the installed `auditor` command scans it.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.server
import io
import json
import logging
import os
import pty
import select
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from auditor.bundle.evidence import EvidenceStore
from auditor.clock import FixedClock
from auditor.collectors.system import OS_RELEASE, UNAME, USER_ID
from auditor.console import PlainConsole, VisibleFormatter, print_summary, visible
from auditor.errors import ConnectError
from auditor.models import ErrorReason, Finding, ScanResult, Status, SystemFacts, Target, TargetKind, TargetResult
from auditor.pipeline import ExitCode, exit_code, load_checks
from auditor.profile import load_profile
from auditor.runner import run_scan
from auditor.transports import _tls_worker
from auditor.transports.base import TIMED_OUT, CommandResult, FileContent, cmd
from auditor.transports.local import LocalTransport
from auditor.transports.ssh import SshTransport
from tests import sshd_server
from tests.auditor.fake_host import FakeHost
from tests.sshd_server import HARDENED, SshdServer

AUDITOR = str(Path(sys.executable).parent / "auditor")  # the installed command, as a user runs it
LIAR = Path(__file__).with_name("lying_runner.py")
SCANNED_AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PROFILE = load_profile()
# What each attack sends, as the bytes a terminal would obey.
TITLE, CLEAR, COLOUR, LINK = "\x1b]0;PWNED-TITLE\x07", "\x1b[2J", "\x1b[38;5;201m", "\x1b]8;;https://evil.example/"
ESCAPES = f"{TITLE}{CLEAR}\x1b[H{COLOUR}EVIL-COLOUR\x1b[0m{LINK}\x1b\\EVIL-LINK\x1b]8;;\x1b\\\x07\u009b31m"

terminal = pytest.mark.attack("terminal")
honest = pytest.mark.attack("honest outcomes")
secrets_env = pytest.mark.attack("secrets in environment")


# ---- helpers -----------------------------------------------------------------------------------------------

def _assert_nothing_obeyed(printed: str) -> None:
    """No escape a target sent is in `printed` as the real thing; each is there, visible."""
    for raw in (TITLE, CLEAR, COLOUR, LINK, "\x07", "\u009b", "\x1b]"):
        assert raw not in printed, f"{raw!r} reached the output raw"
    assert "\\x1b]0;PWNED-TITLE\\x07" in printed


def _scan(host: FakeHost, folder: Path) -> ScanResult:
    return run_scan("run-1", [Target(host.target, TargetKind.LOCAL)], load_checks(PROFILE), PROFILE,
                    EvidenceStore(folder),
                    open_target=lambda _t, _login: host, clock=FixedClock(SCANNED_AT))


class _Answering(FakeHost):
    """A Linux host whose system detection answers as given, and every other question as `rest` says."""

    def __init__(self, uname: str, rest: str) -> None:
        super().__init__({})
        self.target = "liar"
        self._uname, self._rest = uname, rest

    def run(self, command):  # type: ignore[no-untyped-def]
        if command == UNAME:
            return CommandResult(str(command), 0, self._uname)
        if command == USER_ID:
            return CommandResult(str(command), 0, "0\n")
        if self._rest == "hang" or (self._rest == "hang-timesync" and command.argv[0] == "timedatectl"):
            return CommandResult(str(command), TIMED_OUT, "", f"timed out after {command.timeout:g} s", True)
        return super().run(command)

    def read_file(self, path: str) -> FileContent:
        if path in OS_RELEASE:
            return FileContent(path, True, b'ID=debian\nVERSION_ID=12\nPRETTY_NAME="Debian 12"\n')
        if self._rest == "hang":
            return FileContent(path, True, error="no answer within the command's time budget")
        return super().read_file(path)


@pytest.fixture(scope="module")
def lying_sshd(tmp_path_factory) -> Iterator[object]:
    """start(mode): a real sshd on 127.0.0.1 whose every session runs the lying runner in that mode."""
    if not sshd_server.available():
        pytest.fail("OpenSSH's sshd is missing: `make test` installs openssh-server")
    root = tmp_path_factory.mktemp("lying-sshd")
    root.chmod(0o755)
    key = sshd_server.keygen(root / "client_ed25519")
    started: list[SshdServer] = []

    def start(mode: str) -> tuple[SshdServer, Path]:
        server = SshdServer(root / f"{mode}-{uuid.uuid4().hex[:6]}", HARDENED, key,
                            extra=f"ForceCommand /usr/bin/python3 {LIAR} {mode}\n").start()
        started.append(server)
        return server, key

    yield start
    for server in started:
        server.stop()


def _scan_cli(start, mode: str, folder: Path, tty: bool = False, **options: object) -> tuple[int, str, Path]:
    """`auditor scan` of the lying sshd in `mode`: (exit code, what it printed on stderr, the run folder)."""
    server, key = start(mode)
    inventory = folder / "inventory.yaml"
    inventory.write_text("targets:\n" + server.inventory_entry("liar", key, **options))
    run = folder / "run"
    argv = [AUDITOR, "--audit-log", str(folder / "audit.log"), "scan", "--inventory", str(inventory),
            "--no-sign", "--no-history", "--format", "none", "--out", str(run)]
    env = {**os.environ, "HOME": str(folder), "XDG_CONFIG_HOME": str(folder / "config"), "COLUMNS": "200"}
    if not tty:
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
        return done.returncode, done.stderr, run
    return (*_on_a_pty(argv, {**env, "TERM": "xterm-256color"}), run)


def _on_a_pty(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run argv with a real pseudo-terminal as its stdin, stdout and stderr; (exit code, every byte it wrote)."""
    main, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))  # 50 rows, 250 columns
    proc = subprocess.Popen(argv, stdin=secondary, stdout=secondary, stderr=secondary, env=env,
                            start_new_session=True)
    os.close(secondary)
    written = bytearray()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if select.select([main], [], [], 0.2)[0]:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the child closed its end of the terminal
                break
            if not chunk:
                break
            written += chunk
        elif proc.poll() is not None:
            break
    os.close(main)
    return proc.wait(timeout=10), written.decode("utf-8", errors="replace")


# ---- terminal ----------------------------------------------------------------------------------------------

@terminal
@pytest.mark.parametrize("attack", [TITLE, CLEAR, COLOUR, LINK + "x\x1b\\", "\x07", "\u009b2J", "\x9d0;t\x9c",
                                    "\u202eevil\u202c", "\u2066x\u2069", "fake\rPASS", "a\x08\x08\x08b", "\x00"])
def test_every_kind_of_terminal_control_is_shown_never_obeyed(attack):
    # Given text from a target holding one kind of control, When it is made visible
    shown = visible(f"before {attack} after")
    # Then no control character is left, and the text around it is kept
    assert not any((ord(c) < 0x20 and c not in "\t\n") or 0x7f <= ord(c) <= 0x9f or c in "\u202a\u202b\u202c"
                   "\u202d\u202e\u2066\u2067\u2068\u2069" for c in shown), repr(shown)
    assert shown.startswith("before ") and shown.endswith(" after")


@terminal
def test_the_summary_on_a_pipe_shows_escapes_in_messages_and_system_names():
    # Given a run whose target named its system, and failed a check, with terminal escapes
    finding = Finding("SSH-0010", "liar", Status.FAIL, f"sshd says {ESCAPES}")
    target = TargetResult(Target("liar", TargetKind.SSH), SystemFacts(None, os_name=ESCAPES), (finding,))
    result = ScanResult("r", "0", SCANNED_AT, SCANNED_AT, "p", "", {}, (target,))
    # When the summary is printed to a pipe (plain lines), and as rich draws it on a terminal
    pipe, terminal = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(pipe):
        print_summary(PlainConsole(), result, "reports/r")
    print_summary(Console(file=terminal, width=300, highlight=False), result, "reports/r")
    # Then every escape is visible text in both
    _assert_nothing_obeyed(pipe.getvalue())
    _assert_nothing_obeyed(terminal.getvalue())


@terminal
def test_a_log_line_quoting_a_target_shows_its_escapes():
    # Given a log record quoting a target's answer
    record = logging.LogRecord("auditor", logging.WARNING, __file__, 1, "host said %s", (ESCAPES,), None)
    # When the command line's formatter writes it
    line = VisibleFormatter("%(levelname)s %(message)s").format(record)
    # Then the escapes are visible
    _assert_nothing_obeyed(line)


@terminal
@pytest.mark.slow
def test_a_lying_ssh_host_cannot_drive_a_pipe(lying_sshd, tmp_path):
    # Given a real sshd whose "runner" answers with window titles, clear-screen, colours and links
    # When the installed auditor scans it with stderr on a pipe
    code, printed, run = _scan_cli(lying_sshd, "escapes", tmp_path)
    # Then the summary names the system and quotes the failures, with every escape visible
    assert (run / "results.json").is_file(), printed
    assert "EVIL-COLOUR" in printed and code == ExitCode.INCOMPLETE, printed
    _assert_nothing_obeyed(printed)
    assert "\x1b" not in printed  # on a pipe, rich writes no styling of its own either


@terminal
@pytest.mark.slow
def test_a_lying_ssh_host_cannot_drive_a_real_terminal(lying_sshd, tmp_path):
    # Given the same lying host, When the installed auditor scans it on a real pty (live progress, colours)
    code, printed, _ = _scan_cli(lying_sshd, "escapes", tmp_path, tty=True)
    # Then auditor's own styling is there, and none of the target's escapes: each is shown as text
    assert "EVIL-COLOUR" in printed and code == ExitCode.INCOMPLETE, printed
    assert "\x1b[" in printed  # it is a terminal: rich styles the table
    _assert_nothing_obeyed(printed)


@terminal
@pytest.mark.slow
def test_evidence_commands_show_a_runs_escapes(lying_sshd, tmp_path):
    # Given a run whose findings quote a lying host's escapes
    _code, printed, run = _scan_cli(lying_sshd, "escapes", tmp_path)
    assert (run / "results.json").is_file(), printed
    # When `auditor diff` compares it with itself (every failure is "still failing", with its message)
    done = subprocess.run([AUDITOR, "--audit-log", str(tmp_path / "audit.log"), "diff", str(run), str(run)],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "HOME": str(tmp_path)})
    # Then its messages are printed with every escape visible
    assert done.returncode == 0 and "still failing" in done.stdout, done.stderr
    _assert_nothing_obeyed(done.stdout)


@terminal
@pytest.mark.slow
def test_an_error_line_quoting_input_shows_its_escapes(tmp_path):
    # Given a run id that holds escapes (as a pasted one might), When `auditor diff` cannot find it
    done = subprocess.run([AUDITOR, "--audit-log", str(tmp_path / "audit.log"), "diff", f"run{ESCAPES}", "other",
                           "--history", str(tmp_path / "history.db")], capture_output=True, text=True,
                          timeout=60, check=False, env={**os.environ, "HOME": str(tmp_path)})
    # Then its one error line quotes it with the escapes visible
    assert done.returncode == ExitCode.USAGE_ERROR and done.stderr.count("\n") == 1, done.stderr
    _assert_nothing_obeyed(done.stderr)


@terminal
def test_http_on_an_ssh_port_is_named_as_http_not_a_missing_banner():
    # Given a web server where an SSH server was expected
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        # When auditor connects to it as SSH
        with pytest.raises(ConnectError) as raised:
            SshTransport(_ssh_target(httpd.server_address[1]))
    finally:
        httpd.shutdown()
        httpd.server_close()
    # Then the error says a web server answered
    assert "not SSH" in str(raised.value) and "no SSH banner" not in str(raised.value), str(raised.value)


@terminal
def test_garbage_on_an_ssh_port_is_quoted_with_its_escapes_visible():
    # Given a listener that answers with 40-odd bytes of terminal escapes and words, then hangs up
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        for _ in range(2):  # paramiko's attempt, then auditor's look at what the port says
            conn, _ = listener.accept()
            with conn:
                conn.sendall(f"{TITLE}{CLEAR}no ssh here\r\n".encode())
                time.sleep(0.2)

    threading.Thread(target=serve, daemon=True).start()
    try:
        # When auditor connects to it as SSH
        with pytest.raises(ConnectError) as raised:
            SshTransport(_ssh_target(listener.getsockname()[1]))
    finally:
        listener.close()
    # Then the error says how many bytes came and quotes them, escapes visible
    message = str(raised.value)
    assert "bytes that are not an SSH banner" in message and "\\x1b]0;PWNED-TITLE\\x07" in message, message
    assert "\x1b" not in message


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        """No access log on the test's stderr."""


def _ssh_target(port: int) -> Target:
    return Target("liar", TargetKind.SSH, options={"host": "127.0.0.1", "port": port, "user": "nobody",
                                                    "ssh_config": "none", "known_hosts": os.devnull,
                                                    "banner_timeout": 3})


# ---- honest outcomes ---------------------------------------------------------------------------------------

@honest
@pytest.mark.parametrize("uname", [f"{ESCAPES} garbage\n", "FreeBSD host 14.0-RELEASE amd64\n", "\n"])
def test_a_system_that_answers_no_known_platform_is_not_assessed(uname, tmp_path):
    # Given a host whose system detection answers garbage, an unsupported system, or nothing
    result = _scan(_Answering(uname, rest="answer"), tmp_path)
    (target,) = result.targets
    # Then it is not assessed, with what it said; no check is counted as skipped; the run is incomplete
    assert target.error_reason is ErrorReason.UNSUPPORTED and "platform could not be detected" in \
        target.connection_error, target.connection_error
    assert not [f for f in target.findings if f.status is Status.SKIPPED]
    assert exit_code(result) is ExitCode.INCOMPLETE


@honest
def test_a_host_that_times_out_on_everything_after_detection_is_not_assessed_and_fails_nothing(tmp_path):
    # Given a host that answers its system detection, then lets every other command time out
    result = _scan(_Answering("Linux liar 6.1.0 x86_64\n", rest="hang"), tmp_path)
    (target,) = result.targets
    statuses = Counter(f.status for f in target.findings)
    # Then no check fails on facts made of timeouts: they are errors; the target is not assessed; exit 3
    assert statuses[Status.FAIL] == 0 and statuses[Status.PASS] == 0 and statuses[Status.ERROR] > 10, statuses
    assert target.error_reason is ErrorReason.TIMEOUT and "timed out" in target.connection_error
    assert exit_code(result) is ExitCode.INCOMPLETE


@honest
def test_one_collector_whose_commands_time_out_makes_only_its_checks_errors(tmp_path):
    # Given a host where only `timedatectl` hangs, and every other command answers (not installed: 127)
    result = _scan(_Answering("Linux liar 6.1.0 x86_64\n", rest="hang-timesync"), tmp_path)
    (target,) = result.targets
    by_id = {f.check_id: f for f in target.findings}
    # Then the clock check is an error naming the timeout, other checks are judged, the target is assessed
    clock = [f for f in target.findings if "timedatectl" in f.message]
    assert clock and all(f.status is Status.ERROR and "timed out" in f.message for f in clock)
    assert any(f.status in (Status.FAIL, Status.PASS, Status.WARN) for f in by_id.values())
    assert not target.connection_error


@honest
@pytest.mark.slow
def test_a_real_ssh_host_answering_garbage_to_detection_exits_3(lying_sshd, tmp_path):
    # Given a real sshd whose "runner" answers `uname` with escapes and nonsense
    code, printed, run = _scan_cli(lying_sshd, "garbage", tmp_path)
    # Then the scan exits 3 and the target is not assessed, saying what it answered (escapes visible)
    results = json.loads((run / "results.json").read_text())
    assert code == ExitCode.INCOMPLETE, printed
    assert "platform could not be detected" in results["targets"][0]["connection_error"]
    assert "not assessed" in printed and not [f for f in results["findings"] if f["status"] == "skipped"]
    _assert_nothing_obeyed(printed)


@honest
@pytest.mark.slow
def test_a_real_ssh_host_whose_commands_all_hang_is_not_assessed_and_fails_nothing(lying_sshd, tmp_path):
    # Given a real sshd whose "runner" answers detection, then never answers again; a 6 s budget for the target
    started = time.monotonic()
    code, printed, run = _scan_cli(lying_sshd, "hang", tmp_path, total_timeout=6)
    # Then within about that budget, the scan exits 3, nothing is judged FAIL and the target is not assessed
    results = json.loads((run / "results.json").read_text())
    statuses = Counter(f["status"] for f in results["findings"])
    assert code == ExitCode.INCOMPLETE and statuses["fail"] == 0, (statuses, printed)
    assert results["targets"][0]["connection_error"] and "not assessed" in printed, printed
    assert time.monotonic() - started < 60


# ---- secrets in environment --------------------------------------------------------------------------------

SECRETS = {"AUDITOR_KEY_PASSPHRASE": "key-passphrase-7731", "AUDIT_DB_PASSWORD": "db-password-5512",
           "SSH_KEY_PASS": "ssh-passphrase-0042", "AWS_SECRET_ACCESS_KEY": "aws-9090"}


@secrets_env
def test_a_local_command_sees_none_of_the_scanners_secrets(monkeypatch):
    # Given the scanner's environment holding the key passphrase and password_env / passphrase_env variables
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    # When a real command run on this machine prints its environment
    printed = LocalTransport().run(cmd("env")).stdout
    # Then none of the secrets is in it, and what commands need still is
    assert not [value for value in SECRETS.values() if value in printed], printed
    assert "LC_ALL=C" in printed and "PATH=" in printed


@secrets_env
def test_a_local_command_cannot_read_the_secrets_from_its_proc_environ(monkeypatch):
    # Given a secret in the scanner's environment
    monkeypatch.setenv("AUDITOR_KEY_PASSPHRASE", SECRETS["AUDITOR_KEY_PASSPHRASE"])
    # When a command reads its own /proc/self/environ (what a planted program would do)
    printed = LocalTransport().run(cmd("cat", "/proc/self/environ")).stdout
    # Then the secret is not there
    assert printed and SECRETS["AUDITOR_KEY_PASSPHRASE"] not in printed


@secrets_env
def test_the_tls_scan_server_sees_none_of_the_scanners_secrets(monkeypatch):
    # Given the scanner's environment holding secrets
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    # When the TLS scan server (sslyze's process) is started
    server = _tls_worker.ScanServer()
    try:
        server._running()  # starting the server is what is under test; no scan is needed
        assert server._process is not None
        # Popen returns once exec has begun; the kernel sets the new environment a moment later (an empty
        # /proc/PID/environ until then), so wait for it rather than read a half-made process.
        environ, deadline = b"", time.monotonic() + 5
        while not environ and server._process.poll() is None and time.monotonic() < deadline:
            environ = Path(f"/proc/{server._process.pid}/environ").read_bytes()
            time.sleep(0 if environ else 0.01)
    finally:
        server.stop()
    # Then its environment holds none of them
    assert environ and not [v for v in SECRETS.values() if v.encode() in environ]
