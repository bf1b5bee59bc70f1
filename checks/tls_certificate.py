"""The certificate of a TLS endpoint (TLS-0030), with the cause of every problem named in words.

Facts come from auditor/collectors/tls_certificate.py. A validator stops at the first problem it meets, and says
it in its own terms ("candidates exhausted"); this check reads the chain itself for the dates, the names, a
self-signed leaf, the certificates the server leaves out, and keys and signatures, and says which CA a chain
that validates nowhere leads to.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from auditor.plugin import Severity, TargetKind, Verdict, check
from checks.tls import CIS, ISO, unjudged

if TYPE_CHECKING:
    # Collector modules are imported when a check runs, so loading the pack imports none of them.
    from auditor.collectors.tls_certificate import Certificate, CertificateFacts

_STRONG_HASHES = {"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512"}
_SYSTEM_STORE, _CA_FILE = "Mozilla", "Supplied CA file"  # Debian's ca-certificates is Mozilla's store
# What cryptography's verifier says when no chain leads to a trusted CA (as opposed to a problem of the leaf).
_NO_PATH = ("candidates exhausted", "unable to get", "no trusted")
# After "candidates exhausted: " the verifier says why it refused the last CA it found, unless it found none.
_REFUSED_CA = re.compile(r"candidates exhausted: (?!all candidates exhausted with no interior errors)(.+)")
_MISSING_EXTENSION = re.compile(r"invalid extension: ([\d.]+): .*missing")
# Extensions a CA certificate must hold under RFC 5280 (OpenSSL's own verify does not demand them): the name a
# reader knows, and the openssl `-addext` value that reissues the CA with it.
# A certificate made by `openssl req -x509` is marked as a CA, which strict validation refuses in a server's.
_EE_IS_CA = re.compile(r"basicConstraints\.cA must not be asserted in an EE certificate")
_CA_EXTENSIONS = {"2.5.29.15": ("keyUsage", "keyUsage=critical,keyCertSign,cRLSign"),
                  "2.5.29.19": ("basicConstraints", "basicConstraints=critical,CA:TRUE")}


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _matches(name: str, certificate: Certificate) -> bool:
    if name in certificate.ip_addresses:
        return True
    name = name.lower().rstrip(".")
    for pattern in (p.lower().rstrip(".") for p in certificate.dns_names):
        if pattern == name or (pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]):
            return True
    return False


def _untrusted(cert: Certificate, ca_file: bool) -> str:
    """Why a chain that no store validated is not trusted, when the leaf itself is not the reason."""
    error = cert.validation_errors.get(_CA_FILE) or cert.validation_errors.get(_SYSTEM_STORE, "")
    if error and not any(marker in error for marker in _NO_PATH):
        return f"its chain does not validate ({error})"
    if (refused := _refused_ca(cert, error, ca_file)) is not None:
        return refused
    stores = "neither the system trust store nor the ca_file trusts" if ca_file else \
        "the system trust store does not trust (a private CA's certificate goes in the target's ca_file)"
    missing = "" if cert.top_self_signed else \
        ", or the server leaves out the intermediate certificate that leads to a trusted CA"
    return f"it is issued by an untrusted CA: '{cert.top_issuer}', which {stores}{missing}"


def _refused_ca(cert: Certificate, error: str, ca_file: bool) -> str | None:
    """Why strict (RFC 5280) path validation refused the CA it found, when it names a reason (None otherwise).

    A CA without keyUsage passes `openssl verify` but not this validator: "untrusted CA" would send the reader
    looking at trust stores and intermediates, while the CA certificate itself must be reissued.
    """
    if (refused := _REFUSED_CA.search(error)) is None:
        return None
    detail = refused[1]
    # With no intermediate sent, the refused CA is the one that issued the last certificate the server sends.
    intermediates = len(cert.sent) - 1 - cert.top_self_signed
    which = "the ca_file's CA certificate" if ca_file and _CA_FILE in cert.validation_errors else "the CA certificate"
    ca = f"{which} '{cert.top_issuer}'" if intermediates <= 0 else \
        f"a CA certificate of its chain (which leads to '{cert.top_issuer}')"
    if (missing := _MISSING_EXTENSION.match(detail)) and missing[1] in _CA_EXTENSIONS:
        extension, fix = _CA_EXTENSIONS[missing[1]]
        return f"{ca} lacks the {extension} extension that strict (RFC 5280) validation requires; reissue it with {fix}"
    return f"{ca} is refused by strict (RFC 5280) validation: {detail}"


def _refused_self_signed(cert: Certificate, ca_file: bool) -> str | None:
    """Why strict (RFC 5280) validation refused a self-signed leaf with a ca_file for a reason of its own, which it
    gives whether or not the ca_file holds it (None when it found no path: the ca_file does not hold it)."""
    error = cert.validation_errors.get(_CA_FILE, "") if ca_file else ""
    if (interior := _REFUSED_CA.search(error)) is not None:
        error = interior[1]
    elif not error or any(marker in error for marker in _NO_PATH):
        return None
    if _EE_IS_CA.search(error):
        return ("it is self-signed and marked as a CA (basicConstraints CA:TRUE, as `openssl req -x509` makes it), "
                "which strict (RFC 5280) validation refuses in a server certificate even where the ca_file holds it "
                f"({error}); reissue it with basicConstraints=critical,CA:FALSE")
    return f"strict (RFC 5280) validation refuses it: {error}"


def problems(cert: Certificate, server_name: str, now: datetime, ca_file: bool) -> list[str]:
    """Every problem of one certificate chain, each a clause naming its cause."""
    found = []
    if now > _when(cert.not_after):
        found.append(f"it expired on {_when(cert.not_after):%Y-%m-%d}")
    elif now < _when(cert.not_before):
        found.append(f"it is not yet valid: its validity starts on {_when(cert.not_before):%Y-%m-%d}")
    if not _matches(server_name, cert):
        names = ", ".join(cert.dns_names + cert.ip_addresses) or f"no subjectAltName; its subject is {cert.subject}"
        found.append(f"its names do not match the server name {server_name} (it holds: {names})")
    trusted = {_SYSTEM_STORE, _CA_FILE} & set(cert.trusted_by)
    refused = _refused_self_signed(cert, ca_file) if not trusted and cert.self_signed else None
    if refused is not None:
        # The refusal is the cause a client with the ca_file meets; a problem of the leaf's dates or names is
        # already named, and then the refusal is that problem unless it is the CA mark.
        if not found or _EE_IS_CA.search(refused):
            found.append(refused)
    elif not trusted and cert.self_signed:
        found.append(f"it is self-signed ('{cert.subject}' issued it to itself), so no client can verify it")
    elif not trusted and not found:  # a problem of the leaf stops validation before trust is judged
        found.append(_untrusted(cert, ca_file))
    if cert.not_sent:
        found.append(f"its chain is incomplete: the server does not send {', '.join(repr(s) for s in cert.not_sent)}, "
                     "which clients need to validate it")
    if not cert.in_order:
        found.append("the server sends its chain out of order")
    if (cert.key_algorithm == "RSA" and (cert.key_bits or 0) < 2048) or \
            (cert.key_algorithm == "EC" and (cert.key_bits or 0) < 256) or cert.key_algorithm == "DSA":
        found.append(f"its key is weak: {cert.key_algorithm} of {cert.key_bits} bits (RSA needs 2048, EC 256)")
    weak_hash = cert.signature_hash is not None and cert.signature_hash not in _STRONG_HASHES
    if weak_hash or cert.chain_has_sha1:
        found.append(f"its signature is weak: {cert.signature_hash if weak_hash else 'SHA-1 in the chain'} "
                     "(SHA-256 or better is required)")
    return found


@check(
    id="TLS-0030", title="The certificate validates, matches the server name and is not close to expiry",
    severity=Severity.HIGH, requirements=("R2", "R8"), controls=ISO + CIS, target_kinds=(TargetKind.TLS,),
    remediation="Install a certificate for the server name from a CA the clients trust (or the controller's "
    "private CA, named as ca_file in the inventory), with the full chain, RSA 2048+ or EC P-256+, SHA-256 "
    "signatures, and renew it before it expires.",
)
def certificate_valid(tls_certificate: CertificateFacts, cert_min_days_left: int) -> list[Verdict]:
    facts = tls_certificate
    endpoint = facts.endpoint
    if (verdict := unjudged(endpoint)) is not None:
        return [verdict]
    if not facts.certificates:
        why = facts.unavailable.get("certificate_info", "sslyze returned no certificate")
        return [Verdict.warning(f"The certificate of {endpoint.name} could not be read: {why}.",
                                observed={"certificate_info": why})]
    now = _when(facts.scanned_at)
    verdicts = []
    for number, cert in enumerate(facts.certificates, 1):
        days_left = (_when(cert.not_after) - now).total_seconds() / 86400
        found = problems(cert, endpoint.server_name, now, bool(facts.ca_file))
        resource = f"{endpoint.name} chain {number} ({cert.key_algorithm})" if len(facts.certificates) > 1 else ""
        observed = {"subject": cert.subject, "issuer": cert.issuer, "names": list(cert.dns_names + cert.ip_addresses),
                    "not_before": cert.not_before, "not_after": cert.not_after, "days_left": int(days_left),
                    "trusted_by": list(cert.trusted_by), "sent": list(cert.sent),
                    "validation_errors": dict(cert.validation_errors), "key": f"{cert.key_algorithm} {cert.key_bits}",
                    "signature_hash": cert.signature_hash}
        expected = {"trusted": True, "matches": endpoint.server_name, "days_left": f">= {cert_min_days_left}",
                    "key": "RSA >= 2048 or EC >= 256", "signature_hash": "SHA-256 or better"}
        what = f"The certificate of {endpoint.name} ({cert.subject})"
        if found:
            verdicts.append(Verdict.failed(f"{what} fails: {'; '.join(found)}.", resource=resource,
                                           observed=observed, expected=expected))
        elif days_left < cert_min_days_left:
            verdicts.append(Verdict.warning(f"{what} is valid but expires in {int(days_left)} days, fewer than "
                                            f"{cert_min_days_left}.", resource=resource, observed=observed,
                                            expected=expected))
        else:
            verdicts.append(Verdict.passed(f"{what} validates ({', '.join(cert.trusted_by)}), matches "
                                           f"{endpoint.server_name} and has {int(days_left)} days left.",
                                           resource=resource, observed=observed, expected=expected))
    return verdicts
