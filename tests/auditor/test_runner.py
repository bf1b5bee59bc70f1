"""Runner semantics: plan with reasons, collect once, never stop on one target's failure."""

from __future__ import annotations

import _thread
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor import runner
from auditor.bundle.evidence import EvidenceStore
from auditor.clock import FixedClock
from auditor.collectors import COLLECTORS
from auditor.collectors.system import UNAME, USER_ID
from auditor.collectors.timesync import TIMEDATECTL
from auditor.errors import AuditorError, ConnectError
from auditor.models import ErrorReason, Platform, Severity, Status, SystemFacts, Target, TargetKind
from auditor.plan import Selection
from auditor.plugin import check
from auditor.profile import load_profile
from auditor.registry import build_spec
from auditor.runner import ScanOptions, run_scan
from auditor.transports import ssh_network
from auditor.transports.base import CommandResult
from tests.auditor.fake_host import FakeHost
from tests.conftest import ROOT, child_env

PROFILE = load_profile()
SYNCED = "NTP=yes\nNTPSynchronized=yes\n"


def _spec(func):
    return build_spec(func, "test", COLLECTORS, PROFILE.parameters, [r.id for r in PROFILE.requirements])


@check(id="TEST-0010", title="Clock is synchronised", severity=Severity.LOW, requirements=("R12",),
       platforms=(Platform.LINUX,), remediation="Fix.")
def synced(timesync):
    from auditor.models import Verdict

    return Verdict.passed("ok") if timesync.synchronized else Verdict.failed("not synced")


@check(id="TEST-0020", title="Also reads the clock", severity=Severity.LOW, remediation="Fix.")
def crashes(timesync):
    return 1 / 0


@check(id="TEST-0030", title="Runs on Windows only", severity=Severity.LOW, platforms=(Platform.WINDOWS,),
       remediation="Fix.")
def windows_only(timesync):
    raise AssertionError("must not run")


@check(id="TEST-0040", title="Needs root", severity=Severity.LOW, requires_root=True, remediation="Fix.")
def needs_root(timesync):
    raise AssertionError("must not run")


@check(id="TEST-0050", title="Has no resources", severity=Severity.LOW, remediation="Fix.")
def no_resources(timesync):
    return []


@check(id="TEST-0060", title="Returns garbage", severity=Severity.LOW, remediation="Fix.")
def garbage(timesync):
    return "pass"


@check(id="TEST-0070", title="Reads the journal's settings", severity=Severity.LOW, platforms=(Platform.LINUX,),
       remediation="Fix.")
def journal(journald):
    from auditor.models import Verdict

    return Verdict.passed("read")


SCANNED_AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CHECKS = {s.id: s for s in map(_spec, (synced, crashes, windows_only, needs_root, no_resources, garbage, journal))}


def _linux_host(name: str, uid: str = "1000", **commands: CommandResult) -> FakeHost:
    host = FakeHost({str(UNAME): CommandResult(str(UNAME), 0, f"Linux {name} 6.1 x86_64\n"),
                     str(USER_ID): CommandResult(str(USER_ID), 0, f"{uid}\n"),
                     str(TIMEDATECTL): CommandResult(str(TIMEDATECTL), 0, SYNCED), **commands},
                    {"/etc/os-release": b"ID=debian\nVERSION_ID=12\n"})
    host.target = name
    return host


def _scan(tmp_path, hosts, options=None, targets=None):
    targets = targets or [Target(name, TargetKind.LOCAL) for name in hosts]

    def open_target(target, _login):
        opened = hosts[target.name]
        if isinstance(opened, Exception):
            raise opened
        return opened

    return run_scan("run-1", targets, CHECKS, PROFILE, EvidenceStore(tmp_path), options, open_target=open_target,
                    clock=FixedClock(SCANNED_AT))


def test_every_check_gets_a_finding_with_a_reason(tmp_path):
    host = _linux_host("a")
    result = _scan(tmp_path, {"a": host}, ScanOptions(Selection(skip=frozenset({"TEST-0050"}))))
    by_id = {f.check_id: f for f in result.findings()}
    assert by_id["TEST-0010"].status is Status.PASS and by_id["TEST-0010"].requirements == ("R12",)
    assert by_id["TEST-0020"].status is Status.ERROR and by_id["TEST-0020"].error_reason is ErrorReason.CHECK_BUG
    assert "ZeroDivisionError" in by_id["TEST-0020"].error and "Traceback" in by_id["TEST-0020"].error
    assert by_id["TEST-0030"].skip_reason == "Runs only on Windows; this target runs Linux."
    assert by_id["TEST-0040"].skip_reason.startswith("needs root")
    assert by_id["TEST-0050"].skip_reason == "excluded by --skip TEST-0050"
    assert by_id["TEST-0060"].status is Status.ERROR and "returned 'p'" in by_id["TEST-0060"].message
    # timedatectl was asked once although four checks consumed it, and the finding points at it
    assert host.calls.count("timedatectl show") == 1
    assert [e.source for e in by_id["TEST-0010"].evidence] == ["timedatectl show"]


