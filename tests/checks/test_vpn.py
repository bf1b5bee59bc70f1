"""VPN-0010, VPN-0020 and VPN-0030 on facts built in code: table-driven, Given/When/Then."""

from __future__ import annotations

import pytest

from auditor.collectors.network import Address, Interface, NetworkFacts, Route, Rule
from auditor.collectors.vpn import VpnFacts, VpnProfile
from auditor.models import Location, Role, Status, Target, TargetKind
from checks.vpn import vpn_cipher_strength, vpn_client_configured, vpn_tunnel_up

LAPTOP = Target("laptop", TargetKind.LOCAL, role=Role.WORKSTATION, location=Location.HOME)
OFFICE = Target("desk", TargetKind.LOCAL, role=Role.WORKSTATION, location=Location.OFFICE)
SERVER = Target("db-1", TargetKind.SSH, role=Role.SERVER)
UP = ("POINTOPOINT", "NOARP", "UP", "LOWER_UP")
ETH0 = Interface("eth0", "", "ether", ("BROADCAST", "MULTICAST", "UP", "LOWER_UP"), "UP",
                 (Address("inet", "192.168.1.23", 24),))
WG0 = Interface("wg0", "wireguard", "none", UP, "UNKNOWN", (Address("inet", "10.8.0.2", 32),))
TUN0 = Interface("tun0", "tun", "none", UP, "UNKNOWN", (Address("inet", "10.9.0.6", 24),))
WG_DOWN = Interface("wg0", "wireguard", "none", ("POINTOPOINT", "NOARP"), "DOWN", ())
HOME_DEFAULT = Route("default", "eth0", gateway="192.168.1.1", metric=100)
MAIN_RULES = (Rule(0, "local"), Rule(32766, "main"), Rule(32767, "default"))
WG_QUICK_RULES = (Rule(0, "local"), Rule(32764, "main", suppress_prefixlength=0),
                  Rule(32765, "51820", "0xca6c", True), Rule(32766, "main"), Rule(32767, "default"))
OVPN = VpnProfile("openvpn", "/etc/openvpn/client/office.conf", settings={"data-ciphers": "AES-256-GCM"})


@pytest.mark.parametrize(
    ("network", "vpn", "status", "words"),
    [
        (NetworkFacts((ETH0, WG0), (Route("default", "wg0", table="51820"), HOME_DEFAULT), WG_QUICK_RULES),
         VpnFacts(), Status.PASS, "policy routing (rule 32765: not fwmark 0xca6c lookup 51820)"),
        (NetworkFacts((ETH0, TUN0), (Route("0.0.0.0/1", "tun0"), Route("128.0.0.0/1", "tun0"), HOME_DEFAULT),
                      MAIN_RULES), VpnFacts(), Status.PASS, "routes 0.0.0.0/1 and 128.0.0.0/1"),
        (NetworkFacts((ETH0, TUN0), (Route("default", "tun0", metric=50), HOME_DEFAULT), MAIN_RULES), VpnFacts(),
         Status.PASS, "the default route goes through tun0"),
        (NetworkFacts((ETH0, TUN0), (Route("10.0.0.0/8", "tun0"), HOME_DEFAULT), MAIN_RULES), VpnFacts(),
         Status.FAIL, "default route goes via eth0"),
        (NetworkFacts((ETH0, WG_DOWN), (HOME_DEFAULT,), MAIN_RULES), VpnFacts(), Status.FAIL, "No VPN tunnel is up"),
        (NetworkFacts((ETH0,), (HOME_DEFAULT,), MAIN_RULES),
         VpnFacts(profiles=(VpnProfile("vpn", "office-vpn", "networkmanager", True, True),)), Status.FAIL,
         "office-vpn is up but the default route goes via eth0"),
    ],
)
def test_vpn_tunnel_up_at_home(network, vpn, status, words):
    # Given a home workstation's interfaces, routes and rules, When VPN-0020 evaluates them
    verdict = vpn_tunnel_up(network, vpn, LAPTOP)
    # Then a tunnel must be up and carry the default route
    assert verdict.status is status
    assert words in verdict.message


def test_vpn_tunnel_not_required_in_the_office():
    verdict = vpn_tunnel_up(NetworkFacts(), VpnFacts(), OFFICE)
    assert verdict.status is Status.NOT_APPLICABLE and "location is office" in verdict.message


