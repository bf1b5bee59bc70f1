"""Facts about the certificates a TLS endpoint presents, from sslyze's certificate_info scan command.

What the chain itself shows is kept apart from what validation said, so that a check can name the cause in
words: the leaf's dates and names, whether it is self-signed, which certificates the server sent, which
intermediates validation needed that the server did not send, and each trust store's verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Any

from auditor.collectors.base import Requests
from auditor.collectors.tls import Endpoint, scan_request, scanned
from auditor.models import SystemFacts, Target
from auditor.records import record
from auditor.transports.base import Transport

NEEDS_LOGIN = False
PARAMETERS = ("target",)
SCAN_COMMANDS = ("certificate_info",)


@record
class Certificate:
    """One certificate chain the server presents (one per key type), judged from its leaf.

    Attributes:
        subject / issuer: RFC 4514 strings of the leaf.
        dns_names / ip_addresses: the subjectAltName entries the server name is matched against.
        not_before / not_after: ISO 8601 UTC.
        key_algorithm: RSA, EC, Ed25519, Ed448, DSA; key_bits its size (None when the key has none).
        signature_hash: sha256, sha1, ... (None for Ed25519/Ed448, which hash internally).
        trusted_by: trust stores that validated the chain ("Mozilla", "Supplied CA file", ...).
        validation_errors: store -> why validation failed, for the stores that did not validate it.
        chain_has_sha1: a certificate in the verified chain is signed with SHA-1.
        self_signed: the leaf is its own issuer.
        sent: subjects of the certificates the server sent, leaf first.
        top_issuer: the issuer of the last certificate sent (the CA the chain leads to, when the server stops there).
        top_self_signed: the last certificate sent is its own issuer (the server sent a root).
        not_sent: intermediates that validation needed and the server did not send (an incomplete chain).
        in_order: the server sent its chain in order, leaf first, each certificate issued by the next.
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
    self_signed: bool = False
    sent: tuple[str, ...] = ()
    top_issuer: str = ""
    top_self_signed: bool = False
    not_sent: tuple[str, ...] = ()
    in_order: bool = True


@record
class CertificateFacts:
    """Attributes:
    endpoint: which endpoint, and whether it spoke TLS at all.
    scanned_at: when sslyze finished (ISO 8601 UTC), the "now" of certificate expiry.
    ca_file: the target's private CA bundle, validated against beside the system store ("" when none).
    certificates: one entry per certificate chain; empty when certificate_info could not run.
    unavailable: sslyze scan command -> why it could not run.
    """

    endpoint: Endpoint
    scanned_at: str = ""
    ca_file: str = ""
    certificates: tuple[Certificate, ...] = ()
    unavailable: Mapping[str, str] = field(default_factory=dict)


def requests(_: SystemFacts, target: Target) -> Requests:
    return scan_request(target, SCAN_COMMANDS)


def collect(host: Transport, _: SystemFacts, target: Target) -> CertificateFacts:
    scan = scanned(host, target, SCAN_COMMANDS)
    info = scan.result("certificate_info")
    certificates = tuple(certificate(d) for d in info["certificate_deployments"]) if info else ()
    return CertificateFacts(scan.endpoint, scan.scanned_at, str(target.options.get("ca_file", "")), certificates,
                            scan.unavailable)


def certificate(deployment: Mapping[str, Any]) -> Certificate:
    """One of certificate_info's certificate_deployments -> facts."""
    received = deployment["received_certificate_chain"]
    leaf, top = received[0], received[-1]
    key = leaf.get("public_key") or {}
    algorithm = str(key.get("algorithm", ""))
    family = next((f for marker, f in (("RSA", "RSA"), ("Ed25519", "Ed25519"), ("Ed448", "Ed448"), ("DSA", "DSA"),
                                       ("EC", "EC"), ("Elliptic", "EC")) if marker in algorithm), algorithm)
    san = leaf.get("subject_alternative_name") or {}
    validations = deployment.get("path_validation_results") or []
    sent_prints = {c.get("fingerprint_sha256") for c in received}
    verified = deployment.get("verified_certificate_chain") or []
    return Certificate(
        subject=_name(leaf, "subject"), issuer=_name(leaf, "issuer"),
        dns_names=tuple(san.get("dns_names") or ()), ip_addresses=tuple(san.get("ip_addresses") or ()),
        not_before=str(leaf.get("not_valid_before", "")), not_after=str(leaf.get("not_valid_after", "")),
        key_algorithm=family, key_bits=key.get("key_size"),
        signature_hash=(leaf.get("signature_hash_algorithm") or {}).get("name"),
        trusted_by=tuple(v["trust_store"]["name"] for v in validations if v.get("was_validation_successful")),
        validation_errors={v["trust_store"]["name"]: _strip_detail(v.get("validation_error") or "")
                           for v in validations if not v.get("was_validation_successful")},
        chain_has_sha1=bool(deployment.get("verified_chain_has_sha1_signature")),
        self_signed=_name(leaf, "subject") == _name(leaf, "issuer"),
        sent=tuple(_name(c, "subject") for c in received), top_issuer=_name(top, "issuer"),
        top_self_signed=_name(top, "subject") == _name(top, "issuer"),
        # The verified chain ends at the trust anchor, which a server need not send.
        not_sent=tuple(_name(c, "subject") for c in verified[1:-1] if c.get("fingerprint_sha256") not in sent_prints),
        in_order=deployment.get("received_chain_has_valid_order") is not False,
    )


def _name(certificate: Mapping[str, Any], which: str) -> str:
    return str((certificate.get(which) or {}).get("rfc4514_string", ""))


def _strip_detail(error: str) -> str:
    # cryptography appends "(encountered processing <Certificate(...)>)", which says nothing to a reader.
    return error.split(" (encountered processing")[0].removeprefix("validation failed: ")
