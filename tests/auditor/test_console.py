"""The scan's summary on the command line: one line per problem, naming what it is about once."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from rich.console import Console

from auditor.console import PlainConsole, make_console, print_summary
from auditor.errors import ConnectError
from auditor.models import Finding, ScanResult, Status, SystemFacts, Target, TargetKind, TargetResult

AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _printed(*targets: TargetResult) -> list[str]:
    out = io.StringIO()
    print_summary(Console(file=out, width=400, highlight=False), ScanResult("r", "0", AT, AT, "p", "", {}, targets),
                  "reports/r")
    return out.getvalue().splitlines()


def test_each_problem_line_names_its_resource_once():
    # Given one host with two database servers failing the same check, and an sshd finding that names its port
    findings = (
        Finding("DB-0114", "vm", Status.FAIL, "Not logged as the profile asks: log_connections = 'off'.",
                resource="PostgreSQL 15 /var/lib/postgresql/15/main"),
        Finding("DB-0114", "vm", Status.FAIL, "Not logged as the profile asks: log_connections = 'off'.",
                resource="PostgreSQL 16 /srv/pg16"),
        Finding("SSH-0030", "vm", Status.FAIL, "port 22: PermitRootLogin is yes.", resource="port 22"),
    )
    lines = _printed(TargetResult(Target("vm", TargetKind.LOCAL), SystemFacts(None, os_name="Debian"), findings))
    # When the summary is printed, Then the two database lines say which server each is about
    assert any("FAIL  DB-0114 vm PostgreSQL 15 /var/lib/postgresql/15/main: Not logged" in line for line in lines)
    assert any("FAIL  DB-0114 vm PostgreSQL 16 /srv/pg16: Not logged" in line for line in lines)
    # and the port, which the message starts with, is said once
    assert any("FAIL  SSH-0030 vm: port 22: PermitRootLogin is yes." in line for line in lines), lines


def test_a_target_not_assessed_is_named_once_in_its_row():
    # Given a target that refused the connection (the error's text starts with its name)
    error = str(ConnectError("portal", "127.0.0.1:9 refused the connection"))
    lines = _printed(TargetResult(Target("portal", TargetKind.TLS), None, (), error))
    # Then its row gives the name, then the reason without the name again
    row = next(line for line in lines if "refused the connection" in line)
    assert row.count("portal") == 1, row


def test_a_pipe_gets_plain_aligned_lines_without_rich():
    # Given a scan's console on a pipe (no terminal, no FORCE_COLOR), in a fresh interpreter
    program = """
import sys
from datetime import UTC, datetime
from auditor.console import ProgressDisplay, make_console, print_summary
from auditor.models import Finding, ScanResult, Status, SystemFacts, Target, TargetKind, TargetResult
at = datetime(2026, 11, 26, tzinfo=UTC)
web = Target("web-1", TargetKind.SSH)
results = (TargetResult(web, SystemFacts(None, os_name="Debian GNU/Linux 12"),
                        (Finding("SSH-0100", "web-1", Status.FAIL, "weak ciphers"),
                         Finding("SSH-0030", "web-1", Status.PASS, "ok"))),
           TargetResult(Target("db-10", TargetKind.SSH), None, (), "db-10: connection refused"))
console = make_console()
with ProgressDisplay(console, [r.target for r in results]) as display:
    display.target_started(web)
    display.target_finished(results[0])
print_summary(console, ScanResult("run-7", "1.0", at, at, "p", "", {}, results), "reports/run-7")
print(sorted(m for m in sys.modules if m.split(".")[0] == "rich"))
"""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, check=True)
    # Then rich was never imported: nothing was drawn
    assert done.stdout.strip() == "[]"
    # And the progress and the summary are plain lines, the counts right-aligned under their heading, and the reason a
    # target was not assessed (which can be a paragraph) under the table, not in a column every row is padded to
    assert done.stderr.splitlines() == [
        "web-1: scanning",
        "web-1: 1 fail, 1 pass",
        "auditor 1.0 · run run-7",
        "target  system                fail  pass",
        "web-1   Debian GNU/Linux 12      1     1",
        "db-10   not assessed (below)",
        "db-10: not assessed: connection refused",
        "FAIL  SSH-0100 web-1: weak ciphers",
        "Evidence and results: reports/run-7",
    ]


@pytest.mark.parametrize(("environment", "terminal"), [
    ({}, False), ({"FORCE_COLOR": "1"}, True), ({"FORCE_COLOR": ""}, False),
    ({"TTY_COMPATIBLE": "1"}, True), ({"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"}, False)])
def test_rich_draws_where_rich_would_see_a_terminal(monkeypatch, environment, terminal):
    # Given stderr on a pipe, and the variables by which a user tells rich that it is a terminal anyway
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    # When the scan's console is made, Then it is rich exactly when rich itself would call the stream a terminal
    console = make_console()
    assert isinstance(console, PlainConsole) is not terminal
    assert console.is_terminal is terminal


def test_checks_that_say_the_same_of_one_target_are_one_line_naming_them():
    # Given a target whose login failed after its network checks ran: every other check errs with one sentence
    reason = "Not assessed: unknown host key for 127.0.0.1:2222 (SHA256:q+3mNInzEPorVZNhCnhZVcpsUomjUzB0uf)."
    findings = (Finding("SSH-0100", "web-1", Status.FAIL, "offers weak algorithms: ssh-rsa"),
                *(Finding(f"LOG-00{n}0", "web-1", Status.ERROR, reason) for n in range(1, 8)),
                Finding("LOG-0010", "db-1", Status.ERROR, reason))
    lines = _printed(TargetResult(Target("web-1", TargetKind.SSH), None, findings[:-1]),
                     TargetResult(Target("db-1", TargetKind.SSH), None, findings[-1:]))
    # When the summary is printed, Then the seven are one line, naming how many checks and the first five
    shared = [line for line in lines if reason in line]
    assert len(shared) == 2, shared
    assert shared[0].startswith("ERROR web-1: Not assessed") and shared[0].endswith(
        "(7 checks: LOG-0010, LOG-0020, LOG-0030, LOG-0040, LOG-0050 and 2 more)"), shared[0]
    # And another target's same sentence, and a single finding, stay lines of their own, with the check's id
    assert shared[1].startswith("ERROR LOG-0010 db-1: Not assessed")
    assert any(line.startswith("FAIL  SSH-0100 web-1: offers weak algorithms") for line in lines)
