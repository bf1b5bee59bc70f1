"""Real TLS servers on 127.0.0.1 for the TLS tests and the benchmark: `openssl s_server` and small Python servers.

A test CA is made with `cryptography`, with the keyUsage, basicConstraints and subjectAltName that the strict
RFC 5280 verifier sslyze uses demands. Every server runs in a process of its own (or, for the silent listener
and the closed port, is a socket that never answers) and is stopped when the lab is closed.

    python -m tests.tls_servers smtp|hsts|client_cert PORT CERT KEY CA    (used by the lab itself)
"""

from __future__ import annotations

import datetime as dt
import socket
import socketserver
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parent.parent
SERVER_NAME = "tls.auditor.test"
SILENT_BUDGET = 3  # seconds the probe waits on the silent listener in the tests

# name -> (certificate, s_server arguments); None marks the servers that are not `openssl s_server`.
_AES256_12 = "ECDHE-ECDSA-AES256-GCM-SHA384"
_S_SERVER: dict[str, tuple[str, list[str]]] = {
    "modern": ("good", ["-cipher", _AES256_12, "-ciphersuites", "TLS_AES_256_GCM_SHA384"]),
    "legacy": ("good", ["-cipher", "ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES256-GCM-SHA384:@SECLEVEL=0",
                        "-ciphersuites", "TLS_AES_256_GCM_SHA384", "-min_protocol", "TLSv1"]),
    "aes128": ("good", ["-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", "-ciphersuites", "TLS_AES_128_GCM_SHA256"]),
    "expired": ("expired", ["-cipher", _AES256_12, "-ciphersuites", "TLS_AES_256_GCM_SHA384"]),
    "wrong_host": ("selfsigned", ["-cipher", _AES256_12, "-ciphersuites", "TLS_AES_256_GCM_SHA384"]),
}


@dataclass(frozen=True)
class Endpoint:
    """One server of the lab, as an inventory entry would describe it."""

    name: str
    port: int
    host: str = "127.0.0.1"
    server_name: str = SERVER_NAME
    starttls: str = ""
    ca_file: str = ""

    def inventory_entry(self) -> str:
        """This endpoint as one YAML flow mapping under `targets:`."""
        extra = f", starttls: {self.starttls}" if self.starttls else ""
        extra += f", ca_file: {self.ca_file}" if self.ca_file else ""
        return (f"  - {{name: {self.name.replace('_', '-')}, kind: tls, host: {self.host}, port: {self.port}, "
                f"server_name: {self.server_name}{extra}}}\n")


@dataclass
class Lab:
    """The running servers; `endpoints[name]` for each configuration."""

    folder: Path
    ca_file: Path
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    sockets: list[socket.socket] = field(default_factory=list)

    def inventory(self, *names: str) -> str:
        """An inventory YAML naming these endpoints (all when none are named)."""
        chosen = names or tuple(self.endpoints)
        return "targets:\n" + "".join(self.endpoints[n].inventory_entry() for n in chosen)

    def close(self) -> None:
        """Stop every server this lab started."""
        for proc in self.processes:
            proc.kill()
            proc.wait()
        for sock in self.sockets:
            sock.close()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: Any, *, ca: bool,
                 not_before: dt.datetime, not_after: dt.datetime, san: str | None = None,
                 issuer_key: Any = None) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   (issuer_key or key).public_key()), critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    else:
        builder = (builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(san or subject)]), critical=False))
    return builder.sign(signer, hashes.SHA256())


