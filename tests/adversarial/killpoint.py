"""Run the real auditor command line and kill -9 it at one exact point: just before a file is renamed into place.

    python -m tests.adversarial.killpoint PATH auditor-arguments...

Every durable write of auditor ends in os.replace (files.write_atomic, the sealed bundle, the opened run), so
"before PATH is renamed into place" names each step of finishing a run: RUN/evidence/manifest.json,
RUN/results.json, RUN/manifest.sig, RUN/manifest.json. The process sends itself SIGKILL there: no cleanup, no
atexit, as a power cut would.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from auditor.cli import main


def _kill_before(path: str) -> None:
    real = os.replace
    target = Path(path).absolute()

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst).absolute() == target:
            os.kill(os.getpid(), signal.SIGKILL)
        real(src, dst)

    os.replace = replace  # type: ignore[assignment]  # the test's whole point: one process, one kill point


if __name__ == "__main__":
    _kill_before(sys.argv[1])
    sys.exit(main(sys.argv[2:]))
