"""Real TLS servers on loopback for the TLS tests and the benchmark: nginx, `openssl s_server`, aiosmtpd, Dovecot.

A test CA and a rogue CA are made with `cryptography`, with the keyUsage, basicConstraints and subjectAltName
that the strict RFC 5280 verifier sslyze uses demands; each server certificate is wrong in one way only
(expired, self-signed, another name, or issued by the rogue CA). Every server runs with its own configuration
in the lab's folder, in a process of its own (the silent listener and the closed port are sockets that never
answer), and is stopped when the lab is closed.

    nginx        HTTPS with HSTS, and two plain ports beside it: one that serves a page, one that only
                 redirects to https://
    s_server     one TLS configuration or certificate problem each (serves one connection at a time)
    aiosmtpd     SMTP with STARTTLS, one that requires it before MAIL and AUTH and one that does not
    Dovecot      IMAP and POP3 with STARTTLS, with and without plaintext logins; on 127.0.0.2, because Dovecot
                 trusts a connection whose two ends have the same address as if it were encrypted

    python -m tests.tls_servers smtp PORT CERT KEY strict|open       (used by the lab itself)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parent.parent
SERVER_NAME = "tls.auditor.test"
OTHER_NAME = "other.auditor.test"
MAIL_HOST = "127.0.0.2"  # Dovecot's address (see the module docstring)
SILENT_BUDGET = 3  # seconds the probe waits on the silent listener in the tests
PAGE = "<html><body>Customer records: Jens Hansen, 010190-1234</body></html>"  # what the open plain port serves

_AES256_12 = "ECDHE-ECDSA-AES256-GCM-SHA384"
_AES256_13 = "TLS_AES_256_GCM_SHA384"
# name -> (certificate, s_server arguments)
_S_SERVER: dict[str, tuple[str, list[str]]] = {
    "modern": ("good", ["-cipher", _AES256_12, "-ciphersuites", _AES256_13]),
    "legacy": ("good", ["-cipher", "ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES256-GCM-SHA384:@SECLEVEL=0",
                        "-ciphersuites", _AES256_13, "-min_protocol", "TLSv1"]),
    "aes128": ("good", ["-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", "-ciphersuites", "TLS_AES_128_GCM_SHA256"]),
    "expired": ("expired", ["-cipher", _AES256_12, "-ciphersuites", _AES256_13]),
    "self_signed": ("self_signed", ["-cipher", _AES256_12, "-ciphersuites", _AES256_13]),
    "wrong_name": ("wrong_name", ["-cipher", _AES256_12, "-ciphersuites", _AES256_13]),
    "untrusted": ("untrusted", ["-cipher", _AES256_12, "-ciphersuites", _AES256_13]),
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
    plain_port: int = 0

    def inventory_entry(self) -> str:
        """This endpoint as one YAML flow mapping under `targets:`."""
        extra = f", starttls: {self.starttls}" if self.starttls else ""
        extra += f", ca_file: {self.ca_file}" if self.ca_file else ""
        extra += f", plain_port: {self.plain_port}" if self.plain_port else ""
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
    plain_ports: dict[str, int] = field(default_factory=dict)  # nginx's plain HTTP ports: page, redirect, ...

    def inventory(self, *names: str) -> str:
        """An inventory YAML naming these endpoints (all when none are named)."""
        chosen = names or tuple(self.endpoints)
        return "targets:\n" + "".join(self.endpoints[n].inventory_entry() for n in chosen)

    def close(self) -> None:
        """Stop every server this lab started (SIGTERM: nginx and Dovecot then stop their own children)."""
        for proc in self.processes:
            proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for sock in self.sockets:
            sock.close()


# ---- certificates ------------------------------------------------------------------------------------------

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
    """The test CA (returned: the ca_file), a rogue CA, and one server certificate per problem:

    good, expired (30 days ago), self_signed, wrong_name (issued for OTHER_NAME) and untrusted (by the rogue CA).
    Valid ones run from a year before now to two years after, so a test run 400 days ahead still finds them valid.
    """
    now = dt.datetime.now(dt.UTC)
    year = dt.timedelta(days=365)
    authorities = {}
    for label in ("auditor test CA", "auditor rogue CA"):
        key = ec.generate_private_key(ec.SECP256R1())
        authorities[label] = (_certificate(label, key, _name(label), key, ca=True, not_before=now - year,
                                           not_after=now + 10 * year), key)
    _write_pem(folder / "ca.pem", authorities["auditor test CA"][0])
    issued = {"good": ("auditor test CA", SERVER_NAME, -year, 2 * year),
              "expired": ("auditor test CA", SERVER_NAME, -2 * year, -dt.timedelta(days=30)),
              "wrong_name": ("auditor test CA", OTHER_NAME, -year, 2 * year),
              "untrusted": ("auditor rogue CA", SERVER_NAME, -year, 2 * year)}
    for name, (authority, san, start, end) in issued.items():
        ca, ca_key = authorities[authority]
        key = ec.generate_private_key(ec.SECP256R1())
        _write_pem(folder / f"{name}.pem", _certificate(san, key, ca.subject, ca_key, ca=False, issuer_key=ca_key,
                                                        not_before=now + start, not_after=now + end), key)
    key = ec.generate_private_key(ec.SECP256R1())
    _write_pem(folder / "self_signed.pem", _certificate(SERVER_NAME, key, _name(SERVER_NAME), key, ca=False,
                                                        not_before=now - year, not_after=now + 2 * year), key)
    return folder / "ca.pem"


# ---- starting servers --------------------------------------------------------------------------------------

def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _wait_listening(host: str, port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"test server on {host}:{port} exited with {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"test server on {host}:{port} did not start")


@contextlib.contextmanager
def redis_server(folder: Path, *extra: str) -> Iterator[int]:
    """A Redis server on a free port of 127.0.0.1, in clear (no TLS), saving nothing, in `folder`; its port.
    Stopped when the block ends."""
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                             "no", "--daemonize", "no", "--dir", str(folder), *extra],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening("127.0.0.1", port, proc, time.monotonic() + 15)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Starter:
    """Starts servers into a lab and waits until every one listens."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.listening: list[tuple[str, int, subprocess.Popen[bytes]]] = []

    def launch(self, argv: list[str], *ports: int, host: str = "127.0.0.1") -> None:
        proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.lab.processes.append(proc)
        self.listening += [(host, port, proc) for port in ports]

    def wait(self) -> None:
        deadline = time.monotonic() + 15
        try:
            for host, port, proc in self.listening:
                _wait_listening(host, port, proc, deadline)
        except RuntimeError:
            self.lab.close()
            raise


