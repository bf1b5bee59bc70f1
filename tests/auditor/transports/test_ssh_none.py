"""The paramiko-free "none" authentication probe against real OpenSSH on 127.0.0.1: for every key exchange,
cipher, MAC and host-key algorithm it drives (each the only one a server allows) it must agree with paramiko's
`offered_auth_methods`, or, where paramiko cannot connect, with the server's own configuration; and peers that
are not SSH, hang up or fall silent must raise ProbeError."""

from __future__ import annotations

import base64
import contextlib
import getpass
import hashlib
import json
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import paramiko
import pytest

from auditor.transports._ssh_auth import fingerprint
from auditor.transports._ssh_none import Unsupported, ask_auth_methods
from auditor.transports._ssh_paramiko import AuditTransport
from auditor.transports._ssh_wire import ProbeError, _frame, _start, fetch_host_key
from tests import sshd_server
from tests.conftest import ROOT, child_env
from tests.sshd_server import SshdServer

client_key, ssh_root = sshd_server.client_key, sshd_server.ssh_root

pytestmark = pytest.mark.ssh


def offered_auth_methods(sock: Any, user: str, timeout: float) -> dict[str, Any]:
    """The reference: the same "none" request made by paramiko (with auditor's algorithm extensions), answered in
    the same fields as ask_auth_methods."""
    ssh = AuditTransport(sock, legacy=True)
    ssh.banner_timeout = ssh.handshake_timeout = ssh.auth_timeout = timeout
    try:
        ssh.start_client(timeout=timeout)
        key = ssh.get_remote_server_key()
        try:
            methods, accepted = list(ssh.auth_none(user)), True
        except paramiko.BadAuthenticationType as exc:
            methods, accepted = list(exc.allowed_types), False
        return {"user": user, "methods": methods, "none_accepted": accepted,
                "host_key": f"{key.get_name()} {fingerprint(key)}", "algorithms": ssh.agreed()}
    finally:
        ssh.close()

USER = getpass.getuser()
ED25519 = (("ed25519", 0),)
# Every algorithm the probe drives that this OpenSSH still allows, each on a server allowing it alone:
# (server config, its host keys, the agreed algorithm it pins, whether paramiko (AuditTransport) can connect).
KEXES = ["curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
         "ecdh-sha2-nistp521", "diffie-hellman-group14-sha256", "diffie-hellman-group16-sha512",
         "diffie-hellman-group18-sha512", "diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1",
         "diffie-hellman-group-exchange-sha256", "diffie-hellman-group-exchange-sha1"]
CIPHERS = ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com", "aes256-ctr",
           "aes192-ctr", "aes128-ctr", "aes256-cbc", "aes192-cbc", "aes128-cbc", "3des-cbc"]
MACS = ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512",
        "hmac-sha1-etm@openssh.com", "hmac-sha1", "hmac-sha1-96-etm@openssh.com", "hmac-sha1-96",
        "hmac-md5-etm@openssh.com", "hmac-md5", "hmac-md5-96-etm@openssh.com", "hmac-md5-96"]
HOST_KEYS = {"ssh-ed25519": ("ed25519", 0), "ecdsa-sha2-nistp256": ("ecdsa", 256),
             "ecdsa-sha2-nistp384": ("ecdsa", 384), "ecdsa-sha2-nistp521": ("ecdsa", 521),
             "rsa-sha2-512": ("rsa", 2048), "rsa-sha2-256": ("rsa", 2048), "ssh-rsa": ("rsa", 2048),
             "ssh-dss": ("dsa", 1024)}
NOT_IN_PARAMIKO = {"diffie-hellman-group18-sha512", "hmac-sha1-etm@openssh.com", "hmac-sha1-96-etm@openssh.com",
                   "hmac-md5-etm@openssh.com", "hmac-md5-96-etm@openssh.com", "ssh-dss"}

