"""Where sslyze runs: a small server process that imports sslyze once and forks one worker per scan.

    python -P auditor/transports/_tls_worker.py FD      (started by ScanServer, never by hand)

The server is this module, not the CLI: a worker forked from it starts with sslyze imported and nothing of the
scanner's command line (multiprocessing's forkserver re-ran the installed `auditor` script as __mp_main__ in
every worker). A worker that overruns its wall-clock budget is killed with everything it started: sslyze's
threads cannot be cancelled. The scanner's own process never imports sslyze.

The scanner and the server share one Unix socket: the scanner sends a request (one JSON line) with the write
end of a pipe; the server forks, answers the worker's pid, and the worker writes its result to the pipe.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.records import record

# Every sslyze scan command a request may name (sslyze.plugins.scan_commands.ScanCommand), so that the scanner
# can refuse a malformed command without importing sslyze.
SCAN_COMMANDS = frozenset({
    "certificate_info", "session_resumption", "ssl_2_0_cipher_suites", "ssl_3_0_cipher_suites",
    "tls_1_0_cipher_suites", "tls_1_1_cipher_suites", "tls_1_2_cipher_suites", "tls_1_3_cipher_suites",
    "tls_compression", "tls_1_3_early_data", "openssl_ccs_injection", "tls_fallback_scsv", "heartbleed", "robot",
    "session_renegotiation", "http_headers", "elliptic_curves", "tls_extended_master_secret",
})
# The STARTTLS protocols sslyze speaks (ProtocolWithOpportunisticTlsEnum); MySQL negotiates TLS inside its own
# handshake, which sslyze cannot do.
SSLYZE_STARTTLS = frozenset({"smtp", "xmpp", "xmpp_server", "ftp", "pop3", "ldap", "imap", "rdp", "postgres"})
_STOPPED = 2  # the worker failed or vanished: the parent records it as a failed command


@record
class ScanRequest:
    """One sslyze scan of one endpoint: the resolved address, the SNI name, and the scan commands.

    Attributes:
        groups: the result is cut into one sslyze document per group (each pseudo-command asked for one group);
            the scan runs the union of them once.
    """

    host: str
    port: int
    ip_address: str
    server_name: str
    groups: tuple[tuple[str, ...], ...]
    starttls: str = ""
    ca_file: str = ""
    network_timeout: int = 5

    @classmethod
    def from_json(cls, text: bytes) -> ScanRequest:
        """The request as the server reads it off the socket."""
        fields = json.loads(text)
        fields["groups"] = tuple(tuple(group) for group in fields["groups"])
        return cls(**fields)


def scan_documents(request: ScanRequest) -> tuple[int, list[str], str]:
    """Run the scan: (exit status, one sslyze JSON document per group, error text). Exit 1: sslyze could not
    connect (the documents say why)."""
    from sslyze.connection_helpers.opportunistic_tls_helpers import ProtocolWithOpportunisticTlsEnum
    from sslyze.json.json_output import ServerScanResultAsJson, SslyzeOutputAsJson
    from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
    from sslyze.plugins.scan_commands import ScanCommand
    from sslyze.scanner.models import ScanCommandsExtraArguments, ServerConnectivityStatusEnum, ServerScanRequest
    from sslyze.scanner.scanner import Scanner
    from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

    started = datetime.now(UTC)
    commands = {ScanCommand(name) for group in request.groups for name in group}
    extra = ScanCommandsExtraArguments()
    if request.ca_file and ScanCommand.CERTIFICATE_INFO in commands:  # sslyze refuses it for commands not run
        extra = ScanCommandsExtraArguments(certificate_info=CertificateInfoExtraArgument(Path(request.ca_file)))
    location = ServerNetworkLocation(request.server_name, request.port, ip_address=request.ip_address)
    configuration = ServerNetworkConfiguration(
        tls_server_name_indication=request.server_name,
        tls_opportunistic_encryption=ProtocolWithOpportunisticTlsEnum(request.starttls.upper())
        if request.starttls else None,
        network_timeout=request.network_timeout,
    )
    scanner = Scanner(concurrent_server_scans_limit=1)
    scanner.queue_scans([ServerScanRequest(location, configuration, commands, extra)])
    results = list(scanner.get_results())
    output = SslyzeOutputAsJson(
        server_scan_results=[ServerScanResultAsJson.model_validate(r) for r in results],
        invalid_server_strings=[], date_scans_started=started, date_scans_completed=datetime.now(UTC),
    ).model_dump(mode="json")
    # Compact: the evidence is read by programs, and every byte of it is hashed, searched for secrets and stored.
    documents = [json.dumps(_only(output, group), separators=(",", ":")) + "\n" for group in request.groups]
    failed = [r for r in results if r.connectivity_status is ServerConnectivityStatusEnum.ERROR]
    if failed:
        trace = failed[0].connectivity_error_trace
        return 1, documents, str(trace).strip() if trace else "sslyze could not connect"
    return 0, documents, ""


def _only(output: dict[str, Any], group: tuple[str, ...]) -> dict[str, Any]:
    """sslyze's document with the results of `group` only; the other commands read as not scheduled."""
    servers = []
    for server in output["server_scan_results"]:
        results = server.get("scan_result")
        if results:
            unscheduled = {"status": "NOT_SCHEDULED", "error_reason": None, "error_trace": None, "result": None}
            server = {**server, "scan_result": {name: attempt if name in group else unscheduled
                                                for name, attempt in results.items()}}
        servers.append(server)
    return {**output, "server_scan_results": servers}