def nginx(starter: _Starter, folder: Path, servers: list[str]) -> None:
    """nginx with these `server { }` blocks, in a prefix of its own under `folder`."""
    prefix = folder / "nginx"
    prefix.mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers read nothing, but must be allowed the prefix
    (prefix / "nginx.conf").write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\nerror_log stderr;\n"
        "events { worker_connections 512; }\n"
        "http {\n    access_log off;\n    default_type text/html;\n"
        + "".join(f"    {kind}_temp_path {prefix}/{kind};\n"
                  for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        + "".join(servers) + "}\n", encoding="utf-8")
    ports = [int(line.split(":")[1].split()[0].rstrip(";")) for block in servers for line in block.splitlines()
             if line.strip().startswith("listen ")]
    starter.launch(["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr"], *ports)


def https_server(port: int, folder: Path, *, cert: str = "good", hsts: bool = True) -> str:
    """An nginx `server { }` block: TLS 1.2/1.3 with AES-256-GCM only, answering every request with a page."""
    lines = [f"listen 127.0.0.1:{port} ssl;", f"ssl_certificate {folder / (cert + '.pem')};",
             f"ssl_certificate_key {folder / (cert + '.key')};", "ssl_protocols TLSv1.2 TLSv1.3;",
             f"ssl_ciphers {_AES256_12};", f"ssl_conf_command Ciphersuites {_AES256_13};"]
    if hsts:
        lines.append('add_header Strict-Transport-Security "max-age=31536000" always;')
    lines.append('return 200 "<html><body>auditor test</body></html>";')
    return "    server {\n" + "".join(f"        {line}\n" for line in lines) + "    }\n"


