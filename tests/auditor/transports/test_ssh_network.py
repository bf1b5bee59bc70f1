"""What an SSH server shows the network, probed against real OpenSSH on 127.0.0.1: every host key (fetched per
key type from the key-exchange reply) and the authentication methods a "none" request is told."""

from __future__ import annotations

import base64
import json
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.bundle.evidence import EvidenceStore
from auditor.clock import FixedClock
from auditor.collectors.ssh_wire import parse_host_keys, parse_probe
from auditor.errors import ConnectError
from auditor.models import ErrorReason, Status, Target, TargetKind
from auditor.pipeline import load_checks
from auditor.profile import load_profile
from auditor.runner import ScanOptions, run_scan
from auditor.transports import open_transport, ssh_network
from auditor.transports._ssh_wire import _frame
from auditor.transports.base import cmd
from tests import sshd_server
from tests.sshd_server import SshdServer

client_key, ssh_root = sshd_server.client_key, sshd_server.ssh_root

pytestmark = pytest.mark.ssh

PROBES = ("auditor:ssh-kexinit", "auditor:ssh-hostkeys", "auditor:ssh-auth-methods")


@pytest.fixture(scope="module")
def three_keys_sshd(ssh_root: Path, client_key: Path) -> Iterator[SshdServer]:
    # Ed25519, RSA 2048 bits and DSA 1024 bits, offered as ssh-rsa and ssh-dss too; passwords offered
    server = SshdServer(ssh_root / "three-keys", "HostKeyAlgorithms ssh-ed25519,rsa-sha2-512,ssh-rsa,ssh-dss\n",
                        client_key, first="PasswordAuthentication yes\n",
                        host_keys=(("ed25519", 0), ("rsa", 2048), ("dsa", 1024))).start()
    yield server
    server.stop()


def _network(server: SshdServer, **options: object):
    return open_transport(Target("t", TargetKind.SSH, options={
        "host": "127.0.0.1", "port": server.port, "auth": "none", "ssh_config": "none", "user": "auditor",
        **options}))


def _host_keys(server: SshdServer) -> dict[str, tuple[tuple[str, ...], int]]:
    result = _network(server).run(cmd("auditor:ssh-hostkeys"))
    assert result.ok, result.stderr
    return {k.key_type: (k.offered_as, k.bits) for k in parse_host_keys(result.stdout)["host_keys"]}


def test_every_host_key_type_is_fetched_with_its_size(three_keys_sshd):
    # When the host keys are probed without logging in, Then each key comes once, with the algorithms it backs
    assert _host_keys(three_keys_sshd) == {"ssh-ed25519": (("ssh-ed25519",), 256),
                                           "ssh-rsa": (("rsa-sha2-512", "ssh-rsa"), 2048),
                                           "ssh-dss": (("ssh-dss",), 1024)}


def test_the_fetched_keys_are_the_servers_own(three_keys_sshd):
    result = json.loads(_network(three_keys_sshd).run(cmd("auditor:ssh-hostkeys")).stdout)
    on_disk = {Path(f"{key}.pub").read_text().split()[1] for key in three_keys_sshd.host_keys}
    assert {key["key_base64"] for key in result["keys"]} == on_disk


@pytest.mark.parametrize("kex", ["diffie-hellman-group1-sha1", "diffie-hellman-group-exchange-sha1",
                                 "diffie-hellman-group16-sha512", "ecdh-sha2-nistp521"])
def test_host_keys_are_read_whichever_key_exchange_the_server_allows(ssh_root, client_key, kex):
    server = SshdServer(ssh_root / f"kex-{kex}", f"KexAlgorithms {kex}\nHostKeyAlgorithms ssh-ed25519,ssh-rsa\n",
                        client_key).start()
    try:
        assert set(_host_keys(server)) == {"ssh-ed25519", "ssh-rsa"}
    finally:
        server.stop()


def test_a_none_request_reveals_that_passwords_are_offered(three_keys_sshd):
    result = _network(three_keys_sshd).run(cmd("auditor:ssh-auth-methods"))
    answer = json.loads(result.stdout)
    assert result.ok and answer["user"] == "auditor" and answer["none_accepted"] is False
    assert answer["methods"] == ["publickey", "password"]


def test_a_server_no_probe_can_talk_to_still_shows_its_offer_and_says_why_the_rest_failed(ssh_root, client_key):
    # Given a server that offers only sntrup761x25519 (no Python implementation exists to drive it)
    server = SshdServer(ssh_root / "sntrup", "KexAlgorithms sntrup761x25519-sha512@openssh.com\n", client_key).start()
    try:
        kexinit, keys, auth = _network(server).run_many([cmd(p) for p in PROBES])
    finally:
        server.stop()
    # Then its KEXINIT is read, and the other probes say plainly why they have no answer
    assert kexinit.ok and parse_probe(kexinit.stdout).kex[0] == "sntrup761x25519-sha512@openssh.com"
    assert keys.ok and "no key exchange this probe can drive" in json.loads(keys.stdout)["problem"]
    assert auth.exit_status == 1 and 'an SSH "none" request' in auth.stderr


