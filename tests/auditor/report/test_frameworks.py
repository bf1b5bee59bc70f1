"""Framework exports: one compliance CSV per framework (ISO/IEC 27001:2022 Annex A, CIS Controls v8, D-mærket),
one row per control with its requirements, checks, status and evidence count."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import pytest

from auditor.catalogue import frameworks
from auditor.profile import load_profile
from auditor.report.frameworks_csv import HEADER, framework_csv
from auditor.report.render import render_reports
from auditor.report.view import build_view
from tests.report_factory import linux_host, make_run

PROFILE = """\
extends: default
attestations:
  - {id: LOCKS, requirement: R10, statement: Key locks on every office door., attestor: {name: Mette Jensen},
     date: 2026-09-01, next_review: 2099-12-01}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    # Two servers: the clock of db-1 is not synchronised (LOG-0040 fails there), everything else passes
    folder = tmp_path_factory.mktemp("frameworks")
    (folder / "p.yaml").write_text(PROFILE)
    hosts = {"web-01": linux_host("web-01"), "db-1": linux_host("db-1", synced=False)}
    return make_run(folder / "run", hosts, load_profile(folder / "p.yaml"))


def _table(data: bytes) -> dict[str, dict[str, str]]:
    assert data.startswith("\ufeff".encode())  # Excel reads the UTF-8 BOM
    rows = list(csv.DictReader(io.StringIO(data.decode().lstrip("\ufeff"))))
    assert tuple(rows[0]) == HEADER
    return {row["control"]: row for row in rows}


@pytest.mark.parametrize("framework", ["iso27001-2022", "cis-v8", "d-maerket"])
def test_one_row_per_control_of_the_catalogue(run, framework):
    # When a framework's table is made
    table = _table(framework_csv(build_view(run), framework))
    # Then every control of its catalogue has exactly one row, with its title
    assert list(table) == list(frameworks()[framework].controls)
    assert all(row["framework"] == framework and row["title"] for row in table.values())


def test_a_control_carries_its_requirements_checks_status_and_evidence(run):
    # Given the ISO and CIS tables of the run
    view = build_view(run)
    iso, cis = _table(framework_csv(view, "iso27001-2022")), _table(framework_csv(view, "cis-v8"))
    clock = iso["8.17"]  # Clock synchronization: R12 maps to it and LOG-0040 names it
    # Then the clock control is partly met: one of two servers, with the evidence the finding rests on
    assert (clock["requirements"], clock["checks"], clock["status"]) == ("R12", "LOG-0020 LOG-0040", "partial")
    assert (clock["targets_met"], clock["targets_judged"], clock["fail"]) == ("1", "2", "1")
    cited = {e.sha256 for f in view.result.findings() if f.check_id in ("LOG-0020", "LOG-0040") for e in f.evidence}
    assert int(clock["evidence_count"]) == len(cited) > 0
    assert cis["8.4"]["status"] == "partial" and "LOG-0040" in cis["8.4"]["checks"]
    # and a control evidenced by an attestation alone is attested, one nothing maps to is not covered
    assert iso["7.1"]["requirements"] == "R10" and iso["7.1"]["status"] == "attested"
    assert (iso["5.3"]["requirements"], iso["5.3"]["checks"], iso["5.3"]["status"]) == ("", "", "not_covered")
    assert {row["run"] for row in iso.values()} == {view.run["id"]}


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised(run):
    # Given a view whose run id starts like a formula
    view = build_view(run)
    hostile = dataclasses.replace(view, run={**view.run, "id": '=HYPERLINK("http://x.invalid","click")'})
    # When the table is made
    row = _table(framework_csv(hostile, "d-maerket"))["3"]
    # Then the cell is text, not a formula
    assert row["run"] == '\'=HYPERLINK("http://x.invalid","click")'


def test_the_three_formats_write_one_file_per_framework(run, tmp_path):
    # When the three formats are rendered
    written = render_reports(run, ["iso27001", "cis", "dmaerket"], "da", tmp_path)
    # Then each framework has its own file, named for it, whatever the language
    assert [p.name for p in written] == ["compliance-iso27001-2022.csv", "compliance-cis-v8.csv",
                                         "compliance-d-maerket.csv"]
    assert _table(written[2].read_bytes())["3.1.2"]["framework"] == "d-maerket"