def plain_server(port: int, redirect_to: int = 0, answer: str = "") -> str:
    """An nginx `server { }` block in clear: a page, only a redirect to https:// on `redirect_to`, or `answer`."""
    answer = answer or (f"return 301 https://$host:{redirect_to}$request_uri;" if redirect_to else
                        f'return 200 "{PAGE}";')
    return f"    server {{\n        listen 127.0.0.1:{port};\n        {answer}\n    }}\n"


def dovecot(starter: _Starter, folder: Path, name: str, imap: int, pop3: int, plaintext_logins: bool) -> None:
    """Dovecot (IMAP and POP3 with STARTTLS) on MAIL_HOST, with a configuration of its own under `folder`."""
    home = folder / name
    home.mkdir(exist_ok=True)
    (home / "dovecot.conf").write_text(f"""\
base_dir = {home}/run
state_dir = {home}/state
log_path = /dev/stderr
protocols = imap pop3
listen = {MAIL_HOST}
ssl = yes
ssl_cert = <{folder}/good.pem
ssl_key = <{folder}/good.key
ssl_min_protocol = TLSv1.2
ssl_cipher_list = {_AES256_12}
ssl_cipher_suites = {_AES256_13}
disable_plaintext_auth = {'no' if plaintext_logins else 'yes'}
auth_mechanisms = plain login
passdb {{
  driver = static
  args = nopassword=y
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={home}/mail
}}
mail_location = mbox:{home}/mail
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
""", encoding="utf-8")
    starter.launch(["dovecot", "-F", "-c", str(home / "dovecot.conf")], imap, pop3, host=MAIL_HOST)


def start_lab(folder: Path) -> Lab:
    """Start every configuration at once; each endpoint validates against the lab's CA file."""
    ca_file = make_pki(folder)
    lab = Lab(folder, ca_file)
    start = _Starter(lab)
    ca = str(ca_file)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # the kernel completes TCP handshakes; nothing ever reads or answers
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: a connect is refused, and the port stays ours
    lab.sockets += [silent, closed]
    # The plain port of an HTTPS endpoint is the closed one unless it says otherwise: port 80 of this machine
    # may serve anything.
    nothing = closed.getsockname()[1]
    for name, (cert, options) in _S_SERVER.items():
        port = free_port()
        start.launch(["openssl", "s_server", "-quiet", "-www", "-accept", f"127.0.0.1:{port}",
                      "-cert", str(folder / f"{cert}.pem"), "-key", str(folder / f"{cert}.key"), *options], port)
        lab.endpoints[name] = Endpoint(name, port, ca_file=ca, plain_port=nothing)
    web, page, redirect, hops, elsewhere = (free_port() for _ in range(5))
    nginx(start, folder, [
        https_server(web, folder), plain_server(page), plain_server(redirect, redirect_to=web),
        # Two redirects on the same host and port (followed), then one to HTTPS.
        plain_server(hops, answer=f"location = / {{ return 302 /start; }} location = /start {{ return 301 "
                                  f"http://$host:{hops}/login; }} location / {{ return 301 https://$host:{web}/; }}"),
        plain_server(elsewhere, answer=f"return 302 http://{OTHER_NAME}/;"),  # off the host: never followed
    ])
    lab.endpoints["web"] = Endpoint("web", web, ca_file=ca, plain_port=redirect)
    lab.endpoints["web_open"] = Endpoint("web_open", web, ca_file=ca, plain_port=page)
    lab.plain_ports = {"page": page, "redirect": redirect, "hops": hops, "elsewhere": elsewhere}
    lab.endpoints["plain_http"] = Endpoint("plain_http", page, ca_file=ca, plain_port=nothing)
    for name, strict in (("smtp", "strict"), ("smtp_open", "open")):
        port = free_port()
        start.launch([sys.executable, "-m", "tests.tls_servers", "smtp", str(port), str(folder / "good.pem"),
                      str(folder / "good.key"), strict], port)
        lab.endpoints[name] = Endpoint(name, port, starttls="smtp", ca_file=ca)
    if shutil.which("dovecot"):  # Debian's dovecot-imapd and dovecot-pop3d, from TEST_DEBS
        for name, plaintext_logins in (("mail", False), ("mail_open", True)):
            imap, pop3 = free_port(MAIL_HOST), free_port(MAIL_HOST)
            dovecot(start, folder, name, imap, pop3, plaintext_logins)
            suffix = "_open" if plaintext_logins else ""
            lab.endpoints[f"imap{suffix}"] = Endpoint(f"imap{suffix}", imap, MAIL_HOST, starttls="imap", ca_file=ca)
            lab.endpoints[f"pop3{suffix}"] = Endpoint(f"pop3{suffix}", pop3, MAIL_HOST, starttls="pop3", ca_file=ca)

    lab.endpoints["silent"] = Endpoint("silent", silent.getsockname()[1], ca_file=ca)
    lab.endpoints["closed"] = Endpoint("closed", closed.getsockname()[1], ca_file=ca)
    lab.endpoints["unresolvable"] = Endpoint("unresolvable", 443, host="no-such-host.invalid",
                                             server_name="no-such-host.invalid")
    start.wait()
    return lab


