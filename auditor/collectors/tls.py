"""Facts about one TLS endpoint, from the TLS transport's pre-probe and sslyze's JSON scan result.

The transport answers `tls-probe` (did a TLS service answer, and at which address) and `sslyze-scan ...` (the
whole sslyze result, kept as evidence). An endpoint that did not answer TLS raises CollectorError with the
probe's sentence, so every TLS check becomes an ERROR finding that says why, backed by the recorded probe.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.collectors.base import Requests
from auditor.errors import CollectorError
from auditor.models import SystemFacts
from auditor.transports.base import Command, Transport
from auditor.transports.tls import PROBE, scan_command

NEEDS_LOGIN = False  # a TLS endpoint is scanned from the network
PROBE_COMMAND = Command((PROBE,), timeout=30.0)
SCAN_TIMEOUT = 120.0  # wall-clock seconds for one endpoint's whole sslyze scan; the worker is killed after it

# sslyze's scan command for each protocol version, oldest first, with the name a report uses.
PROTOCOLS = (("ssl_2_0_cipher_suites", "SSL 2.0"), ("ssl_3_0_cipher_suites", "SSL 3.0"),
             ("tls_1_0_cipher_suites", "TLS 1.0"), ("tls_1_1_cipher_suites", "TLS 1.1"),
             ("tls_1_2_cipher_suites", "TLS 1.2"), ("tls_1_3_cipher_suites", "TLS 1.3"))
_BULK = (("CHACHA20", "CHACHA20"), ("AES_256", "AES"), ("AES_128", "AES"), ("CAMELLIA", "CAMELLIA"),
         ("ARIA", "ARIA"), ("3DES", "3DES"), ("DES", "DES"), ("RC4", "RC4"), ("RC2", "RC2"), ("IDEA", "IDEA"),
         ("SEED", "SEED"), ("SM4", "SM4"), ("NULL", "NULL"))


@dataclass(frozen=True)
class CipherSuite:
    """Attributes:
    name: the IANA name (TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384).
    bulk_cipher: AES, CHACHA20, CAMELLIA, 3DES, RC4, NULL, ... ("" when unknown).
    key_bits: the bulk cipher's key size as sslyze reports it.
    forward_secrecy: the key exchange is ephemeral (every TLS 1.3 suite, (EC)DHE before it).
    key_exchange: e.g. "ECDH X25519 (253 bits)", "" when sslyze saw no ephemeral key.
    """

    name: str
    bulk_cipher: str
    key_bits: int
    forward_secrecy: bool
    key_exchange: str = ""


@dataclass(frozen=True)
class Certificate:
    """One certificate chain the server presents (one per key type), judged from its leaf.

    Attributes:
        subject / issuer: RFC 4514 strings.
        dns_names / ip_addresses: the subjectAltName entries the server name is matched against.
        not_before / not_after: ISO 8601 UTC.
        key_algorithm: RSA, EC, Ed25519, Ed448, DSA; key_bits its size (None when the key has none).
        signature_hash: sha256, sha1, ... (None for Ed25519/Ed448, which hash internally).
        trusted_by: trust stores that validated the chain ("Mozilla", "Supplied CA file", ...).
        validation_errors: store -> why validation failed, for the stores that did not validate it.
        chain_has_sha1: a certificate in the verified chain is signed with SHA-1.
    """

    subject: str
    issuer: str
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    not_before: str
    not_after: str
    key_algorithm: str
    key_bits: int | None
    signature_hash: str | None
    trusted_by: tuple[str, ...]
    validation_errors: Mapping[str, str] = field(default_factory=dict)
    chain_has_sha1: bool = False


@dataclass(frozen=True)
class TlsFacts:
    """Attributes:
    endpoint: "server_name:port" as sslyze names it; ip_address the address scanned.
    server_name: the name sent as SNI and matched against the certificate.
    starttls: the STARTTLS protocol ("" for TLS from the first byte).
    scanned_at: when sslyze finished (ISO 8601 UTC), the "now" of certificate expiry.
    client_auth: DISABLED, OPTIONAL or REQUIRED (the server demands a client certificate).
    accepted: protocol name -> accepted suites, for every protocol sslyze tested (empty: not accepted).
    certificates: one entry per certificate chain; empty when certificate_info could not run.
    vulnerabilities: heartbleed, ccs_injection, compression, insecure_renegotiation, no_fallback_scsv ->
        True (vulnerable), False (not); robot: sslyze's verdict name; absent when the test did not run.
    curves: the elliptic curves the server accepts for key exchange.
    hsts_max_age: max-age of Strict-Transport-Security in seconds (None: no header, or not HTTP).
    http_answered: the service answered sslyze's HTTP request (False for STARTTLS or non-HTTP services).
    http_error: why there was no HTTP answer ("" when there was one).
    unavailable: sslyze scan command -> why it could not run (e.g. the server requires a client certificate).
    """

    endpoint: str
    ip_address: str
    server_name: str
    starttls: str
    scanned_at: str
    client_auth: str
    accepted: Mapping[str, tuple[CipherSuite, ...]]
    certificates: tuple[Certificate, ...]
    vulnerabilities: Mapping[str, bool]
    robot: str = ""
    curves: tuple[str, ...] = ()
    hsts_max_age: int | None = None
    http_answered: bool = False
    http_error: str = ""
    unavailable: Mapping[str, str] = field(default_factory=dict)


def requests(_: SystemFacts) -> Requests:
    return (PROBE_COMMAND,), ()


def collect(host: Transport, _: SystemFacts) -> TlsFacts:
    found = parse_probe(host.run(PROBE_COMMAND).stdout)
    if found["outcome"] != "tls":
        raise CollectorError(str(found["message"]))
    scan = host.run(scan_command(found["host"], int(found["port"]), found["ip_address"], found["server_name"],
                                 found.get("starttls", ""), found.get("ca_file", ""), timeout=SCAN_TIMEOUT))
    if scan.timed_out or not scan.stdout:
        raise CollectorError(scan.stderr.strip() or f"the sslyze scan exited {scan.exit_status} without a result")
    facts = parse_sslyze_json(scan.stdout)
    return facts


def parse_probe(text: str) -> dict[str, Any]:
    """The `tls-probe` JSON document; CollectorError when it is not one."""
    try:
        document = json.loads(text)
        if document.get("probe") != "auditor-tls-probe/1" or "outcome" not in document:
            raise ValueError("not a tls-probe document")
    except (ValueError, AttributeError) as exc:
        raise CollectorError(f"the TLS probe's answer cannot be read ({exc})") from exc
    return dict(document)


def parse_sslyze_json(text: str) -> TlsFacts:
    """sslyze's JSON output (SslyzeOutputAsJson) with one server result -> facts."""
    try:
        document = json.loads(text)
        server = document["server_scan_results"][0]
        location = server["server_location"]
        network = server["network_configuration"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise CollectorError(f"sslyze's JSON result cannot be read ({exc})") from exc
    endpoint = f"{location['hostname']}:{location['port']}"
    if server.get("connectivity_status") != "COMPLETED" or not server.get("scan_result"):
        trace = (server.get("connectivity_error_trace") or "").strip().splitlines()
        raise CollectorError(f"sslyze could not complete a TLS handshake with {endpoint}: "
                             f"{trace[-1] if trace else 'no detail'}")
    results = server["scan_result"]
    unavailable: dict[str, str] = {}

    def result(name: str) -> dict[str, Any] | None:
        attempt = results.get(name) or {}
        if attempt.get("status") == "COMPLETED":
            return dict(attempt["result"])
        if attempt.get("status") == "ERROR":
            unavailable[name] = _attempt_error(attempt)
        return None

    accepted = {label: tuple(_suite(s, label) for s in found["accepted_cipher_suites"])
                for key, label in PROTOCOLS if (found := result(key)) is not None}
    info = result("certificate_info")
    certificates = tuple(_certificate(d) for d in info["certificate_deployments"]) if info else ()
    vulnerabilities: dict[str, bool] = {}
    for key, name, field_name, vulnerable_when in (
        ("heartbleed", "heartbleed", "is_vulnerable_to_heartbleed", True),
        ("openssl_ccs_injection", "ccs_injection", "is_vulnerable_to_ccs_injection", True),
        ("tls_compression", "compression", "supports_compression", True),
        ("session_renegotiation", "insecure_renegotiation", "supports_secure_renegotiation", False),
        ("tls_fallback_scsv", "no_fallback_scsv", "supports_fallback_scsv", False),
    ):
        if (found := result(key)) is not None:
            vulnerabilities[name] = bool(found[field_name]) is vulnerable_when
    robot = result("robot")
    curves = result("elliptic_curves")
    http = result("http_headers")
    hsts = (http or {}).get("strict_transport_security_header") or {}
    http_error = _last_line((http or {}).get("http_error_trace") or "")
    return TlsFacts(
        endpoint=endpoint, ip_address=location.get("ip_address") or "",
        server_name=network.get("tls_server_name_indication", ""),
        starttls=(network.get("tls_opportunistic_encryption") or "").lower(),
        scanned_at=str(document.get("date_scans_completed", "")),
        client_auth=(server.get("connectivity_result") or {}).get("client_auth_requirement", ""),
        accepted=accepted, certificates=certificates, vulnerabilities=vulnerabilities,
        robot=str(robot["robot_result"]) if robot else "",
        curves=tuple(c["name"] for c in (curves or {}).get("supported_curves") or ()),
        hsts_max_age=hsts.get("max_age"), http_answered=http is not None and not http_error,
        http_error=http_error if http is not None else unavailable.get("http_headers", ""), unavailable=unavailable,
    )


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
    return CipherSuite(name, bulk, int(suite.get("key_size") or 0), forward, exchange)


def _certificate(deployment: Mapping[str, Any]) -> Certificate:
    leaf = deployment["received_certificate_chain"][0]
    key = leaf.get("public_key") or {}
    algorithm = str(key.get("algorithm", ""))
    family = next((f for marker, f in (("RSA", "RSA"), ("Ed25519", "Ed25519"), ("Ed448", "Ed448"), ("DSA", "DSA"),
                                       ("EC", "EC"), ("Elliptic", "EC")) if marker in algorithm), algorithm)
    san = leaf.get("subject_alternative_name") or {}
    validations = deployment.get("path_validation_results") or []
    return Certificate(
        subject=(leaf.get("subject") or {}).get("rfc4514_string", ""),
        issuer=(leaf.get("issuer") or {}).get("rfc4514_string", ""),
        dns_names=tuple(san.get("dns_names") or ()), ip_addresses=tuple(san.get("ip_addresses") or ()),
        not_before=str(leaf.get("not_valid_before", "")), not_after=str(leaf.get("not_valid_after", "")),
        key_algorithm=family, key_bits=key.get("key_size"),
        signature_hash=(leaf.get("signature_hash_algorithm") or {}).get("name"),
        trusted_by=tuple(v["trust_store"]["name"] for v in validations if v.get("was_validation_successful")),
        validation_errors={v["trust_store"]["name"]: _strip_detail(v.get("validation_error") or "")
                           for v in validations if not v.get("was_validation_successful")},
        chain_has_sha1=bool(deployment.get("verified_chain_has_sha1_signature")),
    )


def _attempt_error(attempt: Mapping[str, Any]) -> str:
    reason = attempt.get("error_reason") or "ERROR"
    if reason == "CLIENT_CERTIFICATE_NEEDED":
        return "the server requires a client certificate, and auditor presents none"
    return f"{reason.lower().replace('_', ' ')}: {_last_line(attempt.get('error_trace') or '')}".rstrip(": ")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _strip_detail(error: str) -> str:
    # cryptography appends "(encountered processing <Certificate(...)>)", which says nothing to a reader.
    return error.split(" (encountered processing")[0].removeprefix("validation failed: ")