def test_the_probes_of_a_logged_in_target_answer_the_same(three_keys_sshd, client_key):
    target = Target("t", TargetKind.SSH, options={
        "host": "127.0.0.1", "port": three_keys_sshd.port, "identity_file": str(client_key),
        "known_hosts": str(three_keys_sshd.known_hosts), "ssh_config": "none"})
    transport = open_transport(target)
    try:
        kexinit, keys, auth, ran = transport.run_many([*(cmd(p) for p in PROBES), cmd("echo", "hi")])
    finally:
        transport.close()
    assert kexinit.ok and ran.stdout == "hi\n" and "password" in json.loads(auth.stdout)["methods"]
    assert len(json.loads(keys.stdout)["keys"]) == 3


def _in_a_fresh_interpreter(server: SshdServer, then: str) -> tuple[Any, str]:
    """Run `then` in a new Python after opening a no-login transport to `server` (as `transport`); what it prints
    as JSON, and its stderr."""
    options = {"host": "127.0.0.1", "port": server.port, "auth": "none", "ssh_config": "none"}
    code = ("import json, sys\n"
            "from auditor.models import ErrorReason, Status, Target, TargetKind\n"
            "from auditor.transports import open_transport\n"
            "from auditor.transports.base import cmd\n"
            f"transport = open_transport(Target('t', TargetKind.SSH, options={options!r}))\n" + then)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False)
    return json.loads(done.stdout or "null"), done.stderr


def test_the_network_view_needs_no_paramiko(three_keys_sshd):
    # Given a fresh interpreter, When the banner, KEXINIT, host keys and authentication methods are read
    printed, stderr = _in_a_fresh_interpreter(three_keys_sshd, (
        f"results = transport.run_many([cmd(p) for p in {PROBES!r}])\n"
        "print(json.dumps([[r.exit_status for r in results], 'paramiko' in sys.modules]))\n"))
    # Then all are answered and paramiko (~0.1 s to import) was never loaded
    assert printed == [[0, 0, 0], False], stderr


def test_banner_first_key_and_methods_share_one_connection(three_keys_sshd, monkeypatch):
    # Given a server with three host-key types, and a count of the connections the probes open
    transport = _network(three_keys_sshd)
    opened = []
    connect = transport._open_socket

    def counted(host, port, timeout):
        opened.append(port)
        return connect(host, port, timeout)

    monkeypatch.setattr(transport, "_open_socket", counted)
    # When the three network probes are asked together (as the ssh_wire and ssh_auth collectors ask them)
    kexinit, keys, auth = transport.run_many([cmd(p) for p in PROBES])
    # Then one connection brings the banner, the KEXINIT, the first key and the methods; each other key its own
    assert len(opened) == 3
    assert parse_probe(kexinit.stdout).banner.startswith("SSH-2.0-OpenSSH")
    on_disk = {Path(f"{key}.pub").read_text().split()[1] for key in three_keys_sshd.host_keys}
    assert {key["key_base64"] for key in json.loads(keys.stdout)["keys"]} == on_disk
    methods = json.loads(auth.stdout)
    assert methods["methods"] == ["publickey", "password"] and methods["host_key"].startswith("ssh-ed25519 SHA256:")
    # and the key the "none" request's key exchange brought is the one listed first
    first = json.loads(keys.stdout)["keys"][0]
    assert first["offered_as"] == ["ssh-ed25519"] and first["kex"] == methods["algorithms"]["kex"]


def test_without_the_methods_the_first_key_still_shares_the_kexinit_connection_and_needs_no_cryptography(
        three_keys_sshd):
    # Given a fresh interpreter, counting connections, When only the banner, the KEXINIT and the host keys are
    # asked (SSH-0100 alone)
    printed, stderr = _in_a_fresh_interpreter(three_keys_sshd, (
        "opened, connect = [], transport._open_socket\n"
        "transport._open_socket = lambda *a: opened.append(a) or connect(*a)\n"
        f"kexinit, keys = transport.run_many([cmd(p) for p in {PROBES[:2]!r}])\n"
        "print(json.dumps([kexinit.exit_status, json.loads(keys.stdout)['keys'], len(opened),\n"
        "                  sorted(m for m in sys.modules if m.split('.')[0] in ('cryptography', 'paramiko'))]))\n"))
    status, keys, opened, imported = printed
    # Then one connection per key type (the first also brought the KEXINIT), every key is the server's own,
    # and neither cryptography nor paramiko was loaded: the probe reads the key from the server's reply
    assert status == 0 and opened == 3, stderr
    on_disk = {Path(f"{key}.pub").read_text().split()[1] for key in three_keys_sshd.host_keys}
    assert {key["key_base64"] for key in keys} == on_disk
    assert imported == []