PINNED: dict[str, tuple[str, tuple[tuple[str, int], ...], tuple[str, ...], str]] = {
    **{kex: (f"KexAlgorithms {kex}\n", ED25519, ("kex",), kex) for kex in KEXES},
    **{c: (f"Ciphers {c}\n", ED25519, ("cipher_out", "cipher_in"), c) for c in CIPHERS},
    **{mac: (f"Ciphers aes128-ctr\nMACs {mac}\n", ED25519, ("mac_out", "mac_in"), mac) for mac in MACS},
    **{f"host-{alg}": (f"HostKeyAlgorithms {alg}\n", (kind,), ("host_key",), alg) for alg, kind in HOST_KEYS.items()},
}
OTHERS = {
    "defaults": ("", (("ed25519", 0), ("rsa", 2048)), "first", ""),  # OpenSSH's own offer: many of each
    "passwords": ("", ED25519, "first", "PasswordAuthentication yes\nKbdInteractiveAuthentication yes\n"),
    "banner": ("", ED25519, "extra", "Banner {root}/banner.txt\n"),
    "umac-only": ("Ciphers aes128-ctr\nMACs umac-64@openssh.com,umac-128-etm@openssh.com\n", ED25519, "", ""),
    "sntrup-only": ("KexAlgorithms sntrup761x25519-sha512@openssh.com\n", ED25519, "", ""),
}


@pytest.fixture(scope="module")
def servers(ssh_root: Path, client_key: Path) -> Iterator[dict[str, SshdServer]]:
    folder = ssh_root / "none-probe"
    folder.mkdir()
    (folder / "banner.txt").write_text("Authorized use only.\n")
    made = {name: SshdServer(folder / name.replace("@", "_"), config, client_key, host_keys=keys)
            for name, (config, keys, _, _) in PINNED.items()}
    for name, (config, keys, where, lines) in OTHERS.items():
        lines = lines.format(root=folder)
        made[name] = SshdServer(folder / name, config, client_key, host_keys=keys,
                                first=lines if where == "first" else "", extra=lines if where == "extra" else "")
    taken: set[int] = set()
    for server in made.values():  # free ports asked for before any server listens may repeat: move those
        while server.port in taken:
            port = sshd_server.free_port()
            server.config.write_text(server.config.read_text().replace(f"Port {server.port}\n", f"Port {port}\n"))
            server.port = port
        taken.add(server.port)
    with ThreadPoolExecutor(max_workers=16) as pool:  # ~45 servers: started at once, they are ready in ~1 s
        started = list(pool.map(lambda server: _attempt(server.start), made.values()))
    try:
        assert not [problem for problem in started if problem]
        yield made
    finally:
        for server in made.values():
            server.stop()


def _attempt(start: Callable[[], object]) -> str:
    try:
        start()
        return ""
    except Exception as exc:  # reported once every server has been started, so that all are stopped
        return str(exc)


def _ask(server: SshdServer, probe: Callable[..., dict[str, Any]] = ask_auth_methods, **options: Any) -> dict[str, Any]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        return probe(sock, USER, 5.0, **options)


def _fingerprint(server: SshdServer) -> str:
    kind, blob = Path(f"{server.host_keys[0]}.pub").read_text().split()[:2]
    digest = hashlib.sha256(base64.b64decode(blob)).digest()
    return f"{kind} SHA256:{base64.b64encode(digest).decode().rstrip('=')}"


SAME_AS_PARAMIKO = ("methods", "none_accepted", "host_key", "algorithms")


@pytest.mark.parametrize("name", list(PINNED))
def test_each_algorithm_gives_the_answer_paramiko_gives(servers, name):
    # Given a server allowing one algorithm of a kind, When its methods are asked without paramiko
    _, _, agreed_as, algorithm = PINNED[name]
    ours = _ask(servers[name])
    # Then the algorithm is used, the server's own key is read, and the answer is its configuration's
    assert [ours["algorithms"][used_as] for used_as in agreed_as] == [algorithm] * len(agreed_as)
    assert ours["host_key"] == _fingerprint(servers[name])
    assert ours["host_key_base64"] == Path(f"{servers[name].host_keys[0]}.pub").read_text().split()[1]
    assert ours["methods"] == ["publickey"] and ours["none_accepted"] is False and ours["user"] == USER
    # And paramiko, where it can connect, says exactly the same
    if algorithm not in NOT_IN_PARAMIKO:
        theirs = _ask(servers[name], offered_auth_methods)
        assert {k: ours[k] for k in SAME_AS_PARAMIKO} == {k: theirs[k] for k in SAME_AS_PARAMIKO}


