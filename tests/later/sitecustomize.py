"""`make test-later`: every Python process of the test run lives AUDITOR_TEST_DAYS_AHEAD days in the future.

The Makefile puts this folder on PYTHONPATH, so Python imports this module at start-up in the test process
and in every Python subprocess it starts (the CLI, TLS scan workers), and each moves its own wall clock by
the same number of days with time-machine. Only the wall clock moves (time.time, datetime.now, date.today):
monotonic clocks, timed waits and sleeps are untouched, which is what libfaketime gets wrong under Python 3.11.
Programs that are not Python (sshd, openssl, date) keep the real clock, as a real host would.
"""

from __future__ import annotations

import os

_DAYS = os.environ.get("AUDITOR_TEST_DAYS_AHEAD", "")

if _DAYS:
    from datetime import UTC, datetime, timedelta

    import time_machine

    time_machine.travel(datetime.now(UTC) + timedelta(days=int(_DAYS)), tick=True).start()
