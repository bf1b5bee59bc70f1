"""FW-0010, NET-0010 and NET-0020 on facts built in code: table-driven, Given/When/Then."""

from __future__ import annotations

import pytest

from auditor.collectors.firewall import BaseChain, FirewalldStatus, FirewallFacts, UfwStatus
from auditor.collectors.listeners import Listener, ListenerFacts
from auditor.models import Role, Status, Target, TargetKind
from checks.network import firewall_default_deny, listening_ports_approved, no_plaintext_admin

NFT_DROP = BaseChain("nftables", "inet", "filter", "input", "input", "drop", "", 7)
NFT_ACCEPT = BaseChain("nftables", "inet", "filter", "input", "input", "accept")
FIREWALLD = BaseChain("nftables", "inet", "firewalld", "filter_INPUT", "input", "accept", "reject", 6)
V4_ONLY = BaseChain("iptables-legacy", "ip", "filter", "INPUT", "input", "drop")
DOCKER_FORWARD = BaseChain("iptables-legacy", "ip", "filter", "FORWARD", "forward", "drop", "", 6)
DOCKER_INPUT = BaseChain("iptables-legacy", "ip", "filter", "INPUT", "input", "accept")
NOT_ROOT = {"nftables": "needs root (Operation not permitted (you must be root))"}


@pytest.mark.parametrize(
    ("facts", "status", "words"),
    [
        (FirewallFacts((NFT_DROP,), True), Status.PASS, "inet filter input"),
        (FirewallFacts((FIREWALLD,), True), Status.PASS, "dropped"),
        (FirewallFacts((), True, ufw=UfwStatus(True, "deny")), Status.PASS, "ufw is active with default deny"),
        (FirewallFacts((), False, firewalld=FirewalldStatus(True, "public", "default", ("ssh",))), Status.PASS,
         "except ssh"),
        (FirewallFacts((V4_ONLY,), True, True), Status.WARN, "IPv6 traffic reaches"),
        (FirewallFacts((NFT_ACCEPT,), True, ufw=UfwStatus(False)), Status.FAIL, "accepted by default"),
        (FirewallFacts((NFT_ACCEPT,), True, ufw=UfwStatus(False)), Status.FAIL, "ufw is inactive"),
        (FirewallFacts((DOCKER_INPUT, DOCKER_FORWARD), True, True), Status.FAIL, "(policy accept)"),
        (FirewallFacts((DOCKER_INPUT, DOCKER_FORWARD), True, True), Status.FAIL, "filter routed traffic only"),
        (FirewallFacts((DOCKER_FORWARD,), True, True), Status.FAIL, "Only forward chains filter"),
        (FirewallFacts((), True), Status.FAIL, "No firewall rules are loaded"),
        (FirewallFacts((), True, firewalld=FirewalldStatus(True, "public", "ACCEPT")), Status.FAIL,
         "target ACCEPT"),
        (FirewallFacts((), unavailable=NOT_ROOT), Status.FAIL, "could not be read (nftables: needs root"),
        # firewall-cmd warned that interfaces are bound to another zone: the default zone alone proves nothing
        (FirewallFacts((FIREWALLD,), True, firewalld=FirewalldStatus(True, "public", "default", ("ssh",),
                                                                     other_zones=("trusted",))),
         Status.WARN, "bound to zone trusted, whose target was not read"),
        # Docker's own zone holds only its bridges: the default zone still filters the host's interfaces
        (FirewallFacts((FIREWALLD,), True, firewalld=FirewalldStatus(True, "public", "default", ("ssh",),
                                                                     other_zones=("docker",))),
         Status.PASS, "except ssh"),
    ],
)
def test_firewall_default_deny(facts, status, words):
    # Given firewall facts, When FW-0010 evaluates them
    verdict = firewall_default_deny(facts)
    # Then the status and the sentence say what was observed
    assert verdict.status is status
    assert words in verdict.message
    assert verdict.expected == {"inbound_default": "drop or reject"}


def test_firewall_observed_lists_chains_and_what_could_not_be_read():
    verdict = firewall_default_deny(FirewallFacts((FIREWALLD,), True, unavailable={"ufw": "not installed"}))
    assert verdict.observed["input_chains"] == [
        "nftables inet firewalld filter_INPUT policy accept, final rule reject"]
    assert verdict.observed["unavailable"] == {"ufw": "not installed"}


SSHD = (Listener("tcp", "0.0.0.0", 22, "", ("sshd",)), Listener("tcp", "::", 22, "", ("sshd",)))
NGINX = (Listener("tcp", "0.0.0.0", 443, "", ("nginx",)),)
RESOLVED = (Listener("udp", "127.0.0.53", 53, "lo", ("systemd-resolve",)),
            Listener("tcp", "::ffff:127.0.0.1", 631, "", ("cupsd",)))
DNS = (Listener("udp", "0.0.0.0", 53, "", ("named",)),)
SERVER = Target("db-1", TargetKind.SSH, role=Role.SERVER)


