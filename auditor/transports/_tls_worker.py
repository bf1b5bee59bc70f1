"""What runs inside a TLS worker process: one sslyze scan of one endpoint, returned as sslyze's own JSON.

sslyze is imported here only, so the scanner's own process never pays for it, and a worker that exceeds its
wall-clock budget can be killed with everything it started (sslyze's threads cannot be cancelled).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# What the TLS checks read, plus what the issue asks to keep as evidence; early data and resumption are left out
# (sslyze's CLI does not run them by default either).
SCAN_COMMANDS = (
    "certificate_info", "ssl_2_0_cipher_suites", "ssl_3_0_cipher_suites", "tls_1_0_cipher_suites",
    "tls_1_1_cipher_suites", "tls_1_2_cipher_suites", "tls_1_3_cipher_suites", "tls_compression",
    "openssl_ccs_injection", "tls_fallback_scsv", "heartbleed", "robot", "session_renegotiation",
    "elliptic_curves", "tls_extended_master_secret", "http_headers",
)


@dataclass(frozen=True)
class ScanRequest:
    """One endpoint to scan: the resolved address, and the name used for SNI and certificate validation."""

    host: str
    port: int
    ip_address: str
    server_name: str
    starttls: str = ""
    ca_file: str = ""
    network_timeout: int = 5


def scan_json(request: ScanRequest) -> tuple[int, str, str]:
    """Run the scan; (exit status, sslyze's JSON output, error text). Exit 1: sslyze could not connect."""
    from sslyze.connection_helpers.opportunistic_tls_helpers import ProtocolWithOpportunisticTlsEnum
    from sslyze.json.json_output import ServerScanResultAsJson, SslyzeOutputAsJson
    from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
    from sslyze.plugins.scan_commands import ScanCommand
    from sslyze.scanner.models import ScanCommandsExtraArguments, ServerConnectivityStatusEnum, ServerScanRequest
    from sslyze.scanner.scanner import Scanner
    from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

    started = datetime.now(UTC)
    commands = {ScanCommand(name) for name in SCAN_COMMANDS}
    if request.starttls:
        commands.discard(ScanCommand.HTTP_HEADERS)  # not an HTTP service
    extra = ScanCommandsExtraArguments()
    if request.ca_file:
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
    )
    text = output.model_dump_json(indent=2)
    failed = [r for r in results if r.connectivity_status is ServerConnectivityStatusEnum.ERROR]
    if failed:
        trace = failed[0].connectivity_error_trace
        return 1, text, str(trace).strip() if trace else "sslyze could not connect"
    return 0, text, ""


def worker_main(request: ScanRequest, reply: Connection) -> None:
    """Entry point of a worker process: scan, send (status, stdout, stderr) back, exit."""
    # sslyze's trust stores hold certificates that newer cryptography warns about; the scanner's console
    # is not the place for them.
    warnings.simplefilter("ignore")
    result: Any
    try:
        result = scan_json(request)
    except Exception as exc:  # the parent records it as a failed command rather than losing the worker
        result = (2, "", f"sslyze failed: {type(exc).__name__}: {exc}")
    reply.send(result)
    reply.close()
