"""TLS-0030 on facts built in code: every certificate problem gets a sentence that names its cause."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from auditor.collectors.tls import Endpoint
from auditor.collectors.tls_certificate import Certificate, CertificateFacts
from auditor.models import Status
from checks.tls_certificate import certificate_valid
from tests.conftest import load_results, run_cli
from tests.tls_servers import _wait_listening, free_port

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


QA_CA = dataclasses.replace(CERT, issuer="CN=QA Test CA", top_issuer="CN=QA Test CA", trusted_by=())


@pytest.mark.parametrize(
    ("interior", "words"),
    [
        ("invalid extension: 2.5.29.15: Certificate is missing required extension",
         "the ca_file's CA certificate 'CN=QA Test CA' lacks the keyUsage extension that strict (RFC 5280) "
         "validation requires; reissue it with keyUsage=critical,keyCertSign,cRLSign"),
        ("invalid extension: 2.5.29.19: missing required extension: CA certificate has no basicConstraints",
         "the ca_file's CA certificate 'CN=QA Test CA' lacks the basicConstraints extension that strict (RFC 5280) "
         "validation requires; reissue it with basicConstraints=critical,CA:TRUE"),
        ("keyUsage.keyCertSign must be asserted in a CA certificate",
         "the ca_file's CA certificate 'CN=QA Test CA' is refused by strict (RFC 5280) validation: "
         "keyUsage.keyCertSign must be asserted in a CA certificate"),
    ],
)
def test_a_ca_that_strict_validation_refuses_is_named_with_its_problem(interior, words):
    # Given a chain whose CA the ca_file holds, but which strict path validation refuses for a problem of its own
    # (QA: `openssl verify -CAfile` said OK, and the finding blamed an untrusted CA or a missing intermediate)
    errors = {"Mozilla": NO_PATH["Mozilla"], "Supplied CA file": f"candidates exhausted: {interior}"}
    verdict = verdict_for(dataclasses.replace(QA_CA, validation_errors=errors), ca_file="/etc/auditor/ca.pem")
    # Then the finding names that problem and the CA certificate it is in, not an untrusted CA
    assert verdict.status is Status.FAIL and f"fails: {words}." in verdict.message, verdict.message
    assert "untrusted CA" not in verdict.message and "intermediate" not in verdict.message


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca_without_key_usage(folder) -> None:
    """ca.pem (basicConstraints CA:TRUE, no keyUsage: `openssl verify` accepts it, RFC 5280 does not) and
    srv.pem/srv.key for 127.0.0.1 issued by it."""
    # Valid from two years before this process's now to two years after: `openssl verify` reads the real clock,
    # and under `make test-later` this process's clock is 400 days ahead of it (as in tests/tls_servers.py).
    now, span = dt.datetime.now(dt.UTC), dt.timedelta(days=730)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("QA Test CA")).issuer_name(_name("QA Test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - span).not_valid_after(now + span)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(_name("qa.auditor.test")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - span).not_valid_after(now + span)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("qa.auditor.test")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "srv.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (folder / "srv.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))


@pytest.mark.tls
@pytest.mark.slow
def test_a_real_server_whose_private_ca_lacks_key_usage_is_failed_for_that(tmp_path):
    # Given QA's case: a server whose certificate comes from a private CA without keyUsage, given as ca_file
    _ca_without_key_usage(tmp_path)
    assert subprocess.run(["openssl", "verify", "-CAfile", tmp_path / "ca.pem", tmp_path / "srv.pem"],
                          capture_output=True, check=False).returncode == 0  # OpenSSL itself accepts the chain
    # When TLS-0030 scans it
    finding = _tls_0030_of(tmp_path, tmp_path / "srv.pem", tmp_path / "srv.key", ca_file=tmp_path / "ca.pem")
    # Then it fails for the missing keyUsage, with the fix, and not for an untrusted CA
    assert "the ca_file's CA certificate 'CN=QA Test CA' lacks the keyUsage extension" in finding["message"]
    assert "untrusted CA" not in finding["message"], finding["message"]


EE_IS_CA = "basicConstraints.cA must not be asserted in an EE certificate"
SELF_SIGNED_CA = dataclasses.replace(CERT, issuer="CN=portal.example", top_issuer="CN=portal.example", trusted_by=(),
                                     self_signed=True, top_self_signed=True,
                                     validation_errors={"Mozilla": EE_IS_CA, "Supplied CA file": EE_IS_CA})


def test_a_self_signed_certificate_in_the_ca_file_that_is_marked_as_a_ca_is_failed_for_that():
    # Given QA's case: a self-signed certificate made by `openssl req -x509` (basicConstraints CA:TRUE), given as
    # the target's ca_file: `openssl s_client -CAfile` verifies it, strict validation refuses it as a server's
    verdict = verdict_for(SELF_SIGNED_CA, ca_file="/etc/auditor/portal.pem")
    # Then the finding names that refusal and its fix, not a certificate no client could verify
    assert verdict.status is Status.FAIL
    assert ("fails: it is self-signed and marked as a CA (basicConstraints CA:TRUE, as `openssl req -x509` makes "
            "it), which strict (RFC 5280) validation refuses in a server certificate even where the ca_file holds "
            f"it ({EE_IS_CA}); reissue it with basicConstraints=critical,CA:FALSE.") in verdict.message, \
        verdict.message
    assert "no client can verify it" not in verdict.message


def test_a_self_signed_certificate_refused_for_another_reason_with_a_ca_file_names_that_reason():
    refused = {"Mozilla": NO_PATH["Mozilla"], "Supplied CA file": "candidates exhausted: keyUsage.digitalSignature "
                                                                  "must be asserted"}
    verdict = verdict_for(dataclasses.replace(SELF_SIGNED_CA, validation_errors=refused), ca_file="/etc/a.pem")
    assert "fails: strict (RFC 5280) validation refuses it: keyUsage.digitalSignature must be asserted." in \
        verdict.message, verdict.message
    assert "no client can verify it" not in verdict.message


@pytest.mark.parametrize("ca_file", ["", "/etc/auditor/other-ca.pem"])
def test_a_self_signed_certificate_no_store_holds_is_still_failed_as_self_signed(ca_file):
    # Without a ca_file, or with one that does not hold it (no path: the validator found no anchor), it is self-signed
    errors = NO_PATH | ({"Supplied CA file": NO_PATH["Mozilla"]} if ca_file else {})
    cert = dataclasses.replace(SELF_SIGNED_CA, validation_errors=errors)
    assert "it is self-signed ('CN=portal.example' issued it to itself)" in verdict_for(cert, ca_file=ca_file).message


@pytest.mark.tls
@pytest.mark.slow
def test_a_real_server_whose_self_signed_certificate_is_its_ca_file_is_failed_for_its_ca_flag(tmp_path):
    # Given QA's case: `openssl req -x509` (which marks the certificate CA:TRUE) served by openssl s_server, and the
    # same certificate as the target's ca_file, with which `openssl s_client -CAfile` verifies the server
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "1200", "-subj", "/CN=qa.auditor.test",
                    "-addext", "subjectAltName=DNS:qa.auditor.test"], capture_output=True, check=True)

    def openssl_trusts_it(port: int) -> None:
        client = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername",
                                 "qa.auditor.test", "-CAfile", cert, "-verify_return_error"],
                                input=b"", capture_output=True, check=False, timeout=15)
        assert client.returncode == 0 and b"Verify return code: 0 (ok)" in client.stdout

    # When TLS-0030 scans it
    finding = _tls_0030_of(tmp_path, cert, key, ca_file=cert, before_the_scan=openssl_trusts_it)
    # Then it fails for the CA flag strict validation refuses, with the fix, and not as unverifiable
    assert "it is self-signed and marked as a CA (basicConstraints CA:TRUE" in finding["message"], finding["message"]
    assert "no client can verify it" not in finding["message"], finding["message"]


def _tls_0030_of(tmp_path, cert, key, ca_file, before_the_scan=None) -> dict:
    """TLS-0030's finding for `openssl s_server` serving cert/key on 127.0.0.1, scanned as qa.auditor.test with
    ca_file; before_the_scan(port) runs while the server listens. The scan must fail (exit 1)."""
    port = free_port()
    server = subprocess.Popen(["openssl", "s_server", "-quiet", "-www", "-accept", f"127.0.0.1:{port}",
                               "-cert", cert, "-key", key],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening("127.0.0.1", port, server, time.monotonic() + 15)
        if before_the_scan is not None:
            before_the_scan(port)
        inventory = tmp_path / "inv.yaml"
        inventory.write_text(f"targets:\n  - {{name: qa, kind: tls, host: 127.0.0.1, port: {port}, "
                             f"server_name: qa.auditor.test, ca_file: {ca_file}}}\n", encoding="utf-8")
        result = run_cli("scan", "--inventory", str(inventory), "--check", "TLS-0030", "--out", str(tmp_path / "r"),
                         "--quiet", "--format", "none")
    finally:
        server.terminate()
        server.wait(5)
    assert result.returncode == 1, result.stderr
    (finding,) = [f for f in load_results(tmp_path / "r")["findings"] if f["check_id"] == "TLS-0030"]
    return finding
