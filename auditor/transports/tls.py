"""The TLS transport: a TLS endpoint answers pseudo-commands, so evidence, manifest and replay stay as they are.

    tls-probe                                    resolve, TCP connect, one ClientHello (or the STARTTLS
                                                 greeting) within the target's connect budget; stdout is JSON
    sslyze-scan HOST PORT --sni NAME             sslyze's scan of this endpoint with these scan commands; stdout
       [--starttls P] [--ca-file F] --commands   is sslyze's own JSON output (SslyzeOutputAsJson) with the
       a,b,c                                     results of those commands
    plaintext-probe PROTOCOL HOST PORT ...       what the endpoint's plaintext counterpart answers in clear
                                                 (_plaintext_probe.py)
    db-probe ENGINE HOST PORT ...                a database server's own answers (_db_probe.py)

Scans follow the probe, at the address it found, and only when it found TLS. Several `sslyze-scan` commands asked
together (each collector asks for the scan commands its checks need) run as one sslyze scan whose result is cut
per command; the plaintext probes run meanwhile. The scan runs in a worker process (_tls_worker.py) that can be
killed when it overruns its wall-clock budget; the runner scans targets in parallel threads, so several endpoints
are scanned at once, each by sslyze's own per-server concurrency.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Sequence

from auditor.models import Target
from auditor.records import record
from auditor.transports import _plaintext_probe as plaintext
from auditor.transports._tls_probe import REACHED, ProbeResult, probe
from auditor.transports._tls_worker import SCAN_COMMANDS, ScanRequest, ScanServer, kill, read_result
from auditor.transports.base import NOT_FOUND, TIMED_OUT, Command, CommandResult, FileContent

PROBE = "tls-probe"
SCAN = "sslyze-scan"
DEFAULT_PORT = 443
DEFAULT_CONNECT_BUDGET = 5.0  # seconds for each probe; the inventory's connect_timeout overrides it
_USAGE = 2
_server = ScanServer()  # one scan server per scanner process, started on the first scan


@record
class ScanAsk:
    """What one `sslyze-scan` command asks for."""

    host: str
    port: int
    server_name: str
    commands: tuple[str, ...]
    starttls: str = ""
    ca_file: str = ""


def scan_command(host: str, port: int, server_name: str, commands: Sequence[str], starttls: str = "",
                 ca_file: str = "", timeout: float = 120.0) -> Command:
    """The pseudo-command that asks for these sslyze scan commands on one endpoint."""
    argv = [SCAN, host, str(port), "--sni", server_name]
    if starttls:
        argv += ["--starttls", starttls]
    if ca_file:
        argv += ["--ca-file", ca_file]
    return Command((*argv, "--commands", ",".join(commands)), timeout=timeout)


def parse_scan_command(argv: Sequence[str]) -> ScanAsk:
    """The ScanAsk a `sslyze-scan` argv names; ValueError when it is malformed."""
    usage = "usage: sslyze-scan HOST PORT --sni NAME [--starttls PROTO] [--ca-file PATH] --commands A,B"
    if len(argv) < 3 or argv[0] != SCAN or len(argv) % 2 == 0 or not argv[2].isdigit():
        raise ValueError(usage)
    flags = dict(zip(argv[3::2], argv[4::2], strict=True))
    unknown = set(flags) - {"--sni", "--starttls", "--ca-file", "--commands"}
    if unknown or "--sni" not in flags or "--commands" not in flags:
        raise ValueError(f"sslyze-scan: unknown or missing options; {usage}")
    commands = tuple(flags["--commands"].split(","))
    if not set(commands) <= SCAN_COMMANDS:
        raise ValueError(f"sslyze-scan: unknown scan commands {sorted(set(commands) - SCAN_COMMANDS)}")
    return ScanAsk(argv[1], int(argv[2]), flags["--sni"], commands, flags.get("--starttls", ""),
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
        self.counterpart = plaintext.counterpart(self.port, self.starttls, options.get("plain_port"))
        self._found: ProbeResult | None = None
        self._running: set[int] = set()
        self._lock = threading.Lock()
        self._probing = threading.Lock()
        self._closed = False

    def run(self, command: Command) -> CommandResult:
        label = str(command)
        if self._closed:
            return CommandResult(label, TIMED_OUT, "", "not run: the scan was stopped")
        if command.argv == (PROBE,):
            found = self._probe()
            status = 0 if found.outcome == "tls" else TIMED_OUT if found.outcome == "silent" else 1
            return CommandResult(label, status, json.dumps(found.to_json(), indent=2) + "\n",
                                 "" if status == 0 else found.message)
        if command.argv[:1] == (SCAN,):
            return self._scan([command])[0]
        if command.argv[:1] == (plaintext.PROBE,):
            found = self._probe()
            if found.outcome not in REACHED:
                return CommandResult(label, 1, "", f"not run: {found.message}")
            return plaintext.answer(command, self.host, self.counterpart, self.connect_budget)
        if command.argv[:1] == ("db-probe",):  # a database's own answers: auditor/transports/_db_probe.py
            from auditor.transports import _db_probe  # imported by database targets only
            return _db_probe.answer(command, self.host, self.port, self.connect_budget)
        return CommandResult(label, NOT_FOUND, "", f"{command.argv[0]}: a TLS endpoint runs no programs")

    def read_file(self, path: str) -> FileContent:
        return FileContent(path, exists=False, error="a TLS endpoint has no files")

    def run_many(self, commands: Sequence[Command]) -> list[CommandResult]:
        """The scans as one sslyze scan, in a thread of its own while the other commands run."""
        scans = [c for c in commands if c.argv[:1] == (SCAN,)]
        answers: dict[Command, CommandResult] = {}
        worker = None
        if scans:
            self._probe()  # first, so that the scan and the other probes do not race to do it

            def scan_all() -> None:
                answers.update(zip(scans, self._scan(scans), strict=True))

            worker = threading.Thread(target=scan_all, name=f"tls-scan {self.target}")
            worker.start()
        for command in commands:
            if command not in scans:
                answers[command] = self.run(command)
        if worker is not None:
            worker.join()
        return [answers[c] for c in commands]

    def read_many(self, paths: Sequence[str]) -> list[FileContent]:
        return [self.read_file(p) for p in paths]

    def close(self) -> None:
        """Stop a scan still running (the run was interrupted) and refuse new ones."""
        self._closed = True
        with self._lock:
            running = list(self._running)
        for pid in running:
            kill(pid)

    def _probe(self) -> ProbeResult:
        with self._probing:  # its own lock: close() must not wait for a probe
            if self._found is None:
                self._found = probe(self.host, self.port, self.server_name, self.starttls, self.connect_budget,
                                    self.ca_file)
                if self._found.outcome == "tls":
                    # A scan will follow: start the scan server now, so that its sslyze import (about 0.45 s of
                    # CPU) runs on another core while this target is planned; a closed port never pays for it.
                    _server.warm()
            return self._found

    def _scan(self, commands: Sequence[Command]) -> list[CommandResult]:
        """One sslyze scan for every valid command, each answered with its own scan commands' results."""
        answers: dict[int, CommandResult] = {}
        asked: dict[int, ScanAsk] = {}
        own = ScanAsk(self.host, self.port, self.server_name, (), self.starttls, self.ca_file)
        for index, command in enumerate(commands):
            try:
                ask = parse_scan_command(command.argv)
            except ValueError as exc:
                answers[index] = CommandResult(str(command), _USAGE, "", str(exc))
                continue
            if dataclasses.replace(ask, commands=()) != own:
                answers[index] = CommandResult(str(command), _USAGE, "", f"refused: {ask.host}:{ask.port} with "
                                               "these options is not this target's endpoint")
                continue
            asked[index] = ask
        if asked:
            found = self._probe()
            budget = max(commands[i].timeout for i in asked)
            if found.outcome != "tls":
                answers.update({i: CommandResult(str(commands[i]), 1, "", f"not run: {found.message}") for i in asked})
            else:
                request = ScanRequest(self.host, self.port, found.ip_address, self.server_name,
                                      tuple(ask.commands for ask in asked.values()), self.starttls, self.ca_file,
                                      network_timeout=max(1, round(self.connect_budget)))
                status, documents, error = self._run_worker(request, budget)
                for position, index in enumerate(asked):
                    stdout = documents[position] if position < len(documents) else ""
                    answers[index] = CommandResult(str(commands[index]), status, stdout, error)
        return [answers[i] for i in range(len(commands))]

    def _run_worker(self, request: ScanRequest, budget: float) -> tuple[int, list[str], str]:
        if self._closed:
            return TIMED_OUT, [], "not run: the scan was stopped"
        try:
            pid, reply = _server.start(request)
        except OSError as exc:
            return _USAGE, [], f"the TLS scan server could not start a scan ({exc})"
        with self._lock:
            self._running.add(pid)
        try:
            result = read_result(reply, budget)
            if result is None:
                kill(pid)
                return TIMED_OUT, [], (f"the sslyze scan of {request.host}:{request.port} did not finish within "
                                       f"{budget:g} s and was stopped")
            return result
        finally:
            with self._lock:
                self._running.discard(pid)
            os.close(reply)