def test_a_server_offering_many_algorithms_gets_the_same_choices_as_from_paramiko(servers):
    ours, theirs = _ask(servers["defaults"]), _ask(servers["defaults"], offered_auth_methods)
    assert {k: ours[k] for k in SAME_AS_PARAMIKO} == {k: theirs[k] for k in SAME_AS_PARAMIKO}
    assert ours["algorithms"]["kex"] == "curve25519-sha256"
    assert ours["algorithms"]["cipher_out"] == "aes256-gcm@openssh.com"


def test_the_wire_facts_come_with_the_answer(servers):
    server = servers["defaults"]
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        banner, kexinit, _ = started = _start(sock, 5)
        # When the banner and KEXINIT were already read, Then the probe goes on from there
        answer = ask_auth_methods(sock, USER, 5, started=started)
    assert answer["banner"] == banner and banner.startswith("SSH-2.0-OpenSSH_")
    assert base64.b64decode(answer["kexinit_base64"]) == kexinit
    assert answer["methods"] == ["publickey"] and answer["host_key_algorithm"] == "ssh-ed25519"


@pytest.mark.parametrize(("algorithm", "key_type"), [("rsa-sha2-256", "ssh-rsa"), ("ssh-ed25519", "ssh-ed25519")])
def test_the_host_key_algorithm_asked_for_is_used(servers, algorithm, key_type):
    answer = _ask(servers["defaults"], host_key_algorithm=algorithm)
    assert answer["host_key_algorithm"] == answer["algorithms"]["host_key"] == algorithm
    assert answer["host_key"].startswith(f"{key_type} SHA256:")


def test_a_host_key_algorithm_the_server_does_not_offer_is_unsupported(servers):
    with pytest.raises(Unsupported, match="no host-key algorithm"):
        _ask(servers["defaults"], host_key_algorithm="ecdsa-sha2-nistp256")


def test_passwords_and_keyboard_interactive_are_listed(servers):
    ours, theirs = _ask(servers["passwords"]), _ask(servers["passwords"], offered_auth_methods)
    assert ours["methods"] == theirs["methods"] == ["publickey", "password", "keyboard-interactive"]


def test_a_login_banner_is_skipped(servers):
    assert _ask(servers["banner"])["methods"] == _ask(servers["banner"], offered_auth_methods)["methods"] \
        == ["publickey"]


@pytest.mark.parametrize(("name", "missing"), [("umac-only", "no MAC"), ("sntrup-only", "no key exchange")])
def test_an_offer_it_cannot_drive_is_refused_before_our_kexinit(servers, name, missing):
    with socket.create_connection(("127.0.0.1", servers[name].port), timeout=5) as sock:
        started = _start(sock, 5)
        with pytest.raises(Unsupported, match=missing):
            ask_auth_methods(sock, USER, 5, started=started)
        # Then the server still waits for our KEXINIT: it neither answered nor hung up
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(1)
        if name == "umac-only":  # and a key exchange can still begin on this connection
            assert fetch_host_key(sock, 5, "ssh-ed25519", "curve25519-sha256", started)[4:15] == b"ssh-ed25519"


def test_no_paramiko_is_imported(servers):
    code = ("import json, socket, sys\n"
            "from auditor.transports._ssh_none import ask_auth_methods\n"
            "loaded = sorted(m for m in sys.modules if m.startswith(('cryptography', 'paramiko')))\n"
            f"sock = socket.create_connection(('127.0.0.1', {servers['defaults'].port}))\n"
            f"methods = ask_auth_methods(sock, 'someone', 5)['methods']\n"
            "print(json.dumps([loaded, methods, 'paramiko' in sys.modules,"
            " 'cryptography.hazmat.primitives.poly1305' in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False,
                          cwd=ROOT, env=child_env())
    # Then nothing is loaded by the import, and the probe loads no paramiko, nor cryptography it did not use
    # (AES-GCM is agreed with this server, so Poly1305, which only chacha20-poly1305 uses, stays unloaded)
    assert json.loads(done.stdout) == [[], ["publickey"], False, False], done.stderr


# -- peers that misbehave ------------------------------------------------------------------------------------

RECORDED = json.loads((ROOT / "tests" / "fixtures" / "outputs" / "ssh" / "debian12-kexinit-hardened.json")
                      .read_text())
