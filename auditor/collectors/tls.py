"""Facts about one TLS endpoint's protocols and cipher suites, and what the TLS collectors share.

The TLS transport answers `tls-probe` (what answered on the port, and at which address) and `sslyze-scan ...`
(sslyze's result for the scan commands asked, kept as evidence). Each TLS collector asks for the scan commands
its checks read (this module: the cipher suites of each protocol version; tls_certificate, tls_vulnerabilities,
tls_http: the rest), so a profile that runs fewer checks scans less; the transport runs them as one scan.

An endpoint where nothing answered (a closed port, a name that does not resolve, a silent listener) raises
ConnectError or CommandTimeout: the target is not assessed, with the probe's sentence as the reason. One that
answered without TLS gives facts whose `endpoint.encrypted` is False, and no scan.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.collectors.base import Requests
from auditor.errors import CollectorError, CommandTimeout, ConnectError
from auditor.models import SystemFacts, Target
from auditor.records import record
from auditor.transports._tls_worker import SSLYZE_STARTTLS
from auditor.transports.base import Command, Transport
from auditor.transports.tls import DEFAULT_PORT, PROBE, scan_command

NEEDS_LOGIN = False  # a TLS endpoint is scanned from the network
PARAMETERS = ("target",)
PROBE_COMMAND = Command((PROBE,), timeout=30.0)
SCAN_TIMEOUT = 120.0  # wall-clock seconds for one endpoint's whole sslyze scan; the worker is killed after it

# sslyze's scan command for each protocol version, oldest first, with the name a report uses.
PROTOCOLS = (("ssl_2_0_cipher_suites", "SSL 2.0"), ("ssl_3_0_cipher_suites", "SSL 3.0"),
             ("tls_1_0_cipher_suites", "TLS 1.0"), ("tls_1_1_cipher_suites", "TLS 1.1"),
             ("tls_1_2_cipher_suites", "TLS 1.2"), ("tls_1_3_cipher_suites", "TLS 1.3"))
SCAN_COMMANDS = tuple(name for name, _ in PROTOCOLS)
_BULK = (("CHACHA20", "CHACHA20"), ("AES_256", "AES"), ("AES_128", "AES"), ("CAMELLIA", "CAMELLIA"),
         ("ARIA", "ARIA"), ("3DES", "3DES"), ("DES", "DES"), ("RC4", "RC4"), ("RC2", "RC2"), ("IDEA", "IDEA"),
         ("SEED", "SEED"), ("SM4", "SM4"), ("NULL", "NULL"))
_AEAD = ("_GCM_", "_CCM", "CHACHA20_POLY1305")


@record
class Endpoint:
    """Which endpoint the facts are about, and whether it spoke TLS.

    Attributes:
        name: "server_name:port"; ip_address the address the probe connected to.
        server_name: the name sent as SNI and matched against the certificate.
        starttls: the STARTTLS protocol ("" for TLS from the first byte).
        encrypted: a TLS service answered; False when something answered in clear (then nothing was scanned).
        answered: the probe's sentence for what answered instead of TLS; first_bytes: what it sent, escaped.
        not_scanned: why sslyze could not scan this endpoint at all ("" when it could).
    """

    name: str
    ip_address: str
    server_name: str
    starttls: str
    encrypted: bool = True
    answered: str = ""
    first_bytes: str = ""
    not_scanned: str = ""


@record
class CipherSuite:
    """Attributes:
    name: the IANA name (TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384).
    bulk_cipher: AES, CHACHA20, CAMELLIA, 3DES, RC4, NULL, ... ("" when unknown).
    key_bits: the bulk cipher's key size as sslyze reports it.
    forward_secrecy: the key exchange is ephemeral (every TLS 1.3 suite, (EC)DHE before it).
    key_exchange: e.g. "ECDH X25519 (253 bits)", "" when sslyze saw no ephemeral key.
    cbc: the bulk cipher runs in CBC mode (MAC-then-encrypt: Lucky13, POODLE-style padding oracles).
    mac: the record MAC: "AEAD" (GCM, CCM, ChaCha20-Poly1305), or the HMAC's hash ("SHA1", "SHA256", ...).
    """

    name: str
    bulk_cipher: str
    key_bits: int
    forward_secrecy: bool
    key_exchange: str = ""
    cbc: bool = False
    mac: str = ""


@record
class TlsFacts:
    """Attributes:
    endpoint: which endpoint, and whether it spoke TLS at all.
    scanned_at: when sslyze finished (ISO 8601 UTC); "" when nothing was scanned.
    client_auth: DISABLED, OPTIONAL or REQUIRED (the server demands a client certificate).
    accepted: protocol name -> accepted suites, for every protocol sslyze tested (empty: not accepted).
    unavailable: sslyze scan command -> why it could not run.
    """

    endpoint: Endpoint
    scanned_at: str = ""
    client_auth: str = ""
    accepted: Mapping[str, tuple[CipherSuite, ...]] = field(default_factory=dict)
    unavailable: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Scan:
    """sslyze's result for one endpoint, as the TLS collectors read it (within a collector, never a fact):
    `result(name)` is a scan command's result, None when it did not run; a failed one is noted in `unavailable`."""

    endpoint: Endpoint
    scanned_at: str = ""
    client_auth: str = ""
    results: Mapping[str, Any] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)

    def result(self, name: str) -> dict[str, Any] | None:
        attempt = self.results.get(name) or {}
        if attempt.get("status") == "COMPLETED":
            return dict(attempt["result"])
        if attempt.get("status") == "ERROR":
            self.unavailable[name] = _attempt_error(attempt)
        return None


