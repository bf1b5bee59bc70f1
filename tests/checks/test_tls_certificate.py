"""TLS-0030 on facts built in code: every certificate problem gets a sentence that names its cause."""

from __future__ import annotations

import dataclasses

import pytest

from auditor.collectors.tls import Endpoint
from auditor.collectors.tls_certificate import Certificate, CertificateFacts
from auditor.models import Status
from checks.tls_certificate import certificate_valid

PORTAL = Endpoint("portal.example:443", "192.0.2.10", "portal.example", "")
CERT = Certificate("CN=portal.example", "CN=Example CA", ("portal.example",), (), "2026-01-01T00:00:00Z",
                   "2027-01-01T00:00:00Z", "RSA", 2048, "sha256", ("Mozilla",), sent=("CN=portal.example",),
                   top_issuer="CN=Example CA")
NO_PATH = {"Mozilla": "candidates exhausted: all candidates exhausted with no interior errors"}
JUNE = "2026-06-01T00:00:00Z"


def verdict_for(cert: Certificate, scanned_at: str = JUNE, ca_file: str = "") -> object:
    (verdict,) = certificate_valid(CertificateFacts(PORTAL, scanned_at, ca_file, (cert,)), 30)
    return verdict


@pytest.mark.parametrize(
    ("cert", "scanned_at", "status", "words"),
    [
        (CERT, JUNE, Status.PASS, "validates (Mozilla), matches portal.example and has 214 days"),
        (CERT, "2026-12-15T00:00:00Z", Status.WARN, "expires in 17 days, fewer than 30"),
        (dataclasses.replace(CERT, dns_names=("*.example",)), JUNE, Status.PASS, "matches"),
        (dataclasses.replace(CERT, trusted_by=("Supplied CA file",)), JUNE, Status.PASS,
         "validates (Supplied CA file)"),
        (dataclasses.replace(CERT, key_algorithm="EC", key_bits=256), JUNE, Status.PASS, "days"),
        (dataclasses.replace(CERT, key_algorithm="Ed25519", key_bits=None, signature_hash=None), JUNE, Status.PASS,
         "validates"),
    ],
)
def test_a_good_certificate_passes_or_warns_near_expiry(cert, scanned_at, status, words):
    verdict = verdict_for(cert, scanned_at)
    assert verdict.status is status and words in verdict.message


@pytest.mark.parametrize(
    ("cert", "scanned_at", "words"),
    [
        # expired, with the date; the validator's own words stay in observed
        (dataclasses.replace(CERT, trusted_by=(), validation_errors={"Mozilla": "cert is not valid at validation "
                                                                                "time"}),
         "2027-02-01T00:00:00Z", "fails: it expired on 2027-01-01."),
        (dataclasses.replace(CERT, trusted_by=()), "2025-12-01T00:00:00Z",
         "it is not yet valid: its validity starts on 2026-01-01"),
        (dataclasses.replace(CERT, dns_names=("other.example", "www.other.example"), trusted_by=(),
                             validation_errors={"Mozilla": "leaf certificate has no matching subjectAltName"}),
         JUNE, "its names do not match the server name portal.example (it holds: other.example, www.other.example)"),
        (dataclasses.replace(CERT, issuer="CN=portal.example", trusted_by=(), self_signed=True,
                             validation_errors=NO_PATH), JUNE,
         "it is self-signed ('CN=portal.example' issued it to itself)"),
        (dataclasses.replace(CERT, trusted_by=(), validation_errors=NO_PATH, top_issuer="CN=Rogue CA"), JUNE,
         "it is issued by an untrusted CA: 'CN=Rogue CA', which the system trust store does not trust"),
        (dataclasses.replace(CERT, key_bits=1024), JUNE, "its key is weak: RSA of 1024 bits"),
        (dataclasses.replace(CERT, key_algorithm="EC", key_bits=224), JUNE, "its key is weak: EC of 224 bits"),
        (dataclasses.replace(CERT, signature_hash="sha1"), JUNE, "its signature is weak: sha1"),
        (dataclasses.replace(CERT, chain_has_sha1=True), JUNE, "its signature is weak: SHA-1 in the chain"),
        (dataclasses.replace(CERT, not_sent=("CN=Example Intermediate",)), JUNE,
         "its chain is incomplete: the server does not send 'CN=Example Intermediate'"),
        (dataclasses.replace(CERT, in_order=False), JUNE, "the server sends its chain out of order"),
    ],
)
def test_each_problem_is_named_by_its_cause(cert, scanned_at, words):
    # Given a certificate with one problem, When TLS-0030 evaluates it
    verdict = verdict_for(cert, scanned_at)
    # Then it fails with a sentence that names that cause, not the validator's error
    assert verdict.status is Status.FAIL and words in verdict.message
    assert "candidates exhausted" not in verdict.message


