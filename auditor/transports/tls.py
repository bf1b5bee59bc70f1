"""The TLS transport: a TLS endpoint answers two pseudo-commands, so evidence, manifest and replay stay as they are.

    tls-probe                                    resolve, TCP connect, one ClientHello (or the STARTTLS
                                                 greeting) within the target's connect budget; stdout is JSON
    sslyze-scan HOST PORT --ip IP --sni NAME     the whole sslyze scan of this endpoint; stdout is sslyze's own
       [--starttls PROTO] [--ca-file PATH]       JSON output (SslyzeOutputAsJson), exactly as `sslyze --json_out`

Each scan runs in a worker process forked from a forkserver that has sslyze imported already: a process can be
killed when it overruns its wall-clock budget, sslyze's threads cannot. The runner scans targets in parallel
threads, so several endpoints are scanned at once, each by sslyze's own per-server concurrency.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Sequence
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess

from auditor.models import Target
from auditor.transports._tls_probe import probe
from auditor.transports._tls_worker import ScanRequest, worker_main
from auditor.transports.base import NOT_FOUND, TIMED_OUT, Command, CommandResult, FileContent

PROBE = "tls-probe"
SCAN = "sslyze-scan"
DEFAULT_PORT = 443
DEFAULT_CONNECT_BUDGET = 5.0  # seconds for the pre-probe; the inventory's connect_timeout overrides it
_USAGE = 2

_forkserver_lock = threading.Lock()
_forkserver: list[ForkServerContext] = []  # created on first use, not at import


def _workers() -> ForkServerContext:
    """The forkserver that forks scan workers; it imports sslyze once, and exits with this process."""
    with _forkserver_lock:
        if not _forkserver:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["auditor.transports._tls_worker", "sslyze",
                                            "sslyze.json.json_output"])
            _forkserver.append(context)
        return _forkserver[0]


def scan_command(host: str, port: int, ip_address: str, server_name: str, starttls: str = "", ca_file: str = "",
                 timeout: float = 120.0) -> Command:
    """The pseudo-command that asks for one endpoint's sslyze scan."""
    argv = [SCAN, host, str(port), "--ip", ip_address, "--sni", server_name]
    if starttls:
        argv += ["--starttls", starttls]
    if ca_file:
        argv += ["--ca-file", ca_file]
    return Command(tuple(argv), timeout=timeout)


def parse_scan_command(argv: Sequence[str]) -> ScanRequest:
    """The ScanRequest a `sslyze-scan` argv names; ValueError when it is malformed."""
    if len(argv) < 3 or argv[0] != SCAN or len(argv) % 2 == 0:
        raise ValueError("usage: sslyze-scan HOST PORT --ip IP --sni NAME [--starttls PROTO] [--ca-file PATH]")
    flags = dict(zip(argv[3::2], argv[4::2], strict=True))
    unknown = set(flags) - {"--ip", "--sni", "--starttls", "--ca-file"}
    if unknown or "--ip" not in flags or "--sni" not in flags:
        raise ValueError(f"sslyze-scan: unknown or missing options {sorted(unknown) or ['--ip', '--sni']}")
    return ScanRequest(argv[1], int(argv[2]), flags["--ip"], flags["--sni"], flags.get("--starttls", ""),
                       flags.get("--ca-file", ""))


class TlsTransport:
    """Reaches one `kind: tls` target. Opening does no network I/O: every outcome is recorded as evidence."""

    def __init__(self, target: Target) -> None:
        options = target.options
        self.target = target.name
        self.host = str(options["host"])
        self.port = int(options.get("port", DEFAULT_PORT))
        self.server_name = str(options.get("server_name") or self.host)
        self.starttls = str(options.get("starttls", ""))
        self.ca_file = str(options.get("ca_file", ""))
        self.connect_budget = float(options.get("connect_timeout", DEFAULT_CONNECT_BUDGET))
        self._running: set[BaseProcess] = set()
        self._lock = threading.Lock()
        self._closed = False

    def run(self, command: Command) -> CommandResult:
        label = str(command)
        if self._closed:
            return CommandResult(label, TIMED_OUT, "", "not run: the scan was stopped")
        if command.argv == (PROBE,):
            found = probe(self.host, self.port, self.server_name, self.starttls, self.connect_budget, self.ca_file)
            status = 0 if found.outcome == "tls" else TIMED_OUT if found.outcome == "silent" else 1
            return CommandResult(label, status, json.dumps(found.to_json(), indent=2) + "\n",
                                 "" if status == 0 else found.message)
        if command.argv[:1] == (SCAN,):
            try:
                request = parse_scan_command(command.argv)
            except ValueError as exc:
                return CommandResult(label, _USAGE, "", str(exc))
            if (request.host, request.port) != (self.host, self.port):
                return CommandResult(label, _USAGE, "", f"refused: {request.host}:{request.port} is not this "
                                     f"target's endpoint ({self.host}:{self.port})")
            return self._scan(label, request, command.timeout)
        return CommandResult(label, NOT_FOUND, "", f"{command.argv[0]}: a TLS endpoint runs no programs")

    def read_file(self, path: str) -> FileContent:
        return FileContent(path, exists=False, error="a TLS endpoint has no files")

    def run_many(self, commands: Sequence[Command]) -> list[CommandResult]:
        return [self.run(c) for c in commands]

    def read_many(self, paths: Sequence[str]) -> list[FileContent]:
        return [self.read_file(p) for p in paths]

    def close(self) -> None:
        """Stop a scan still running (the run was interrupted) and refuse new ones."""
        self._closed = True
        with self._lock:
            running = list(self._running)
        for proc in running:
            proc.kill()

    def _scan(self, label: str, request: ScanRequest, budget: float) -> CommandResult:
        context = _workers()
        receiver, sender = context.Pipe(duplex=False)
        proc = context.Process(target=worker_main, args=(request, sender), daemon=True,
                               name=f"tls-scan {request.host}:{request.port}")
        with self._lock:
            self._running.add(proc)
        try:
            proc.start()
            sender.close()
            if not receiver.poll(budget):
                proc.kill()
                return CommandResult(label, TIMED_OUT, "", f"the sslyze scan of {request.host}:{request.port} did "
                                     f"not finish within {budget:g} s and was stopped")
            status, stdout, stderr = receiver.recv()
        except EOFError:
            proc.join(5)
            return CommandResult(label, _USAGE, "", f"the sslyze worker stopped without a result (exit status "
                                 f"{proc.exitcode})")
        finally:
            receiver.close()
            with self._lock:
                self._running.discard(proc)
        proc.join(5)
        return CommandResult(label, int(status), str(stdout), str(stderr))