@pytest.mark.parametrize(
    ("vpn", "network", "target", "status", "words"),
    [
        (VpnFacts({"openvpn": "OpenVPN 2.6.3"}, (OVPN,)), NetworkFacts(), LAPTOP, Status.PASS,
         "openvpn /etc/openvpn/client/office.conf"),
        (VpnFacts(), NetworkFacts((WG0,)), LAPTOP, Status.PASS, "WireGuard interface wg0"),
        (VpnFacts(profiles=(VpnProfile("vpn", "office-vpn", "networkmanager", True, False),)), NetworkFacts(),
         LAPTOP, Status.PASS, "office-vpn (NetworkManager)"),
        (VpnFacts({"wg": "wireguard-tools v1.0.20210914"}, unavailable={"/etc/wireguard": "needs root"}),
         NetworkFacts(), LAPTOP, Status.FAIL, "wg installed); could not read /etc/wireguard: needs root"),
        (VpnFacts(profiles=(VpnProfile("openvpn", "/etc/openvpn/server/server.conf", client=False),)),
         NetworkFacts(), LAPTOP, Status.FAIL, "no VPN client program installed"),
        (VpnFacts(), NetworkFacts(), SERVER, Status.NOT_APPLICABLE, "not required for role server"),
    ],
)
def test_vpn_client_configured(vpn, network, target, status, words):
    # Given VPN facts and the default vpn_required_for, When VPN-0010 evaluates them
    verdict = vpn_client_configured(vpn, network, ["workstation"], target)
    # Then a client profile, a WireGuard interface or a running client counts
    assert verdict.status is status
    assert words in verdict.message


def openvpn(settings, version="2.6.3"):
    return VpnFacts({"openvpn": f"OpenVPN {version}"}, (VpnProfile("openvpn", "client.conf", settings=settings),),
                    openvpn_version=version)


SWAN = "/etc/swanctl/conf.d/home.conf"


@pytest.mark.parametrize(
    ("vpn", "chacha_ok", "status", "words"),
    [
        (openvpn({"data-ciphers": "AES-256-GCM"}), False, Status.PASS, "allows only AES-256-GCM"),
        (openvpn({"data-ciphers": "AES-256-GCM:AES-128-GCM"}), False, Status.FAIL, "AES-128-GCM is AES below 256"),
        (openvpn({"cipher": "AES-128-CBC"}), False, Status.FAIL, "AES-128-GCM, AES-128-CBC is AES below 256 bits"),
        (openvpn({"cipher": "AES-256-GCM"}), False, Status.FAIL,
         "OpenVPN 2.6.3's default data-ciphers AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305 applies, which ALLOWS"),
        (openvpn({}, "2.5.1"), True, Status.FAIL, "OpenVPN 2.5.1's default data-ciphers AES-256-GCM:AES-128-GCM"),
        (openvpn({"cipher": "BF-CBC"}, "2.3.10"), False, Status.FAIL, "BF-CBC is not AES"),
        (openvpn({"ncp-ciphers": "AES-256-GCM:CHACHA20-POLY1305"}), True, Status.PASS, "the controller accepts it"),
        (openvpn({"data-ciphers": "CHACHA20-POLY1305"}), False, Status.FAIL, "does not accept it"),
        (VpnFacts(profiles=(VpnProfile("ipsec", SWAN, settings={"proposals": "aes128-sha256-x25519",
                                                                  "esp_proposals": "aes128-sha256-x25519"}),)),
         False, Status.FAIL, "aes128 is AES below 256 bits"),
        (VpnFacts(profiles=(VpnProfile("ipsec", SWAN, settings={"proposals": "aes256-sha384-ecp384",
                                                                  "esp_proposals": "aes256gcm16-prfsha384-ecp384"}),)),
         False, Status.PASS, "allows only aes256, aes256gcm16"),
        (VpnFacts(profiles=(VpnProfile("ipsec", SWAN, settings={"proposals": "aes256-sha384-ecp384"}),)), False,
         Status.FAIL, "default proposals include AES-128"),
        (VpnFacts(profiles=(VpnProfile("ipsec", "/etc/ipsec.conf", settings={"ike": "aes256-sha2_256-modp2048!",
                                                                             "esp": "3des-sha1"}),)),
         False, Status.FAIL, "3des is not AES"),
        (VpnFacts(profiles=(VpnProfile("wireguard", "/etc/wireguard/wg0.conf"),)), True, Status.PASS,
         "ChaCha20-Poly1305 (256-bit key): equivalent strength, not AES; the controller accepts it"),
        (VpnFacts(profiles=(VpnProfile("wireguard", "/etc/wireguard/wg0.conf"),)), False, Status.FAIL,
         "chacha20_counts_as_aes256 is false"),
        (VpnFacts(profiles=(VpnProfile("vpn", "office-vpn", "networkmanager"),)), False, Status.WARN,
         "cannot be read"),
    ],
)
def test_vpn_cipher_strength(vpn, chacha_ok, status, words):
    # Given one VPN client profile, When VPN-0030 evaluates it with min_aes_bits=256
    (verdict,) = vpn_cipher_strength(vpn, 256, chacha_ok)
    # Then only AES-256 (or accepted ChaCha20) passes, and defaults that allow AES-128 fail
    assert verdict.status is status, verdict.message
    assert words in verdict.message
    assert verdict.resource == vpn.profiles[0].name


def test_vpn_cipher_min_bits_128_accepts_aes128_and_no_client_is_not_applicable():
    (verdict,) = vpn_cipher_strength(openvpn({"data-ciphers": "AES-128-GCM"}), 128, False)
    assert verdict.status is Status.PASS
    server = VpnFacts(profiles=(VpnProfile("openvpn", "/etc/openvpn/server/s.conf", client=False),))
    (verdict,) = vpn_cipher_strength(server, 256, False)
    assert verdict.status is Status.NOT_APPLICABLE