def scan_request(target: Target, commands: tuple[str, ...]) -> Requests:
    """What a TLS collector asks for: the probe, and (unless `commands` is empty) the scan of these commands."""
    options = target.options
    if not commands or _unscannable(options.get("starttls", "")):
        return (PROBE_COMMAND,), ()
    host = str(options["host"])
    scan = scan_command(host, int(options.get("port", DEFAULT_PORT)), str(options.get("server_name") or host),
                        commands, str(options.get("starttls", "")), str(options.get("ca_file", "")),
                        timeout=SCAN_TIMEOUT)
    return (PROBE_COMMAND, scan), ()


def reach(host: Transport) -> dict[str, Any]:
    """The probe's document; ConnectError (CommandTimeout when it was silent) when nothing answered."""
    found = parse_probe(host.run(PROBE_COMMAND).stdout)
    outcome = found["outcome"]
    if outcome == "silent":
        raise CommandTimeout(host.target, str(found["message"]))
    if outcome not in ("tls", "plain_http", "not_tls"):
        raise ConnectError(host.target, str(found["message"]))
    return found


def scanned(host: Transport, target: Target, commands: tuple[str, ...]) -> Scan:
    """The endpoint and sslyze's result for `commands`; no scan when the endpoint answered in clear."""
    found = reach(host)
    endpoint = Endpoint(f"{found['server_name']}:{found['port']}", str(found.get("ip_address", "")),
                        str(found["server_name"]), str(found.get("starttls", "")))
    if found["outcome"] != "tls":
        return Scan(Endpoint(endpoint.name, endpoint.ip_address, endpoint.server_name, endpoint.starttls,
                             encrypted=False, answered=str(found["message"]),
                             first_bytes=str(found.get("first_bytes", ""))))
    why = _unscannable(str(target.options.get("starttls", "")))
    if why:
        return Scan(Endpoint(endpoint.name, endpoint.ip_address, endpoint.server_name, endpoint.starttls,
                             not_scanned=why))
    if not commands:
        return Scan(endpoint)
    result = host.run(scan_request(target, commands)[0][1])
    if result.timed_out or not result.stdout:
        raise CollectorError(result.stderr.strip() or f"the sslyze scan exited {result.exit_status} without a "
                             "result")
    return parse_sslyze_json(result.stdout, endpoint)


