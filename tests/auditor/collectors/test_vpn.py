"""vpn collector: client programs, config files (directives read by a real grep over recorded configs),
NetworkManager profiles and running daemons become facts; private keys are never read."""

from __future__ import annotations

import subprocess

from auditor.collectors.vpn import (
    FIND_CONFIGS,
    GREP_PATTERN,
    NMCLI,
    OPENVPN,
    PROCESSES,
    WG,
    collect,
    parse_nmcli,
    parse_openvpn_version,
)
from auditor.models import Platform, SystemFacts
from auditor.transports.base import CommandResult, cmd
from tests.auditor.fake_host import FakeHost
from tests.conftest import FIXTURES

OUTPUTS = FIXTURES / "outputs" / "network"
LINUX = SystemFacts(Platform.LINUX)
# Where each recorded config sits on the scanned host.
INSTALLED = {
    "/etc/openvpn/client/office.conf": "openvpn-client-aes256gcm.conf",
    "/etc/openvpn/client/legacy.conf": "openvpn-client-aes128cbc.conf",
    "/etc/swanctl/conf.d/home.conf": "swanctl-aes128.conf",
}
OPENVPN_VERSION = "OpenVPN 2.6.3 x86_64-pc-linux-gnu [SSL (OpenSSL)] [LZO] [LZ4] [EPOLL] [PKCS11] [MH/PKTINFO] [AEAD]"


def result(command, status=0, stdout="", stderr=""):
    return str(command), CommandResult(str(command), status, stdout, stderr)


def grep_output(paths: list[str]) -> str:
    """Run the collector's own grep over the recorded files, then print the host paths as grep would."""
    files = [str(OUTPUTS / INSTALLED[p]) for p in paths]
    out = subprocess.run(["grep", "-H", "-i", "-E", GREP_PATTERN, "--", *files], capture_output=True, text=True,
                         check=False).stdout
    for path in paths:
        out = out.replace(str(OUTPUTS / INSTALLED[path]) + ":", path + ":")
    return out


def host_with_configs(extra=()) -> FakeHost:
    paths = [*INSTALLED, "/etc/wireguard/wg0.conf", "/etc/strongswan/strongswan.conf"]
    readable = [p for p in paths if not p.startswith(("/etc/wireguard", "/etc/strongswan"))]
    grep = cmd("grep", "-H", "-i", "-E", GREP_PATTERN, "--", *readable, sudo=True)
    return FakeHost(dict([
        result(WG, 0, "wireguard-tools v1.0.20210914 - https://git.zx2c4.com/wireguard-tools/\n"),
        result(OPENVPN, 1, OPENVPN_VERSION + "\nlibrary versions: OpenSSL 3.0.11 19 Sep 2023, LZO 2.10\n"),
        result(FIND_CONFIGS, 1, "\n".join(paths) + "\n", "find: '/etc/ipsec.d': No such file or directory\n"),
        result(grep, 0, grep_output(readable)),
        result(NMCLI, 0, (OUTPUTS / "nmcli-connection-show.txt").read_text()),
        result(PROCESSES, 0, "systemd\nsshd\nopenvpn\nbash\n"),
        *extra,
    ]))


def test_configs_networkmanager_and_processes():
    host = host_with_configs()
    facts = collect(host, LINUX)
    assert facts.installed == {"wg": "wireguard-tools v1.0.20210914 - https://git.zx2c4.com/wireguard-tools/",
                               "openvpn": OPENVPN_VERSION}
    assert facts.openvpn_version == "2.6.3"
    profiles = {p.name: p for p in facts.profiles}
    assert profiles["/etc/openvpn/client/office.conf"].settings == {"data-ciphers": "AES-256-GCM"}
    assert profiles["/etc/openvpn/client/legacy.conf"].settings == {"cipher": "AES-128-CBC"}
    assert profiles["/etc/swanctl/conf.d/home.conf"].settings == {"esp_proposals": "aes128-sha256-x25519",
                                                                 "proposals": "aes128-sha256-x25519"}
    assert all(p.client for p in facts.profiles)
    # WireGuard configs are listed, never read (they hold the private key); strongswan.conf is no connection
    assert profiles["/etc/wireguard/wg0.conf"].kind == "wireguard"
    assert "/etc/strongswan/strongswan.conf" not in profiles
    assert not any("wireguard" in call for call in host.calls if call.startswith("grep"))
    # NetworkManager: the active OpenVPN-plugin profile and an inactive WireGuard one; Wi-Fi is no VPN
    assert (profiles["office-vpn"].kind, profiles["office-vpn"].active) == ("vpn", True)
    assert (profiles["wg-home"].kind, profiles["wg-home"].active) == ("wireguard", False)
    assert facts.processes == {"openvpn": "openvpn"}
    assert facts.unavailable == {}


def test_without_root_wireguard_dir_is_reported():
    denied = result(FIND_CONFIGS, 1, "", "find: '/etc/wireguard': Permission denied\n"
                                         "find: '/etc/swanctl': No such file or directory\n")
    facts = collect(FakeHost(dict([denied])), LINUX)
    assert facts.profiles == () and facts.installed == {}
    assert facts.unavailable == {"/etc/wireguard": "needs root (permission denied)"}


def test_no_vpn_at_all():
    facts = collect(FakeHost({}), LINUX)
    assert (facts.installed, facts.profiles, facts.processes, facts.unavailable) == ({}, (), {}, {})


def test_openvpn_server_config_is_not_a_client():
    paths = ["/etc/openvpn/server/server.conf"]
    grep = cmd("grep", "-H", "-i", "-E", GREP_PATTERN, "--", *paths, sudo=True)
    host = FakeHost(dict([result(FIND_CONFIGS, 0, paths[0] + "\n"),
                          result(grep, 0, "/etc/openvpn/server/server.conf:data-ciphers AES-256-GCM\n")]))
    (profile,) = collect(host, LINUX).profiles
    assert not profile.client and profile.settings == {"data-ciphers": "AES-256-GCM"}


def test_nmcli_escaped_colon_and_versions():
    (profile,) = parse_nmcli("Office\\: Copenhagen:vpn:tun0:activated\n")
    assert profile.name == "Office: Copenhagen" and profile.active
    assert parse_openvpn_version("OpenVPN 2.5.1 x86_64-pc-linux-gnu [SSL (OpenSSL)]") == "2.5.1"
    assert parse_openvpn_version("") == ""
