"""The adversarial suite's tally: every test is an attack on one area, marked `@pytest.mark.attack("run tampering")`.

At the end of a run, pytest prints how many attacks were tried per area and how many the tool held
(refused or detected): the figures a release note quotes. A plugin (tests/conftest.py loads it), not this
folder's conftest: when tests run in worker processes (`-n`), the summary is printed by the controlling process,
which never collects this folder, from the area each worker's report carries.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

_TRIED: Counter[str] = Counter()
_HELD: Counter[str] = Counter()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "attack(area): an adversarial test; the area it attacks")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    outcome = yield
    marker = item.get_closest_marker("attack")
    if marker is not None:  # carried by the report, so it reaches the controller when tests run in workers (-n)
        outcome.get_result().user_properties.append(("attack", str(marker.args[0]) if marker.args else "other"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    areas = [value for name, value in report.user_properties if name == "attack"]
    if areas and report.when == "call":
        _TRIED[areas[0]] += 1
        _HELD[areas[0]] += report.passed


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _TRIED:
        return
    terminalreporter.section("adversarial suite: attacks tried / held")
    for area in sorted(_TRIED):
        terminalreporter.write_line(f"{area}: {_TRIED[area]} tried, {_HELD[area]} held")