def test_root_or_sudo_lets_root_checks_run(tmp_path):
    result = _scan(tmp_path, {"a": _linux_host("a", uid="0")}, ScanOptions(Selection(only=frozenset({"TEST-0040"}))))
    (finding,) = result.findings()
    assert finding.status is Status.ERROR  # it ran (and its AssertionError became a check-bug finding)


def test_empty_result_is_not_applicable_and_only_selects(tmp_path):
    result = _scan(tmp_path, {"a": _linux_host("a")}, ScanOptions(Selection(only=frozenset({"TEST-0050"}))))
    assert [(f.check_id, f.status) for f in result.findings()] == [("TEST-0050", Status.NOT_APPLICABLE)]


def test_unreachable_target_does_not_stop_the_others(tmp_path):
    result = _scan(tmp_path, {"down": ConnectError("down", "connection refused"), "up": _linux_host("up")})
    down, up = result.targets
    assert down.connection_error == "down: connection refused" and down.error_reason is ErrorReason.UNREACHABLE
    assert up.findings and not up.connection_error


def test_an_unexpected_exception_on_one_target_does_not_stop_the_others(tmp_path):
    result = _scan(tmp_path, {"odd": RuntimeError("a library raised this"), "up": _linux_host("up")})
    odd, up = result.targets
    assert odd.connection_error == "could not open the target: RuntimeError: a library raised this"
    assert odd.error_reason is ErrorReason.UNREACHABLE and up.findings and not up.connection_error


@pytest.mark.parametrize("concurrent", [False, True], ids=["one collector at a time", "collectors at once"])
def test_failing_collector_turns_its_checks_into_errors(tmp_path, concurrent):
    # Given a host where one collector's command breaks and another's (the journal's) works, and whose transport
    # runs commands one at a time (SSH) or side by side (this machine: the collectors then run at once)
    class Broken(FakeHost):
        def run(self, command):
            if str(command) == "timedatectl show":
                raise ConnectError("a", "connection reset by peer")
            if concurrent:
                time.sleep(0.01)  # lets the other collector's thread in while this one waits
            return super().run(command)

    host = _linux_host("a")
    broken = Broken(host._commands, host._files)
    broken.commands_at_once = 4 if concurrent else 1
    result = _scan(tmp_path, {"a": broken}, ScanOptions(Selection(only=frozenset({"TEST-0010", "TEST-0070"}))))
    # Then the broken collector's check is an error naming why, the other is judged, in check order
    clock, journal = result.findings()
    assert (clock.check_id, journal.check_id) == ("TEST-0010", "TEST-0070")
    assert clock.status is Status.ERROR and clock.error_reason is ErrorReason.COLLECTOR_FAILED
    assert "connection reset by peer" in clock.message
    assert journal.status is Status.PASS and journal.evidence
    # And the host was asked each fact once
    assert broken.calls and len(broken.calls) == len(set(broken.calls))


@check(id="TEST-0080", title="Reads the clock, then the updates", severity=Severity.LOW, platforms=(Platform.LINUX,),
       remediation="Fix.")
def clock_then_updates(timesync, updates):
    from auditor.models import Verdict

    return Verdict.passed("read")


def test_on_a_concurrent_transport_slow_commands_start_before_quick_ones_of_collectors_planned_earlier(tmp_path):
    # Given a host that runs two commands at once, and a check whose first collector (the clock's) has only quick
    # commands and whose second (the updates') has the slow ones: apt's reader and dnf's updateinfo
    host = _linux_host("a")
    host.commands_at_once = 2
    checks = {"TEST-0080": _spec(clock_then_updates)}
    run_scan("run-1", [Target("a", TargetKind.LOCAL)], checks, PROFILE, EvidenceStore(tmp_path), None,
             open_target=lambda target, login: host, clock=FixedClock(SCANNED_AT))
    # When it is scanned, then the first command run after the system's is a slow one, not the clock's
    slow = {str(c) for c in COLLECTORS["updates"].requests(SystemFacts(Platform.LINUX))[0] if c.slow}
    assert len(slow) == 2
    first_asked = host.calls.index(str(TIMEDATECTL))
    assert any(call in slow for call in host.calls[:first_asked]), host.calls