def test_a_server_that_hangs_up_instead_of_replying_is_named_per_key():
    # Given a listener that sends a real banner and KEXINIT, then a DISCONNECT instead of its key-exchange reply
    recorded = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "ssh"
                           / "debian12-kexinit-hardened.json").read_text())
    kexinit = base64.b64decode(recorded["kexinit_base64"])
    reason = b"no more sessions"
    disconnect = bytes([1]) + struct.pack(">I", 2) + struct.pack(">I", len(reason)) + reason + struct.pack(">I", 0)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        for _ in range(2):
            try:
                conn, _ = listener.accept()
            except OSError:  # the test closed the listener: the client asked for fewer connections
                return
            with conn:
                try:
                    conn.sendall(recorded["banner"].encode() + b"\r\n" + _frame(kexinit))
                    conn.recv(65536)
                    conn.sendall(_frame(disconnect))
                except OSError:  # the client may hang up first; that is its right, not the test's failure
                    pass

    threading.Thread(target=serve, daemon=True).start()
    try:
        target = Target("t", TargetKind.SSH, options={"host": "127.0.0.1", "port": listener.getsockname()[1],
                                                      "auth": "none", "ssh_config": "none"})
        result = open_transport(target).run(cmd("auditor:ssh-hostkeys"))
    finally:
        listener.close()
    # Then the probe answers, and the key carries the server's own words
    (key,) = parse_host_keys(result.stdout)["host_keys"]
    assert result.ok and key.problem and "disconnect: no more sessions" in key.problem


def test_a_port_that_sends_no_banner_is_waited_for_once_per_scan(tmp_path):
    # Given a port that accepts TCP connections and never sends a byte, scanned as an SSH target with a login
    # (which fails), after which the network checks (SSH-0100, SSH-0110) still try that port
    silent = socket.create_server(("127.0.0.1", 0), backlog=16)
    target = Target("quiet", TargetKind.SSH, options={"host": "127.0.0.1", "port": silent.getsockname()[1],
                                                       "ssh_config": "none", "banner_timeout": 2, "connect_timeout": 2})
    profile = load_profile()
    started = time.monotonic()
    try:
        result = run_scan("run-1", [target], load_checks(profile), profile, EvidenceStore(tmp_path / "run"),
                          ScanOptions(), clock=FixedClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC)))
    finally:
        silent.close()
    took = time.monotonic() - started
    # Then the scan waits for the banner once: the probes reuse what the login found, instead of waiting again
    # (the login's 2 s, then 2 s more to ask what the port is, then 4 s for the probes: 8 s)
    assert took < 3, took
    # And the target still says what happened
    (scanned,) = result.targets
    assert scanned.connection_error.endswith(f"127.0.0.1:{target.options['port']} accepted TCP but sent no SSH "
                                             "banner within 2 s")


def test_a_refused_port_is_not_asked_again_by_the_same_target():
    # Given a port that refused a target's connection
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    with pytest.raises(ssh_network.NoTcpConnection, match="connection refused by"):
        ssh_network.tcp_connect("refused", "127.0.0.1", port, 1)
    # When the port listens now, Then that target's next connection (its network probes, just after its login)
    # is refused at once with what was found, while another target connects
    with socket.create_server(("127.0.0.1", port)):
        with pytest.raises(ssh_network.NoTcpConnection,
                           match=r"connection refused by 127\.0\.0\.1:\d+ .*not tried again"):
            ssh_network.tcp_connect("refused", "127.0.0.1", port, 1)
        ssh_network.tcp_connect("other", "127.0.0.1", port, 1).close()


def test_an_ipv6_address_is_named_in_brackets_when_probing_fails():
    # Given an SSH target on ::1 whose port is closed
    with socket.socket(socket.AF_INET6) as placeholder:
        placeholder.bind(("::1", 0))
        port = placeholder.getsockname()[1]
    target = Target("v6", TargetKind.SSH, options={"host": "::1", "port": port, "auth": "none", "ssh_config": "none"})
    # Then the probe's failure names the address as [::1]:port (a connection error: no SSH server answers there)
    with pytest.raises(ConnectError, match=re.escape(f"connection refused by [::1]:{port}")):
        open_transport(target).run(cmd("auditor:ssh-kexinit"))