@pytest.mark.parametrize(
    ("listeners", "allowed", "status", "words"),
    [
        (SSHD + NGINX + RESOLVED, {"server": [22, "443/tcp"]}, Status.PASS, "22/tcp on 0.0.0.0, [::] (sshd)"),
        (SSHD + NGINX + RESOLVED, {"server": [22, "443/tcp"]}, Status.PASS, "2 more listen on loopback only"),
        (SSHD + NGINX, {"server": [22]}, Status.FAIL, "443/tcp on 0.0.0.0 (nginx)"),
        (SSHD + DNS, {"server": [22, "53/tcp"]}, Status.FAIL, "53/udp on 0.0.0.0 (named)"),
        (SSHD + DNS, {"server": ["22", "53/udp"]}, Status.PASS, "53/udp"),
        (SSHD, {"workstation": [22]}, Status.NOT_APPLICABLE, "No approved list for role server in the profile"),
    ],
)
def test_listening_ports_approved(listeners, allowed, status, words):
    # Given the listeners of a server and the profile's allowed ports
    facts = ListenerFacts(listeners)
    # When NET-0010 evaluates them
    verdict = listening_ports_approved(facts, allowed, SERVER)
    # Then unapproved exposed services fail and loopback-only ones never do
    assert verdict.status is status
    assert words in verdict.message


def test_loopback_listeners_are_observed_not_judged():
    verdict = listening_ports_approved(ListenerFacts(SSHD + RESOLVED), {"server": [22]}, SERVER)
    assert verdict.status is Status.PASS
    assert verdict.observed["loopback_only"] == ["53/udp on 127.0.0.53%lo (systemd-resolve)",
                                                 "631/tcp on [::ffff:127.0.0.1] (cupsd)"]
    assert verdict.expected == {"allowed_listening_ports": ["22"]}


def test_listening_ports_without_root_names_are_flagged_and_unreadable_ss_fails():
    hidden = ListenerFacts((Listener("tcp", "0.0.0.0", 8080),), True, True)
    assert "ss shows them to root only" in listening_ports_approved(hidden, {"server": [22]}, SERVER).message
    unread = ListenerFacts((), False, False, {"ss -H -tulpn": "not installed"})
    verdict = listening_ports_approved(unread, {"server": [22]}, SERVER)
    assert verdict.status is Status.FAIL and "ss -H -tulpn: not installed" in verdict.message


@pytest.mark.parametrize(
    ("listeners", "status", "words"),
    [
        (SSHD + NGINX + RESOLVED, Status.PASS, "No telnet"),
        ((Listener("tcp", "*", 23, "", ("inetd",)),), Status.FAIL, "Telnet: 23/tcp on * (inetd)"),
        ((Listener("tcp", "::", 2121, "", ("vsftpd",)),), Status.FAIL, "FTP: 2121/tcp"),
        ((Listener("tcp", "0.0.0.0", 990, "", ("vsftpd",)),), Status.PASS, "No telnet"),
        ((Listener("udp", "0.0.0.0", 69, "", ("in.tftpd",)),), Status.FAIL, "TFTP"),
        ((Listener("tcp", "0.0.0.0", 513),), Status.FAIL, "rsh/rlogin/rexec"),
        ((Listener("udp", "0.0.0.0", 514, "", ("rsyslogd",)),), Status.PASS, "No telnet"),
        ((Listener("tcp", "0.0.0.0", 6000, "", ("Xorg",)),), Status.FAIL, "X11"),
        ((Listener("tcp", "0.0.0.0", 5900, "", ("x11vnc",)),), Status.WARN,
         "VNC usually unencrypted: verify it is tunnelled"),
        ((Listener("tcp", "127.0.0.1", 5901, "", ("Xtigervnc",)),), Status.PASS, "No telnet"),
        ((Listener("tcp", "0.0.0.0", 23), Listener("tcp", "0.0.0.0", 5901)), Status.FAIL, "Also VNC"),
        ((Listener("tcp", "::", 9090, "", ("systemd",)), Listener("tcp", "0.0.0.0", 10000, "", ("miniserv.pl",))),
         Status.PASS, "2 exposed listener(s) checked"),
    ],
)
def test_no_plaintext_admin(listeners, status, words):
    # Given listeners, When NET-0020 evaluates them
    verdict = no_plaintext_admin(ListenerFacts(listeners))
    # Then plaintext admin services on network addresses fail, VNC warns, loopback and TLS services pass
    assert verdict.status is status
    assert words in verdict.message


def test_plaintext_on_loopback_is_observed_only():
    verdict = no_plaintext_admin(ListenerFacts((Listener("tcp", "127.0.0.1", 23, "", ("inetd",)),)))
    assert verdict.status is Status.PASS and verdict.observed["loopback_only"] == ["23/tcp on 127.0.0.1 (inetd)"]
