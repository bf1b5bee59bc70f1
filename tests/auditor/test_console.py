"""The scan's summary on the command line: one line per problem, naming what it is about once."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from auditor.console import print_summary
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
