"""The PDF's renderer in a process of its own, started as a scan starts: WeasyPrint's import (0.5 s: its
stylesheets, its C declarations, fontTools) then runs on another core while the targets are scanned, instead
of after them. Measured on a 2-core machine: a scan and that import one after the other 1.08 s, side by side
0.80 s; a default scan of that machine (HTML and PDF), 15 interleaved runs in a slow hour, median 3.97 s
without this process and 3.47 s with it.

    python -P -m auditor.report.pdf_process      (started by PdfProcess, never by hand)

The process imports WeasyPrint and loads the report's templates, then reads one JSON line on stdin,
{"run": RUN_FOLDER, "lang": LANG, "out": FOLDER}, writes the PDF of that run folder into FOLDER (as
`auditor report --format pdf` would) and exits 0. An empty stdin ends it; the scan stops it in any case when
the scan ends (failed, interrupted, or with no report after all). Any failure ends it with status 1 and
nothing written: the caller then renders the PDF in its own process, where the same failure gets its usual
message (a missing package and its fix, a full disk). So the PDF is the same file either way, and only its
timing depends on this process.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

# -P: neither the working folder nor the interpreter's own folder goes on sys.path (a module there must not
# shadow auditor's).
COMMAND = (sys.executable, "-P", "-m", __name__)
log = logging.getLogger(__name__)
# What the renderer needs besides a helper's usual variables: fontconfig's own settings, where its cache is.
_FONT_SETTINGS = ("FONTCONFIG_FILE", "FONTCONFIG_PATH", "FONTCONFIG_SYSROOT", "XDG_CACHE_HOME")


class PdfProcess:
    """The renderer process of one run: start it early, then `ask` and `wait` once, and `close` in any case."""

    def __init__(self) -> None:
        from auditor.transports.environment import helper_environment

        # Its environment holds none of the scanner's secrets: rendering needs none.
        environment = helper_environment(os.environ)
        environment.update({name: os.environ[name] for name in _FONT_SETTINGS if name in os.environ})
        self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
            COMMAND, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
        log.debug("the PDF renderer process started (pid %d)", self._process.pid)

    def ask(self, run_dir: Path, lang: str, out_dir: Path, signed: bool | None = None) -> bool:
        """Ask for the PDF of run_dir in out_dir; False when the process cannot take the request."""
        process = self._process
        if process is None or process.stdin is None or process.stdin.closed:
            return False
        request = {"run": str(run_dir.resolve()), "lang": lang, "out": str(out_dir.resolve()), "signed": signed}
        try:
            process.stdin.write(json.dumps(request).encode() + b"\n")
            process.stdin.close()
        except OSError:  # it has already ended (it could not import WeasyPrint)
            return False
        return True

    def wait(self) -> bool:
        """Wait for the asked PDF: True when the process wrote it."""
        process, self._process = self._process, None
        if process is None:
            return False
        status = process.wait()
        log.debug("the PDF renderer process (pid %d) ended with status %d%s", process.pid, status,
                  "" if status == 0 else ": the PDF is rendered in this process")
        return status == 0

    def close(self) -> None:
        """Stop the process if it still runs (no PDF is wanted after all, or this run failed); idempotent."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        process.kill()  # it holds nothing worth waiting for: an import, or a PDF nobody will read
        process.wait()


def start() -> PdfProcess | None:
    """A renderer process, or None when none can be started (the PDF is then rendered in this process)."""
    if not sys.executable:  # an embedded interpreter: no command to start another one with
        return None
    try:
        return PdfProcess()
    except OSError:
        return None


def main() -> int:
    # Ctrl-C in the terminal reaches this process too: the scan handles it, and stops this process as it ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from auditor import gc_settings
        from auditor.report.render import render_reports
        from auditor.report.to_html import environment
        from auditor.report.to_pdf import import_quietly

        import_quietly("weasyprint")
        environment().get_template("report.html.j2")
        gc_settings.for_many_small_objects()  # as the command's: layout makes a great many small objects
    except Exception:  # the caller's own attempt will say what is wrong
        return 1
    line = sys.stdin.buffer.readline()
    if not line.strip():
        return 0
    try:
        request = json.loads(line)
        render_reports(Path(request["run"]), ("pdf",), request["lang"], Path(request["out"]),
                       signed=request["signed"])
    except Exception:
        return 1
    return 0


if __name__ == "__main__":
    # Ended at once, without the interpreter's teardown: freeing the layout's many objects and WeasyPrint's modules
    # took 80-100 ms after the PDF was written and closed, and the scan waits for this process to end. Nothing is
    # left to flush: the PDF is written atomically before main returns, stdout and stderr are /dev/null.
    os._exit(main())