def _scan_network_only(tmp_path: Path, port: int, name: str):
    target = Target(name, TargetKind.SSH, options={"host": "127.0.0.1", "port": port, "auth": "none",
                                                   "ssh_config": "none", "banner_timeout": 2, "connect_timeout": 2})
    profile = load_profile()
    return run_scan("run-1", [target], load_checks(profile), profile, EvidenceStore(tmp_path / "run"),
                    ScanOptions(), clock=FixedClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC)))


def test_an_auth_none_target_whose_port_is_closed_is_not_assessed_like_a_login_target(tmp_path):
    # Given an `auth: none` SSH target (network checks only) whose port refuses connections
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    # When it is scanned
    (scanned,) = _scan_network_only(tmp_path, port, "closed").targets
    # Then it is one connection error without findings, as a target scanned with a login is (docs/targets.md),
    # not "assessed" with SSH-0100/SSH-0110 errors that repeat the target's name inside their message
    assert scanned.connection_error == f"closed: connection refused by 127.0.0.1:{port} (is sshd listening?)"
    assert scanned.error_reason is ErrorReason.UNREACHABLE
    assert [f for f in scanned.findings if f.status is not Status.SKIPPED] == []  # skipped: only auth: none's


def test_an_auth_none_target_whose_port_answers_http_is_not_assessed_and_says_what_answered(tmp_path):
    # Given an `auth: none` SSH target whose port is a web server (HTTP/0.9-style error page, as http.server sends)
    listener = socket.create_server(("127.0.0.1", 0), backlog=16)
    port = listener.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # the test closed the listener
                return
            with conn:
                conn.recv(256)
                conn.sendall(b"<!DOCTYPE HTML>\n<html><head><title>Error response</title></head></html>\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        (scanned,) = _scan_network_only(tmp_path, port, "web").targets
    finally:
        listener.close()
    # Then the target is not assessed, and its one line names what the port sent
    assert scanned.error_reason is ErrorReason.UNREACHABLE
    assert [f for f in scanned.findings if f.status is not Status.SKIPPED] == []
    assert scanned.connection_error.startswith(f"web: 127.0.0.1:{port} answered with a web "
                                               "page, not SSH: '<!DOCTYPE HTML>")


# A scan of one SSH target whose port drops every packet, run in a network namespace of its own: there 192.0.2.0/24
# (TEST-NET-1) is routed into the loopback device, which delivers to no socket and answers nothing, as a firewall's
# DROP does (no RST, no ICMP). Prints how long the target took and what it became.
_DEAD_HOST_SCAN = """\
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path
from auditor.bundle.evidence import EvidenceStore
from auditor.clock import FixedClock
from auditor.models import Target, TargetKind
from auditor.pipeline import load_checks
from auditor.profile import load_profile
from auditor.runner import ScanOptions, run_scan
import auditor.transports.ssh  # paramiko, imported before the clock starts
target = Target("dead", TargetKind.SSH, options={"host": "192.0.2.1", "port": 22, "ssh_config": "none",
                                                 "connect_timeout": 1, "banner_timeout": 1})
profile = load_profile()
checks = load_checks(profile)
started = time.monotonic()
result = run_scan("run-1", [target], checks, profile, EvidenceStore(Path(sys.argv[1])), ScanOptions(),
                  clock=FixedClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC)))
took = time.monotonic() - started
(scanned,) = result.targets
print(json.dumps({"took": took, "error": scanned.connection_error, "reason": scanned.error_reason,
                  "findings": [[f.check_id, f.status, f.message] for f in scanned.findings if f.status != "skipped"]}))
"""


def test_a_port_that_drops_packets_costs_one_connect_timeout_not_two(tmp_path):
    # Given an SSH target (with a login) whose port drops every packet, in a network namespace this test creates
    sshd_server.require_root("a network namespace with a dropping route")
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.fail("this test needs `unshare` (util-linux) and `ip` (iproute2)")
    setup = "ip link set lo up && ip route add 192.0.2.0/24 dev lo && exec \"$0\" -c \"$1\" \"$2\""
    # When it is scanned with connect_timeout 1 s
    done = subprocess.run(["unshare", "--net", "sh", "-c", setup, sys.executable, _DEAD_HOST_SCAN,
                           str(tmp_path / "run")], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    scanned = json.loads(done.stdout)
    # Then the login's connect timeout is the only wait: the network checks (SSH-0100), which could only time out
    # the same way, are not tried again (that was 2 s: a dead host cost two timeouts)
    assert 0.9 < scanned["took"] < 1.8, scanned["took"]
    # And the target says what it always said: one connection error, no findings
    assert scanned["error"] == "dead: no TCP connection to 192.0.2.1:22 within 1 s"
    assert scanned["reason"] == ErrorReason.UNREACHABLE and scanned["findings"] == []
