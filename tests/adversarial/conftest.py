"""The adversarial suite: every test is an attack on one area, marked `@pytest.mark.attack("run tampering")`.

At the end of a run, pytest prints how many attacks were tried per area and how many the tool held
(refused or detected): the figures a release note quotes.
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
    report = outcome.get_result()
    marker = item.get_closest_marker("attack")
    if marker is None or report.when != "call":
        return
    area = str(marker.args[0]) if marker.args else "other"
    _TRIED[area] += 1
    _HELD[area] += report.passed


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _TRIED:
        return
    terminalreporter.section("adversarial suite: attacks tried / held")
    for area in sorted(_TRIED):
        terminalreporter.write_line(f"{area}: {_TRIED[area]} tried, {_HELD[area]} held")
