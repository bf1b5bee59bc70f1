"""listeners collector: recorded `ss -H -tulpn` outputs become listeners; and, on this machine, ss agrees
with psutil's independent reading of the kernel's socket tables."""

from __future__ import annotations

import ipaddress
import socket

import psutil
import pytest

from auditor.collectors.listeners import SS, Listener, collect, parse_local_address, parse_ss
from auditor.models import Platform, SystemFacts
from auditor.transports.base import CommandResult
from auditor.transports.local import LocalTransport
from tests.auditor.fake_host import FakeHost
from tests.conftest import FIXTURES

OUTPUTS = FIXTURES / "outputs" / "network"
LINUX = SystemFacts(Platform.LINUX)


def answering(stdout: str, status: int = 0, stderr: str = "") -> FakeHost:
    return FakeHost({str(SS): CommandResult(str(SS), status, stdout, stderr)})


@pytest.mark.parametrize(("text", "expected"), [
    ("0.0.0.0:22", ("0.0.0.0", "", 22)),
    ("[::]:22", ("::", "", 22)),
    ("*:9090", ("*", "", 9090)),
    ("127.0.0.53%lo:53", ("127.0.0.53", "lo", 53)),
    ("[::ffff:127.0.0.1]:8631", ("::ffff:127.0.0.1", "", 8631)),
    ("[fe80::1]%eth0:546", ("fe80::1", "eth0", 546)),
    ("0.0.0.0:*", None),
])
def test_local_address_forms(text, expected):
    assert parse_local_address(text) == expected


def test_desktop_recorded_as_root():
    facts = collect(answering((OUTPUTS / "debian12-ss-desktop-root.txt").read_text()), LINUX)
    assert len(facts.listeners) == 16 and not facts.process_names_hidden
    exposed = {str(item) for item in facts.exposed()}
    assert exposed == {
        "5353/udp on 0.0.0.0 (avahi-daemon)", "5353/udp on [::] (avahi-daemon)", "22/tcp on 0.0.0.0 (sshd)",
        "80/tcp on 0.0.0.0 (nginx)", "443/tcp on 0.0.0.0 (nginx)", "22/tcp on [::] (sshd)", "80/tcp on [::] (nginx)",
        "443/tcp on [::] (nginx)", "9090/tcp on * (systemd)",
    }
    # systemd-resolved's stub (bound to lo), 127.0.0.54, cupsd on 127.0.0.1, ::1 and IPv4-mapped loopback
    loopback = {str(item) for item in facts.listeners if item.loopback}
    assert "53/udp on 127.0.0.53%lo (systemd-resolve)" in loopback
    assert "8631/tcp on [::ffff:127.0.0.1] (cupsd)" in loopback and "631/tcp on [::1] (cupsd)" in loopback
    assert len(loopback) == 7


def test_without_root_process_names_are_hidden():
    facts = collect(answering((OUTPUTS / "debian12-ss-desktop-nonroot.txt").read_text()), LINUX)
    assert len(facts.listeners) == 16 and facts.process_names_hidden
    assert all(item.processes == () for item in facts.listeners)


def test_a_socket_shared_by_several_processes():
    # From `sudo ss -tulpn` on Ubuntu 24.04 (simplified.guide, "check active network connections"): sshd's
    # socket inherited from systemd's socket activation.
    line = 'tcp LISTEN 0 4096 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=2952,fd=3),("systemd",pid=1,fd=129))'
    assert parse_ss(line) == (Listener("tcp", "0.0.0.0", 22, "", ("sshd", "systemd")),)


def test_header_line_is_skipped_and_missing_ss_is_reported():
    assert parse_ss("Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n") == ()
    facts = collect(answering("", 127, "ss: command not found"), LINUX)
    assert not facts.read and facts.unavailable == {"ss": "`ss` is not installed"}


def _ss_key(item: Listener) -> tuple[str, str, int]:
    address = "::" if item.address == "*" else item.address
    return item.protocol, str(ipaddress.ip_address(address)), item.port


def _psutil_listening() -> set[tuple[str, str, int]]:
    found = set()
    for conn in psutil.net_connections(kind="inet"):
        if conn.type == socket.SOCK_STREAM and conn.status == psutil.CONN_LISTEN:
            found.add(("tcp", str(ipaddress.ip_address(conn.laddr.ip.split("%")[0])), conn.laddr.port))
        elif conn.type == socket.SOCK_DGRAM and not conn.raddr and conn.laddr:
            found.add(("udp", str(ipaddress.ip_address(conn.laddr.ip.split("%")[0])), conn.laddr.port))
    return found


def test_this_machine_agrees_with_psutil():
    # Given psutil's reading of the socket tables before and after ss runs (sockets may come and go meanwhile)
    before = _psutil_listening()
    facts = collect(LocalTransport(), SystemFacts(Platform.LINUX))
    after = _psutil_listening()
    # Then ss was read, and every socket it saw was seen by psutil, and every stable socket was seen by ss
    assert facts.read, facts.unavailable
    seen = {_ss_key(item) for item in facts.listeners}
    assert seen <= before | after
    assert before & after <= seen


def test_ubuntu2404_ss_with_link_local_scope_resolved_stub_and_socket_activated_sshd():
    # Given ss (iproute2 6.1) on Ubuntu 24.04: resolved's two stubs, a DHCPv6 client on a link-local address with
    # its interface after the bracket, and sshd socket-activated (systemd holds the socket too)
    listeners = parse_ss((OUTPUTS / "ubuntu2404-ss-tulpn-root.txt").read_text())
    by = {(item.protocol, item.address, item.port): item for item in listeners}
    # Then the link-local address and its interface are apart, and only avahi and sshd are exposed
    dhcp = by[("udp", "fe80::5054:ff:fe12:3456", 546)]
    assert dhcp.interface == "enp1s0" and dhcp.processes == ("systemd-network",)
    assert by[("tcp", "*", 22)].processes == ("sshd", "systemd")
    assert by[("udp", "127.0.0.54", 53)].loopback
    assert {(i.protocol, i.port) for i in listeners if not i.loopback} == {("udp", 546), ("udp", 5353), ("tcp", 22)}
