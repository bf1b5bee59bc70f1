"""Run folders the report tests share: the six-host sample and a one-host run, replayed from the recorded hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.sample_fleet import build


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> Path:
    """The sample fleet of `make sample-report` (every recorded host under the sample profile), no report yet."""
    return build(tmp_path_factory.mktemp("sample") / "run")


@pytest.fixture(scope="session")
def one_host_run(tmp_path_factory) -> Path:
    """One recorded Debian server under the sample profile."""
    return build(tmp_path_factory.mktemp("one-host") / "run", hosts=("debian12-server",))