def _write_pem(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None = None) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path.with_suffix(".key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def make_pki(folder: Path) -> Path:
    """A test CA and three server certificates (good, expired, self-signed wrong host); returns the CA file."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("auditor test CA", ca_key, _name("auditor test CA"), ca_key, ca=True,
                      not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=3650))
    _write_pem(folder / "ca.pem", ca)
    for name, days in (("good", (-1, 365)), ("expired", (-400, -30))):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(SERVER_NAME, key, ca.subject, ca_key, ca=False, issuer_key=ca_key,
                            not_before=now + dt.timedelta(days=days[0]), not_after=now + dt.timedelta(days=days[1]))
        _write_pem(folder / f"{name}.pem", cert, key)
    key = ec.generate_private_key(ec.SECP256R1())
    wrong = _certificate("wrong.example", key, _name("wrong.example"), key, ca=False,
                         not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=365))
    _write_pem(folder / "selfsigned.pem", wrong, key)
    return folder / "ca.pem"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"test server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"test server on port {port} did not start")


def start_lab(folder: Path) -> Lab:
    """Start every configuration at once; each endpoint validates against the lab's CA file."""
    ca_file = make_pki(folder)
    lab = Lab(folder, ca_file)
    started: list[tuple[int, subprocess.Popen[bytes]]] = []

    def launch(name: str, argv: list[str], port: int, **endpoint: Any) -> None:
        proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        lab.processes.append(proc)
        started.append((port, proc))
        lab.endpoints[name] = Endpoint(name, port, ca_file=str(ca_file), **endpoint)

    for name, (cert, options) in _S_SERVER.items():
        port = free_port()
        argv = ["openssl", "s_server", "-quiet", "-www", "-accept", f"127.0.0.1:{port}",
                "-cert", str(folder / f"{cert}.pem"), "-key", str(folder / f"{cert}.key"), *options]
        launch(name, argv, port)
    # Python servers are threaded: `openssl s_server` serves one connection at a time, and with -Verify a
    # scanner's parallel connections can wait on each other until its budget runs out.
    for name in ("hsts", "smtp", "client_cert"):
        port = free_port()
        launch(name, [sys.executable, "-m", "tests.tls_servers", name, str(port), str(folder / "good.pem"),
                      str(folder / "good.key"), str(ca_file)], port, starttls="smtp" if name == "smtp" else "")
    port = free_port()
    launch("plain_http", [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)], port)

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # the kernel completes TCP handshakes; nothing ever reads or answers
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: a connect is refused, and the port stays ours
    lab.sockets += [silent, closed]
    lab.endpoints["silent"] = Endpoint("silent", silent.getsockname()[1], ca_file=str(ca_file))
    lab.endpoints["closed"] = Endpoint("closed", closed.getsockname()[1], ca_file=str(ca_file))
    lab.endpoints["unresolvable"] = Endpoint("unresolvable", 443, host="no-such-host.invalid",
                                             server_name="no-such-host.invalid")
    deadline = time.monotonic() + 10
    try:
        for port, proc in started:
            _wait_listening(port, proc, deadline)
    except RuntimeError:
        lab.close()
        raise
    return lab


_LABS: dict[str, Lab] = {}


@pytest.fixture(scope="session")
def tls_lab(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Lab]:
    """The TLS lab, started once per test session however many modules import this fixture."""
    if "lab" not in _LABS:
        lab = _LABS["lab"] = start_lab(tmp_path_factory.mktemp("tls-lab"))
        request.session.config.add_cleanup(lab.close)
    yield _LABS["lab"]


# ---- the Python servers (run as `python -m tests.tls_servers MODE PORT CERT KEY CA`) ----

def _server_context(cert: str, key: str, client_ca: str = "") -> ssl.SSLContext:
    # TLS 1.2 only, one AES-256 suite: Python cannot restrict TLS 1.3 suites, which would accept AES-128.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(_AES256_12)
    context.load_cert_chain(cert, key)
    if client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    return context


class _Quiet:
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Scanners abort handshakes on purpose; nothing to report."""


class _SmtpHandler(socketserver.StreamRequestHandler):
    context: ssl.SSLContext

    def handle(self) -> None:
        self.wfile.write(b"220 mail.auditor.test ESMTP ready\r\n")
        for line in self.rfile:
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250-mail.auditor.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
            elif verb == b"STAR":
                self.wfile.write(b"220 2.0.0 Ready to start TLS\r\n")
                self.wfile.flush()
                with self.context.wrap_socket(self.connection, server_side=True) as tls:
                    while data := tls.recv(4096):
                        if data.upper().startswith(b"QUIT"):
                            tls.sendall(b"221 bye\r\n")
                            return
                        tls.sendall(b"250 ok\r\n")
                return
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"502 command not implemented\r\n")


class _SmtpServer(_Quiet, socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _HstsHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body>auditor test</body></html>\n"
        self.send_response(200)
        self.send_header("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """No access log."""


class _HstsServer(_Quiet, ThreadingHTTPServer):
    context: ssl.SSLContext

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        # The handshake runs in the handler's thread, so a scanner's aborted handshake never blocks accept().
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address


def _serve(mode: str, port: int, cert: str, key: str, ca_file: str) -> None:
    context = _server_context(cert, key, ca_file if mode == "client_cert" else "")
    if mode == "smtp":
        _SmtpHandler.context = context
        _SmtpServer(("127.0.0.1", port), _SmtpHandler).serve_forever()
    else:
        server = _HstsServer(("127.0.0.1", port), _HstsHandler)
        server.context = context
        server.serve_forever()


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