# ---- the server process ------------------------------------------------------------------------------------

def serve(fd: int) -> None:
    """Import sslyze, then fork a worker for each request until the scanner closes its end of the socket."""
    warnings.simplefilter("ignore")  # sslyze's trust stores hold certificates that newer cryptography warns about
    broken = ""
    try:
        # What every worker needs, imported (and the trust stores parsed) once, before the first fork.
        import sslyze.json.json_output
        import sslyze.scanner.scanner  # noqa: F401
        from sslyze.plugins.certificate_info.trust_stores.trust_store_repository import TrustStoresRepository

        TrustStoresRepository.get_default()
    except Exception as exc:  # every request is then answered with why
        broken = f"sslyze cannot be imported: {type(exc).__name__}: {exc}"
    with socket.socket(fileno=fd) as control:
        while True:
            message, fds = _receive(control)
            if not message:
                break  # the scanner is gone
            # Windows has no fork: there every request is answered that the scan server cannot run.
            pid = os.fork() if hasattr(os, "fork") else _unsupported(fds[0])
            if pid == 0:
                control.close()
                _work(message, fds[0], broken)
            for descriptor in fds:
                os.close(descriptor)
            control.sendall(f"{pid}\n".encode())
            _reap(block=False)
    # Waited for, so that their CPU time counts as the scanner's (the scanner waits for this process).
    _reap(block=True)


def _unsupported(reply: int) -> int:
    """Answer one request on a system without fork (the scan server forks a killable child per scan)."""
    with os.fdopen(os.dup(reply), "wb") as out:  # a copy: the caller closes `reply` itself
        out.write(json.dumps((_STOPPED, [], "TLS scans need fork (Linux or macOS): scan TLS endpoints from a "
                                            "Linux scanner")).encode())
    return 1  # not 0: the caller is not a child


def _reap(*, block: bool) -> None:
    """Collect the workers that have finished (all of them when `block`); until then a pid stays theirs."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, 0 if block or not hasattr(os, "WNOHANG") else os.WNOHANG)[0]:
            pass


def _receive(control: socket.socket) -> tuple[bytes, list[int]]:
    """One request line and the pipe that came with it (b"" when the scanner closed the socket)."""
    message, fds, _, _ = socket.recv_fds(control, 65536, 1)
    while message and not message.endswith(b"\n"):
        more = control.recv(65536)
        if not more:
            return b"", fds
        message += more
    return message, fds


def _work(message: bytes, reply: int, broken: str) -> None:
    """A forked worker: scan, write (status, documents, error) as JSON to the reply pipe, and exit."""
    result: tuple[int, list[str], str] = (_STOPPED, [], broken)
    if not broken:
        try:
            result = scan_documents(ScanRequest.from_json(message))
        except Exception as exc:  # the parent records it as a failed command rather than losing the worker
            result = (_STOPPED, [], f"sslyze failed: {type(exc).__name__}: {exc}")
    with os.fdopen(reply, "wb") as out:
        out.write(json.dumps(result).encode())
    os._exit(0)


# ---- the scanner's side ------------------------------------------------------------------------------------

class ScanServer:
    """The scanner's handle on the server process: started on first use, and gone with the scanner."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None

    def start(self, request: ScanRequest) -> tuple[int, int]:
        """Fork a worker for `request`: (its pid, the descriptor its result will be read from)."""
        line = json.dumps(asdict(request)).encode() + b"\n"
        read_end, write_end = os.pipe()
        try:
            with self._lock:
                control = self._running()
                socket.send_fds(control, [line], [write_end])
                answer = control.recv(64)
            if not answer.endswith(b"\n"):
                raise OSError("the TLS scan server stopped")
            return int(answer), read_end
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)

    def warm(self) -> None:
        """Start the server now, so that its sslyze import runs on another core while the scanner prepares."""
        with self._lock:
            self._running()

    def stop(self) -> None:
        """Close the server's socket and wait for it (it waits for its workers): nothing is left behind."""
        with self._lock:
            if self._control is not None:
                self._control.close()
                self._control = None
            if self._process is not None:
                try:
                    self._process.wait(10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
                self._process = None

    def _running(self) -> socket.socket:
        if self._process is None or self._process.poll() is not None or self._control is None:
            if self._control is not None:
                self._control.close()
            if self._process is None:
                atexit.register(self.stop)
            ours, theirs = socket.socketpair()
            with theirs:
                # This file as a script: the server imports sslyze and nothing of auditor. -P: neither its folder
                # nor the working folder is put on sys.path (a module there must not shadow a real one).
                # Its environment holds none of the scanner's secrets: sslyze needs none. (Imported here: run as
                # the server, this module imports nothing of auditor.)
                from auditor.transports.environment import helper_environment

                self._process = subprocess.Popen(
                    [sys.executable, "-P", __file__, str(theirs.fileno())], pass_fds=[theirs.fileno()],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    env=helper_environment(os.environ))
            self._control = ours
        return self._control


def read_result(descriptor: int, budget: float) -> tuple[int, list[str], str] | None:
    """The worker's result from its pipe, waiting at most `budget` seconds (None: not within it)."""
    deadline = time.monotonic() + budget
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([descriptor], [], [], remaining)[0]:
            return None
        chunk = os.read(descriptor, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    if not chunks:
        return _STOPPED, [], "the sslyze worker stopped without a result"
    status, documents, error = json.loads(b"".join(chunks))
    return int(status), [str(d) for d in documents], str(error)


def kill(pid: int) -> None:
    """Stop a worker that is still running (its pipe is still open, so the pid is still its own)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