def nginx_fleet(folder: Path, count: int) -> Lab:
    """`count` HTTPS endpoints on one nginx (the benchmark's endpoints), each with a redirecting plain port."""
    ca_file = make_pki(folder)
    lab = Lab(folder, ca_file)
    start = _Starter(lab)
    servers = []
    for index in range(count):
        port, plain = free_port(), free_port()
        servers += [https_server(port, folder), plain_server(plain, redirect_to=port)]
        lab.endpoints[f"web{index:03d}"] = Endpoint(f"web{index:03d}", port, ca_file=str(ca_file), plain_port=plain)
    nginx(start, folder, servers)
    start.wait()
    return lab


_LABS: dict[str, Lab] = {}


def _started(start: Callable[[], Lab], attempts: int = 3) -> Lab:
    """A lab started afresh when one of its servers lost its port: free_port() closes the port it found before the
    server binds it, and another test process may take it in between (openssl s_server then exits 0 at once)."""
    for _ in range(attempts - 1):
        try:
            return start()
        except RuntimeError:
            pass  # the failed start stopped its servers (_Starter.wait): start again, on fresh ports
    return start()


@pytest.fixture(scope="session")
def tls_lab(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Lab]:
    """The TLS lab, started once per test session however many modules import this fixture."""
    if "lab" not in _LABS:
        lab = _LABS["lab"] = _started(lambda: start_lab(tmp_path_factory.mktemp("tls-lab")))
        request.session.config.add_cleanup(lab.close)
    yield _LABS["lab"]


# ---- the SMTP server (run as `python -m tests.tls_servers smtp PORT CERT KEY strict|open`) ----

def _smtp(port: int, cert: str, key: str, strict: bool) -> None:
    """aiosmtpd with STARTTLS (TLS 1.2, AES-256-GCM); strict: MAIL and AUTH only after STARTTLS."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(_AES256_12)
    context.load_cert_chain(cert, key)
    controller = Controller(Sink(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=strict,
                            auth_require_tls=strict, authenticator=lambda *_: AuthResult(success=False),
                            ident="mail.auditor.test ESMTP")
    controller.start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    _smtp(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5] == "strict")
