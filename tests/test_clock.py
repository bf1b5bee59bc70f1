"""The one clock: FixedClock says what it is given, and `make test-later` moves every Python process's wall
clock by the same number of days while the real clock of other programs stays put."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from auditor.clock import FixedClock, SystemClock, iso
from tests.conftest import child_env, real_epoch


def test_a_fixed_clock_says_its_moment_and_refuses_a_naive_one():
    moment = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert FixedClock(moment).now() == moment and iso(moment) == "2026-11-26T09:00:00.000Z"
    with pytest.raises(ValueError, match="aware"):
        FixedClock(datetime(2026, 11, 26, 9, 0))


def test_python_processes_are_moved_by_exactly_the_days_asked_for():
    # Given the days `make test-later` asks for (0 in a plain `make test`)
    days = int(os.environ.get("AUDITOR_TEST_DAYS_AHEAD") or 0)
    # When this process, a Python subprocess and `date` each read the wall clock
    here = SystemClock().now().timestamp() - real_epoch()
    child = subprocess.run([sys.executable, "-c", "import time; print(time.time())"], capture_output=True,
                           text=True, check=True, env=child_env()).stdout
    there = float(child) - real_epoch()
    # Then both Python clocks are ahead of the real one by those days (give or take a slow start)
    for offset in (here, there):
        assert abs(offset - days * 86400) < 60, offset
    # and the monotonic clock still moves in real seconds
    start = time.monotonic()
    time.sleep(0.05)
    assert 0.04 < time.monotonic() - start < 5
