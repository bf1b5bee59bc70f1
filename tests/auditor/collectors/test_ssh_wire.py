"""ssh_wire and ssh_auth collectors: recorded KEXINIT, host-key and "none" probes -> offered algorithms, keys and
authentication methods; malformed input; a local target."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import pytest

from auditor.collectors import ssh_auth
from auditor.collectors.ssh_auth import AUTH_METHODS_COMMAND
from auditor.collectors.ssh_wire import (
    HOSTKEY_COMMAND,
    HOSTKEYS_COMMAND,
    KEXINIT_COMMAND,
    collect,
    key_size,
    parse_host_keys,
    parse_kexinit,
    parse_probe,
    requests,
)
from auditor.errors import CollectorError
from auditor.models import SystemFacts
from auditor.transports.base import CommandResult
from auditor.transports.local import LocalTransport
from tests.auditor.fake_host import FakeHost, OlderRecording

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
    methods = ssh_auth.collect(LocalTransport(), SystemFacts(None))
    assert methods.probed is False and methods.problem == facts.problem


def _answers(**extra: CommandResult) -> dict[str, CommandResult]:
    probe = (OUTPUTS / "debian12-kexinit-hardened.json").read_text()
    return {str(KEXINIT_COMMAND): CommandResult(str(KEXINIT_COMMAND), 0, probe), **extra}


def test_every_probe_adds_its_facts():
    # Given recorded answers of the host-keys and authentication probes of a legacy sshd
    host = FakeHost(_answers(**{
        str(HOSTKEYS_COMMAND): CommandResult(str(HOSTKEYS_COMMAND), 0,
                                             (OUTPUTS / "debian12-hostkeys-legacy.json").read_text()),
        str(AUTH_METHODS_COMMAND): CommandResult(str(AUTH_METHODS_COMMAND), 0,
                                                 (OUTPUTS / "debian12-auth-methods-legacy.json").read_text())}))
    # When the wire and authentication collectors run
    facts, methods = collect(host, SystemFacts(None)), ssh_auth.collect(host, SystemFacts(None))
    # Then each key has its type, size and fingerprint, and the offered methods are known
    assert [(k.key_type, k.bits) for k in facts.host_keys] == [("ssh-ed25519", 256), ("ssh-rsa", 2048),
                                                               ("ssh-dss", 1024)]
    assert all(k.sha256.startswith("SHA256:") and not k.problem for k in facts.host_keys)
    assert methods.auth_user == "auditor" and methods.auth_methods == ("publickey", "password",
                                                                       "keyboard-interactive")
    assert methods.none_accepted is False and (methods.host, methods.port) == (facts.host, facts.port)


def test_the_wire_view_alone_asks_no_authentication_methods():
    # SSH-0100 alone (the ssh_wire collector) makes no "none" request: that takes a whole key exchange
    wire, _files = requests(SystemFacts(None))
    assert AUTH_METHODS_COMMAND not in wire and KEXINIT_COMMAND in wire
    assert ssh_auth.requests(SystemFacts(None))[0] == (KEXINIT_COMMAND, AUTH_METHODS_COMMAND)


def test_a_failed_host_key_or_auth_probe_is_a_stated_problem_not_a_collector_error():
    host = FakeHost(_answers(**{
        str(HOSTKEYS_COMMAND): CommandResult(str(HOSTKEYS_COMMAND), 1, "", "probing failed: timed out\n"),
        str(AUTH_METHODS_COMMAND): CommandResult(str(AUTH_METHODS_COMMAND), 1, "", "probing failed: no kex\n")}))
    facts, methods = collect(host, SystemFacts(None)), ssh_auth.collect(host, SystemFacts(None))
    assert facts.probed and facts.host_keys == () and "timed out" in facts.host_keys_problem
    assert methods.probed and methods.auth_methods is None and "no kex" in methods.auth_problem


def test_a_key_the_probe_could_not_read_keeps_its_reason():
    text = json.dumps({"keys": [{"offered_as": ["ssh-ed25519"], "kex": "x", "error": "the server closed it"}]})
    (key,) = parse_host_keys(text)["host_keys"]
    assert key.offered_as == ("ssh-ed25519",) and key.problem == "the server closed it" and key.bits == 0


@pytest.mark.parametrize(
    ("blob", "expected"),
    [
        (_name_lists("ssh-rsa") + struct.pack(">I", 3) + b"\x01\x00\x01" + struct.pack(">I", 257) + b"\x00"
         + b"\xff" * 256, ("ssh-rsa", 2048)),
        (_name_lists("ecdsa-sha2-nistp384", "nistp384") + struct.pack(">I", 97) + b"\x04" * 97,
         ("ecdsa-sha2-nistp384", 384)),
        (_name_lists("ssh-ed25519") + struct.pack(">I", 32) + b"\x01" * 32, ("ssh-ed25519", 256)),
    ],
)
def test_key_sizes_come_from_the_blob(blob, expected):
    assert key_size(blob) == expected


def test_a_truncated_key_blob_is_a_problem_on_that_key():
    blob = base64.b64encode(_name_lists("ssh-rsa") + struct.pack(">I", 400) + b"\x01").decode()
    (key,) = parse_host_keys(json.dumps({"keys": [{"offered_as": ["rsa-sha2-512"], "key_base64": blob}]}))["host_keys"]
    assert "could not be parsed" in key.problem and key.sha256.startswith("SHA256:")




def test_evidence_recorded_before_the_new_probes_still_replays():
    # Given a replay of a run that recorded only the KEXINIT and the login's host key
    key = json.dumps({"type": "ssh-ed25519", "sha256": "SHA256:abc", "status": "known"})
    older = OlderRecording(_answers(**{str(HOSTKEY_COMMAND): CommandResult(str(HOSTKEY_COMMAND), 0, key)}))
    facts, methods = collect(older, SystemFacts(None)), ssh_auth.collect(older, SystemFacts(None))
    # Then the wire view stands, and what was not recorded says so
    assert facts.probed and facts.ciphers == ("aes256-gcm@openssh.com", "aes256-ctr")
    assert "was not recorded" in facts.host_keys_problem and "was not recorded" in methods.auth_problem