def test_an_untrusted_ca_is_named_with_the_stores_that_were_asked():
    # Given a chain that validates nowhere although the leaf itself is fine, scanned with the target's ca_file
    errors = NO_PATH | {"Supplied CA file": NO_PATH["Mozilla"]}
    cert = dataclasses.replace(CERT, trusted_by=(), validation_errors=errors, top_issuer="CN=Rogue CA",
                               sent=("CN=portal.example", "CN=Rogue CA"), top_self_signed=True)
    verdict = verdict_for(cert, ca_file="/etc/auditor/ca.pem")
    # Then the CA is named, and both the system store and the ca_file are said not to trust it
    assert "issued by an untrusted CA: 'CN=Rogue CA', which neither the system trust store nor the ca_file trusts." \
        in verdict.message
    # And when the server stops below a root, a missing intermediate is named as the other possible cause
    below_root = verdict_for(dataclasses.replace(cert, top_self_signed=False), ca_file="/etc/auditor/ca.pem")
    assert "or the server leaves out the intermediate certificate" in below_root.message


def test_trust_is_not_judged_while_the_leaf_itself_fails():
    # Given an expired leaf (the validator stops there, so whether its CA is trusted is unknown)
    cert = dataclasses.replace(CERT, trusted_by=(), validation_errors={"Mozilla": "cert is not valid at validation"})
    verdict = verdict_for(cert, "2027-02-01T00:00:00Z")
    # Then only the known cause is named
    assert verdict.message.endswith("fails: it expired on 2027-01-01.")


def test_several_problems_are_named_together():
    cert = dataclasses.replace(CERT, dns_names=("wrong.example",), issuer="CN=wrong.example", self_signed=True,
                               trusted_by=(), validation_errors=NO_PATH, key_bits=1024)
    verdict = verdict_for(cert)
    assert "its names do not match" in verdict.message and "self-signed" in verdict.message
    assert "its key is weak" in verdict.message


def test_one_verdict_per_chain_and_a_warning_when_no_certificate_could_be_read():
    ec = dataclasses.replace(CERT, key_algorithm="EC", key_bits=256)
    verdicts = certificate_valid(CertificateFacts(PORTAL, JUNE, "", (CERT, ec)), 30)
    assert [v.resource for v in verdicts] == ["portal.example:443 chain 1 (RSA)", "portal.example:443 chain 2 (EC)"]
    (unread,) = certificate_valid(CertificateFacts(PORTAL, JUNE, "", (), {"certificate_info": "timed out"}), 30)
    assert unread.status is Status.WARN and "could not be read: timed out" in unread.message


def test_no_certificate_to_judge_on_an_endpoint_in_clear():
    in_clear = dataclasses.replace(PORTAL, encrypted=False, answered="a plain HTTP server answered")
    (verdict,) = certificate_valid(CertificateFacts(in_clear), 30)
    assert verdict.status is Status.NOT_APPLICABLE and "answers without TLS" in verdict.message