def test_ctrl_c_keeps_what_was_collected(tmp_path):
    release = threading.Event()

    class Slow(FakeHost):
        """A host whose command hangs until the connection is closed, as a real SSH channel does."""

        def run(self, command):
            if str(command) == "timedatectl show":
                release.wait(10)
            return super().run(command)

        def close(self):
            release.set()

    fast, slow = _linux_host("fast"), _linux_host("slow")
    slow = Slow(slow._commands, slow._files)
    slow.target = "slow"
    threading.Timer(0.5, _thread.interrupt_main).start()
    started = time.monotonic()
    try:
        result = _scan(tmp_path, {"fast": fast, "slow": slow})
    finally:
        release.set()
    assert time.monotonic() - started < 5
    assert result.interrupted
    fast_result, slow_result = result.targets
    assert fast_result.findings and not fast_result.connection_error
    assert slow_result.error_reason is ErrorReason.INTERRUPTED
    assert (tmp_path / "evidence" / "slow").is_dir()  # facts gathered before Ctrl-C were kept


def test_ctrl_c_also_aborts_a_connection_that_opened_just_after_it(tmp_path, monkeypatch):
    # Given a target whose TCP connection opens only after Ctrl-C's first round of aborts (its thread was held
    # back in that moment, as on a loaded machine), to a server that never sends its banner
    server = socket.create_server(("127.0.0.1", 0))
    aborted = threading.Event()
    abort_connections = runner.abort_connections

    def abort() -> None:
        abort_connections()
        aborted.set()

    monkeypatch.setattr(runner, "abort_connections", abort)

    def open_target(target, _login):
        aborted.wait(10)
        with ssh_network.tcp_connect(target.name, "127.0.0.1", server.getsockname()[1], 5) as sock:
            sock.settimeout(60)  # a banner timeout
            sock.recv(1)  # the banner that never comes: this returns only when the connection is shut down
        raise ConnectError(target.name, "the connection was closed before its banner")

    # When the scan is interrupted while that target's thread is still opening its connection
    threading.Timer(0.5, _thread.interrupt_main).start()
    started = time.monotonic()
    try:
        result = run_scan("run-1", [Target("late", TargetKind.SSH)], CHECKS, PROFILE, EvidenceStore(tmp_path),
                          None, open_target=open_target, clock=FixedClock(SCANNED_AT))
    finally:
        server.close()
    # Then that connection is aborted too, and the run ends at once as interrupted, not after the banner timeout
    assert result.interrupted
    assert time.monotonic() - started < 10


def test_work_for_processes_that_cannot_fork_runs_on_one_thread_not_on_many(tmp_path):
    # Given a replay-like scan of six targets with four workers, in a process that may not fork (a thread runs
    # beside it, as rich's refresh thread would), and hosts that note which thread opened them
    names = [f"h{n}" for n in range(6)]
    hosts = {name: _linux_host(name) for name in names}
    opened_on: list[str] = []

    def open_target(target, _login):
        opened_on.append(threading.current_thread().name)
        time.sleep(0.01)
        return hosts[target.name]

    release = threading.Event()
    beside = threading.Thread(target=release.wait)
    beside.start()
    try:
        result = run_scan("run-1", [Target(n, TargetKind.LOCAL) for n in names], CHECKS, PROFILE,
                          EvidenceStore(tmp_path), ScanOptions(workers=4, in_processes=True), open_target=open_target,
                          clock=FixedClock(SCANNED_AT))
    finally:
        release.set()
        beside.join()
    # Then every target was assessed, all by one thread: threads under one GIL would only contend
    assert [t.target.name for t in result.targets] == names and not any(t.connection_error for t in result.targets)
    assert len(set(opened_on)) == 1 and len(opened_on) == 6


def _a_replay_with_a_bug(folder: str) -> str:
    """Two targets for two forked processes where one target's result cannot be sent back (a bug: its options
    hold a function, which cannot be pickled): what the run raises."""
    hosts = {"a": _linux_host("a"), "b": _linux_host("b")}
    targets = [Target("a", TargetKind.LOCAL), Target("b", TargetKind.LOCAL, options={"hook": lambda: None})]
    try:
        _scan(Path(folder), hosts, ScanOptions(workers=2, in_processes=True), targets)
    except AuditorError as exc:
        return str(exc)
    return "nothing raised"


def test_a_bug_in_a_replay_worker_process_stops_the_run_with_one_line_naming_it(tmp_path):
    # Given such a replay in a fresh interpreter (this one may hold other tests' threads, and then it would not
    # fork), When it runs, Then the run stops with one line that names the error
    code = f"from tests.auditor.test_runner import _a_replay_with_a_bug; print(_a_replay_with_a_bug({str(tmp_path)!r}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=child_env(),
                          timeout=120, check=False)
    message = done.stdout.strip()
    assert message.startswith("a replay worker process failed (") and "pickle" in message, done.stderr
    assert "\n" not in message