HELLO = RECORDED["banner"].encode() + b"\r\n" + _frame(base64.b64decode(RECORDED["kexinit_base64"]))
REASON = b"too many sessions"
DISCONNECT = _frame(bytes([1]) + struct.pack(">II", 2, len(REASON)) + REASON + struct.pack(">I", 0))


@contextlib.contextmanager
def _peer(behave: Callable[[socket.socket], None]) -> Iterator[int]:
    """A listener whose first connection is served by `behave`; its port."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                behave(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(5)


def _stall(conn: socket.socket) -> None:
    conn.settimeout(5)
    with contextlib.suppress(OSError):
        while conn.recv(65536):  # until the client hangs up
            pass


def _read_ours(conn: socket.socket) -> None:
    """Our banner, KEXINIT and first key-exchange message: all read, so that closing sends no reset."""
    data = b""
    while (end := _after(data, 2)) is None or len(data) < end:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk


def _answer_http(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    conn.recv(65536)


def _hang_up_mid_exchange(conn: socket.socket) -> None:
    conn.sendall(HELLO)
    _read_ours(conn)


def _disconnect(conn: socket.socket) -> None:
    _hang_up_mid_exchange(conn)
    conn.sendall(DISCONNECT)
    _stall(conn)


def _silent_after_kexinit(conn: socket.socket) -> None:
    conn.sendall(HELLO)
    _stall(conn)


@pytest.mark.parametrize(("behave", "said"), [
    (_answer_http, "answered HTTP, not SSH"),
    (_hang_up_mid_exchange, "closed the connection"),
    (_disconnect, "disconnected during the authentication probe: too many sessions"),
])
def test_a_peer_that_is_not_an_ssh_server_to_the_end_raises_probe_error(behave, said):
    with _peer(behave) as port, socket.create_connection(("127.0.0.1", port)) as sock, \
            pytest.raises(ProbeError, match=said):
        ask_auth_methods(sock, USER, 5)


@pytest.mark.parametrize("behave", [_stall, _silent_after_kexinit])
def test_a_silent_peer_times_out_on_time(behave):
    with _peer(behave) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        began = time.monotonic()
        with pytest.raises(ProbeError, match="timed out"):
            ask_auth_methods(sock, USER, 0.3)
        assert 0.25 < time.monotonic() - began < 1.0


def _after(data: bytes, packets: int) -> int | None:
    """Where the identification line and the unencrypted `packets` after it end; None before their lengths came."""
    offset = data.find(b"\n") + 1
    for _ in range(packets):
        if not offset or len(data) < offset + 4:
            return None
        offset += 4 + int.from_bytes(data[offset:offset + 4], "big")
    return offset


def _flip_one_encrypted_byte(server: socket.socket, client: socket.socket) -> None:
    data, sent, flipped = bytearray(), 0, False
    with contextlib.suppress(OSError):
        while chunk := server.recv(65536):
            data += chunk
            start = _after(bytes(data), 3)  # the server's KEXINIT, key-exchange reply and NEWKEYS
            if start is not None and not flipped and len(data) > start + 10:
                data[start + 10] ^= 1  # inside the first encrypted packet, past its length
                flipped = True
            upto = len(data) if flipped or start is None else min(len(data), start + 10)
            client.sendall(data[sent:upto])
            sent = upto


@pytest.mark.parametrize("name", ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "hmac-sha2-256",
                                  "hmac-sha2-256-etm@openssh.com"])
def test_a_packet_altered_on_the_way_fails_its_integrity_check(servers, name):
    def relay(conn: socket.socket) -> None:
        with socket.create_connection(("127.0.0.1", servers[name].port)) as upstream:
            def forward() -> None:
                with contextlib.suppress(OSError):
                    while chunk := conn.recv(65536):
                        upstream.sendall(chunk)
                    upstream.shutdown(socket.SHUT_WR)  # the server hangs up in turn, which ends the relay
            threading.Thread(target=forward, daemon=True).start()
            _flip_one_encrypted_byte(upstream, conn)

    with _peer(relay) as port, socket.create_connection(("127.0.0.1", port)) as sock, \
            pytest.raises(ProbeError, match="integrity check failed"):
        ask_auth_methods(sock, USER, 5)