def _unscannable(starttls: str) -> str:
    if starttls and starttls not in SSLYZE_STARTTLS:
        return f"sslyze has no STARTTLS for {starttls} (the protocol negotiates TLS inside its own handshake)"
    return ""


def requests(_: SystemFacts, target: Target) -> Requests:
    return scan_request(target, SCAN_COMMANDS)


def collect(host: Transport, _: SystemFacts, target: Target) -> TlsFacts:
    scan = scanned(host, target, SCAN_COMMANDS)
    accepted = {label: tuple(_suite(s, label) for s in found["accepted_cipher_suites"])
                for key, label in PROTOCOLS if (found := scan.result(key)) is not None}
    return TlsFacts(scan.endpoint, scan.scanned_at, scan.client_auth, accepted, scan.unavailable)


def parse_probe(text: str) -> dict[str, Any]:
    """The `tls-probe` JSON document; CollectorError when it is not one."""
    try:
        document = json.loads(text)
        if document.get("probe") != "auditor-tls-probe/1" or "outcome" not in document:
            raise ValueError("not a tls-probe document")
    except (ValueError, AttributeError) as exc:
        raise CollectorError(f"the TLS probe's answer cannot be read ({exc})") from exc
    return dict(document)


def parse_sslyze_json(text: str, endpoint: Endpoint | None = None) -> Scan:
    """sslyze's JSON output (SslyzeOutputAsJson) with one server result -> what the TLS collectors read."""
    try:
        document = json.loads(text)
        server = document["server_scan_results"][0]
        location = server["server_location"]
        network = server["network_configuration"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise CollectorError(f"sslyze's JSON result cannot be read ({exc})") from exc
    name = f"{location['hostname']}:{location['port']}"
    if server.get("connectivity_status") != "COMPLETED" or not server.get("scan_result"):
        trace = (server.get("connectivity_error_trace") or "").strip().splitlines()
        raise CollectorError(f"sslyze could not complete a TLS handshake with {name}: "
                             f"{trace[-1] if trace else 'no detail'}")
    endpoint = endpoint or Endpoint(name, location.get("ip_address") or "",
                                    network.get("tls_server_name_indication", ""),
                                    (network.get("tls_opportunistic_encryption") or "").lower())
    return Scan(endpoint, str(document.get("date_scans_completed", "")),
                (server.get("connectivity_result") or {}).get("client_auth_requirement", ""),
                server["scan_result"], {})


def _suite(accepted: Mapping[str, Any], protocol: str) -> CipherSuite:
    suite = accepted["cipher_suite"]
    name = str(suite["name"])
    bulk = next((cipher for marker, cipher in _BULK if marker in name), "")
    key = accepted.get("ephemeral_key") or {}
    exchange = ""
    if key:
        group = key.get("curve_name") or ""
        exchange = f"{key.get('type_name', '')} {group} ({key.get('size')} bits)".replace("  ", " ")
    forward = protocol == "TLS 1.3" or (("_DHE_" in name or "_ECDHE_" in name) and not suite.get("is_anonymous"))
    tail = name.rsplit("_", 1)[-1]  # the HMAC's hash: SHA (SHA-1), SHA256, SHA384, MD5
    mac = "AEAD" if any(marker in name for marker in _AEAD) else {"SHA": "SHA1"}.get(tail, tail)
    return CipherSuite(name, bulk, int(suite.get("key_size") or 0), forward, exchange, "_CBC_" in name, mac)


def _attempt_error(attempt: Mapping[str, Any]) -> str:
    reason = attempt.get("error_reason") or "ERROR"
    if reason == "CLIENT_CERTIFICATE_NEEDED":
        return "the server requires a client certificate, and auditor presents none"
    return f"{reason.lower().replace('_', ' ')}: {last_line(attempt.get('error_trace') or '')}".rstrip(": ")


def last_line(text: str) -> str:
    """The last non-empty line of a trace, cut to 300 characters."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
