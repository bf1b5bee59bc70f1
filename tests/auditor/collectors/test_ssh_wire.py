"""ssh_wire collector: recorded KEXINIT probes -> offered algorithms; malformed input; a local target."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import pytest

from auditor.collectors.ssh_wire import HOSTKEY_COMMAND, KEXINIT_COMMAND, collect, parse_kexinit, parse_probe
from auditor.errors import CollectorError
from auditor.models import SystemFacts
from auditor.transports.base import CommandResult
from auditor.transports.local import LocalTransport
from tests.auditor.fake_host import FakeHost

OUTPUTS = Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "ssh"


def _name_lists(*lists: str) -> bytes:
    return b"".join(struct.pack(">I", len(x)) + x.encode() for x in lists)


@pytest.mark.parametrize(
    ("fixture", "ciphers", "macs", "kex_has", "host_keys"),
    [
        ("debian12-kexinit-hardened.json", ("aes256-gcm@openssh.com", "aes256-ctr"),
         ("hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com"), "curve25519-sha256", ("ssh-ed25519",)),
        ("debian12-kexinit-weak.json", ("aes128-ctr", "aes256-ctr", "aes128-cbc", "3des-cbc"),
         ("hmac-sha1", "hmac-md5", "hmac-sha2-256"), "diffie-hellman-group1-sha1",
         ("rsa-sha2-256", "ssh-rsa", "ssh-ed25519")),
        ("debian12-kexinit-sha1only.json", ("aes128-cbc", "3des-cbc"), ("hmac-sha1",), "diffie-hellman-group14-sha1",
         ("ssh-rsa",)),
    ],
)
def test_recorded_probes_give_the_offered_lists(fixture, ciphers, macs, kex_has, host_keys):
    facts = parse_probe((OUTPUTS / fixture).read_text())
    assert facts.probed and facts.banner == "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10" and facts.port == 2222
    assert facts.ciphers == ciphers and facts.macs == macs and kex_has in facts.kex
    assert set(facts.host_key_algorithms) == set(host_keys)
    assert facts.compression[0] == "none"


def test_a_hand_built_kexinit_parses_every_list_and_the_flag():
    payload = bytes([20]) + b"\0" * 16 + _name_lists("k1,k2", "h", "c1", "c2", "m1", "m2", "none", "none", "", "")
    kexinit = parse_kexinit(payload + b"\x01\0\0\0\0")
    assert kexinit.lists["kex_algorithms"] == ("k1", "k2") and kexinit.lists["languages_client_to_server"] == ()
    assert kexinit.first_kex_packet_follows is True


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (bytes([21]) + b"\0" * 40, "not a KEXINIT"),
        (bytes([20]) + b"\0" * 16 + struct.pack(">I", 1000) + b"abc", "runs past the end"),
        (bytes([20]) + b"\0" * 16 + _name_lists("k"), "ends before its server_host_key_algorithms"),
    ],
)
def test_malformed_kexinit_is_a_collector_error(payload, words):
    with pytest.raises(CollectorError, match=words):
        parse_kexinit(payload)


def test_host_key_from_login_is_added_to_the_facts():
    probe = (OUTPUTS / "debian12-kexinit-hardened.json").read_text()
    key = json.dumps({"type": "ssh-ed25519", "sha256": "SHA256:abc", "status": "trusted-new"})
    host = FakeHost({str(KEXINIT_COMMAND): CommandResult(str(KEXINIT_COMMAND), 0, probe),
                     str(HOSTKEY_COMMAND): CommandResult(str(HOSTKEY_COMMAND), 0, key)})
    facts = collect(host, SystemFacts(None))
    assert (facts.host_key_type, facts.host_key_sha256, facts.host_key_status) == ("ssh-ed25519", "SHA256:abc",
                                                                                     "trusted-new")


def test_a_failed_probe_says_why():
    host = FakeHost({str(KEXINIT_COMMAND): CommandResult(str(KEXINIT_COMMAND), 1, "", "banner: timed out")})
    with pytest.raises(CollectorError, match="timed out"):
        collect(host, SystemFacts(None))


def test_unreadable_probe_json_is_an_error():
    with pytest.raises(CollectorError, match="unreadable"):
        parse_probe(json.dumps({"host": "h", "port": 22, "banner": "SSH-2.0-x",
                                "kexinit_base64": base64.b64encode(b"x").decode() + "!"}))


def test_a_local_target_has_no_network_view():
    # Given this machine scanned locally, When the wire collector runs, Then it says there is no address to probe
    facts = collect(LocalTransport(), SystemFacts(None))
    assert facts.probed is False and "no network address" in facts.problem
