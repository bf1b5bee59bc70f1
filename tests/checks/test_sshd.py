"""SSH daemon configuration checks: facts built in code (and from recorded outputs) -> verdicts, per daemon and
per Match block."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from auditor.collectors.ssh_auth import SshAuthFacts
from auditor.collectors.ssh_wire import SshWireFacts
from auditor.collectors.sshd import FROM_FILES, MatchBlock, SshdDaemon, SshdFacts, View, parse_sshd_t, parse_view
from auditor.models import Status
from checks.sshd import (
    sshd_ciphers,
    sshd_forwarding,
    sshd_host_trust,
    sshd_logging,
    sshd_logins,
    sshd_runs_its_config,
    sshd_timeouts,
    sshd_weak_algorithms,
)

OUTPUTS = Path(__file__).resolve().parents[1] / "fixtures" / "outputs" / "ssh"
DEFAULT = (OUTPUTS / "debian12-sshd-T-default.txt").read_text()
HARDENED = (OUTPUTS / "debian12-sshd-T-hardened.txt").read_text()
GOOD = {"permitrootlogin": "no", "passwordauthentication": "no", "permitemptypasswords": "no", "maxauthtries": "4",
        "kbdinteractiveauthentication": "no", "usepam": "yes", "x11forwarding": "no", "allowtcpforwarding": "no",
        "disableforwarding": "no", "permituserenvironment": "no", "hostbasedauthentication": "no",
        "ignorerhosts": "yes", "strictmodes": "yes", "logingracetime": "60", "clientaliveinterval": "300",
        "clientalivecountmax": "3", "loglevel": "VERBOSE"}


def _sshd(**options: str) -> SshdFacts:
    return parse_sshd_t("\n".join(f"{k} {v}" for k, v in options.items()))


def _view(**change: str) -> View:
    return parse_view("\n".join(f"{k} {v}" for k, v in (GOOD | change).items()))


def _daemon(resource: str = "port 22", **change: str) -> SshdDaemon:
    return SshdDaemon(resource, _view(**change), ports=(int(resource.split()[-1]),) if "port" in resource else ())


def _only(verdicts):
    assert len(verdicts) == 1, verdicts
    return verdicts[0]


def _logins(facts: SshdFacts, limit: int = 4):
    return sshd_logins(facts, limit)


@pytest.mark.parametrize(
    ("ciphers", "bits", "chacha", "status", "words"),
    [
        ("aes256-gcm@openssh.com,aes256-ctr", 256, False, Status.PASS, "allows only aes256-gcm"),
        ("chacha20-poly1305@openssh.com,aes256-ctr", 256, True, Status.PASS, "allows only chacha20"),
        ("chacha20-poly1305@openssh.com,aes256-ctr", 256, False, Status.FAIL, "ChaCha20, not AES"),
        ("aes128-ctr,aes256-ctr", 256, False, Status.FAIL, "aes128-ctr (128-bit AES)"),
        ("aes128-ctr,aes256-ctr", 128, False, Status.PASS, "allows only"),
        ("aes256-cbc", 256, False, Status.FAIL, "aes256-cbc (CBC mode)"),
        ("3des-cbc", 128, False, Status.FAIL, "3des-cbc (CBC mode)"),
    ],
)
def test_ciphers_against_min_aes_bits(ciphers, bits, chacha, status, words):
    # Given sshd's cipher list, When judged with the profile's parameters, Then the verdict names the culprits
    verdict = _only(sshd_ciphers(_sshd(ciphers=ciphers), bits, chacha))
    assert verdict.status is status and words in verdict.message


def test_openssh_default_fails_with_its_list_shown():
    verdict = _only(sshd_ciphers(parse_sshd_t(DEFAULT), 256, False))
    assert verdict.status is Status.FAIL and "aes128-gcm@openssh.com (128-bit AES)" in verdict.message
    assert "full list: chacha20-poly1305@openssh.com, aes128-ctr" in verdict.message
    assert verdict.resource == "port 22" and verdict.message.startswith("port 22: ")


@pytest.mark.parametrize(
    ("options", "status", "words"),
    [
        ({"macs": "hmac-sha2-512-etm@openssh.com", "kexalgorithms": "curve25519-sha256",
          "hostkeyalgorithms": "ssh-ed25519,rsa-sha2-512"}, Status.PASS, "no SHA-1"),
        ({"macs": "hmac-sha1,hmac-md5-96"}, Status.FAIL, "hmac-sha1 (SHA-1), hmac-md5-96 (MD5)"),
        ({"kexalgorithms": "diffie-hellman-group14-sha1,diffie-hellman-group1-sha1"}, Status.FAIL,
         "diffie-hellman-group1-sha1 (1024-bit group with SHA-1)"),
        ({"hostkeyalgorithms": "ssh-rsa,ssh-dss"}, Status.FAIL, "ssh-rsa (RSA with SHA-1 signatures), ssh-dss (DSA)"),
        ({"pubkeyacceptedalgorithms": "ssh-ed25519,ssh-rsa-cert-v01@openssh.com"}, Status.FAIL, "certificates"),
        ({"hostbasedacceptedalgorithms": "ssh-dss", "hostbasedauthentication": "yes"}, Status.FAIL,
         "hostbasedacceptedalgorithms: ssh-dss (DSA)"),
        ({"hostbasedacceptedalgorithms": "ssh-dss", "hostbasedauthentication": "no"}, Status.PASS, "no SHA-1"),
    ],
)
def test_weak_algorithms(options, status, words):
    verdict = _only(sshd_weak_algorithms(_sshd(**options)))
    assert verdict.status is status and words in verdict.message


def test_default_openssh_fails_on_its_sha1_macs():
    verdict = _only(sshd_weak_algorithms(parse_sshd_t(DEFAULT)))
    assert verdict.status is Status.FAIL and "hmac-sha1-etm@openssh.com (SHA-1)" in verdict.message
    assert "kexalgorithms" not in verdict.observed["weak"]


@pytest.mark.parametrize(
    ("change", "limit", "status", "words"),
    [
        ({}, 4, Status.PASS, "allows 4 authentication attempts"),
        ({"permitrootlogin": "without-password"}, 4, Status.FAIL, "PermitRootLogin is prohibit-password"),
        ({"passwordauthentication": "yes"}, 4, Status.FAIL, "PasswordAuthentication is yes"),
        ({"kbdinteractiveauthentication": "yes"}, 4, Status.FAIL, "KbdInteractiveAuthentication is yes with UsePAM"),
        ({"challengeresponseauthentication": "yes"}, 4, Status.FAIL, "KbdInteractiveAuthentication is yes"),
        ({"permitemptypasswords": "yes"}, 4, Status.FAIL, "PermitEmptyPasswords is yes"),
        ({"maxauthtries": "6"}, 4, Status.FAIL, "MaxAuthTries is 6 (1 to 4 expected)"),
        ({"maxauthtries": "0"}, 4, Status.FAIL, "MaxAuthTries is 0 (1 to 4 expected)"),
        ({"maxauthtries": "6"}, 6, Status.PASS, "allows 6 authentication attempts"),
        ({"maxauthtries": "1"}, 4, Status.PASS, "allows 1 authentication attempts"),
    ],
)
def test_login_settings(change, limit, status, words):
    verdict = _only(_logins(SshdFacts(True, (_daemon(**change),)), limit))
    assert verdict.status is status and words in verdict.message


def test_the_hardened_test_server_still_fails_ssh_0030_for_its_root_login():
    verdict = _only(_logins(parse_sshd_t(HARDENED)))
    assert verdict.status is Status.FAIL and verdict.message.count(";") == 0
    assert verdict.resource == "port 2222"


@pytest.mark.parametrize("check", [sshd_weak_algorithms, sshd_host_trust, sshd_logging])
def test_no_sshd_is_not_applicable(check):
    assert _only(check(SshdFacts(installed=False))).status is Status.NOT_APPLICABLE


def test_no_sshd_is_not_applicable_for_the_checks_with_parameters():
    absent = SshdFacts(installed=False)
    assert {_only(v).status for v in (sshd_ciphers(absent, 256, False), _logins(absent),
                                      sshd_forwarding(absent, False), sshd_timeouts(absent, 60, 900))} \
        == {Status.NOT_APPLICABLE}


# ---- Match blocks ----------------------------------------------------------------------------------------------

ROOT_BLOCK = MatchBlock("Match Address 10.40.0.0/16", "/etc/ssh/sshd_config line 40",
                        "user=auditor-probe,host=probe.invalid,addr=10.40.0.0",
                        _view(permitrootlogin="yes", passwordauthentication="yes"), sets=("permitrootlogin",))


def test_a_match_block_that_allows_root_with_a_password_fails_with_its_condition():
    # Given a daemon that refuses root, but a Match block for one network that allows root with a password
    facts = SshdFacts(True, (replace(_daemon(), matches=(ROOT_BLOCK,)),))
    # When SSH-0030 judges it
    verdict = _only(_logins(facts))
    # Then it fails, naming the block's condition, where it stands and what it allows
    assert verdict.status is Status.FAIL
    assert "for a connection matching `Match Address 10.40.0.0/16` (/etc/ssh/sshd_config line 40" in verdict.message
    assert "PermitRootLogin is yes" in verdict.message and "PasswordAuthentication is yes" in verdict.message
    assert verdict.observed["match_blocks"]["Match Address 10.40.0.0/16"]["PermitRootLogin"] == "yes"


def test_a_block_repeating_the_daemons_own_problem_adds_nothing():
    # Given root may log in everywhere, and a block that changes nothing about it
    same = replace(ROOT_BLOCK, view=_view(permitrootlogin="yes"))
    facts = SshdFacts(True, (replace(_daemon(permitrootlogin="yes"), matches=(same,)),))
    # Then the daemon's problem is said once, not again for the block
    verdict = _only(_logins(facts))
    assert verdict.message.count("PermitRootLogin is yes") == 1 and "Match Address" not in verdict.message


def test_a_harmless_block_passes_and_is_counted():
    harmless = replace(ROOT_BLOCK, view=_view(x11forwarding="no"), sets=("x11forwarding",))
    verdict = _only(_logins(SshdFacts(True, (replace(_daemon(), matches=(harmless,)),))))
    assert verdict.status is Status.PASS and "(1 Match block evaluated too)" in verdict.message


def test_an_unevaluated_block_warns_only_the_checks_whose_keywords_it_sets():
    # Given a block the scanner could not evaluate that sets PermitRootLogin
    unknown = MatchBlock("Match Exec /bin/true", "/etc/ssh/sshd_config line 9",
                         not_evaluated="Match Exec runs a command; the scanner never runs it, so this block was not "
                                       "evaluated", sets=("permitrootlogin",))
    facts = SshdFacts(True, (replace(_daemon(), matches=(unknown,)),))
    # Then SSH-0030 cannot pass (it says why), while SSH-0070 (LogLevel, not set there) passes
    logins = _only(_logins(facts))
    assert logins.status is Status.WARN and "Match Exec /bin/true" in logins.message
    assert "never runs it" in logins.message
    assert _only(sshd_logging(facts)).status is Status.PASS


def test_weak_user_key_algorithms_in_a_block_fail_ssh_0020():
    block = MatchBlock("Match User legacy", "/etc/ssh/sshd_config.d/50-legacy.conf line 2", "user=legacy",
                       parse_view("pubkeyacceptedalgorithms ssh-ed25519,ssh-rsa"), sets=("pubkeyacceptedalgorithms",))
    facts = SshdFacts(True, (replace(_daemon(), matches=(block,)),))
    verdict = _only(sshd_weak_algorithms(facts))
    assert verdict.status is Status.FAIL and "`Match User legacy`" in verdict.message
    assert "ssh-rsa (RSA with SHA-1 signatures)" in verdict.message


# ---- several daemons, and which one serves the scanned port ------------------------------------------------------

def test_each_daemon_gets_its_own_finding_named_by_its_port():
    # Given a hardened daemon on 2222 (the scanned one) and a weak one on 22
    facts = SshdFacts(True, (replace(_daemon("port 2222"), serves_target=True),
                             replace(_daemon("port 22", permitrootlogin="yes"), serves_target=False)), 2222)
    # When SSH-0030 judges them
    verdicts = _logins(facts)
    # Then each finding names its daemon, the scanned one first, and each describes only its own daemon
    assert [(v.resource, v.status) for v in verdicts] == [("port 2222", Status.PASS), ("port 22", Status.FAIL)]
    assert verdicts[0].message.startswith("port 2222: ") and "PermitRootLogin" not in verdicts[0].message


def test_a_scanned_port_that_no_daemon_serves_is_a_warning_of_its_own():
    facts = SshdFacts(True, (_daemon("port 22"),), 2200, unserved="no sshd found on this host listens on the "
                      "scanned port 2200 (found: port 22)")
    verdicts = sshd_logging(facts)
    assert verdicts[0].status is Status.WARN and verdicts[0].resource == "port 2200"
    assert verdicts[1].status is Status.PASS and verdicts[1].resource == "port 22"


def test_an_unidentified_daemon_never_passes_silently():
    # Given no running sshd could be identified, so the default config was judged
    judged = replace(_daemon("/etc/ssh/sshd_config"), warning="no running sshd could be identified; "
                     "/etc/ssh/sshd_config was judged, and the scanned port 22 may be served by another daemon")
    verdict = _only(sshd_logging(SshdFacts(True, (judged,), 22)))
    # Then a good configuration is a warning that says which file was judged
    assert verdict.status is Status.WARN and "/etc/ssh/sshd_config was judged" in verdict.message
    assert "may be served by another daemon" in verdict.message


def test_a_configuration_from_the_files_says_so():
    daemon = replace(_daemon(), source=FROM_FILES, notes=("derived from the config files, not from the daemon",))
    verdict = _only(_logins(SshdFacts(True, (daemon,))))
    assert verdict.status is Status.PASS and "Derived from the config files, not from sshd itself." in verdict.message
    assert verdict.observed["source"] == FROM_FILES


def test_a_daemon_that_could_not_be_judged_is_a_warning_with_the_reason():
    broken = SshdDaemon("port 2222", None, ports=(2222,), problem="`sshd -T -f /srv/x` exited 255: bad option")
    verdict = _only(sshd_ciphers(SshdFacts(True, (broken,)), 256, False))
    assert verdict.status is Status.WARN and "could not be judged: `sshd -T -f /srv/x` exited 255" in verdict.message


# ---- SSH-0040..0070 ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("change", "allowed", "status", "words"),
    [
        ({}, False, Status.PASS, "forwards no X11 or TCP connections"),
        ({"x11forwarding": "yes"}, False, Status.FAIL, "X11Forwarding is yes"),
        ({"allowtcpforwarding": "local"}, False, Status.FAIL, "AllowTcpForwarding is local"),
        ({"allowtcpforwarding": "yes"}, True, Status.PASS, "forwards no X11 connections"),
        ({"allowtcpforwarding": "yes", "x11forwarding": "yes", "disableforwarding": "yes"}, False, Status.PASS,
         "forwards no X11 or TCP"),
        ({"permituserenvironment": "LANG,LC_*"}, False, Status.FAIL, "PermitUserEnvironment is LANG,LC_*"),
    ],
)
def test_forwarding_and_user_environment(change, allowed, status, words):
    verdict = _only(sshd_forwarding(SshdFacts(True, (_daemon(**change),)), allowed))
    assert verdict.status is status and words in verdict.message


def test_debian_defaults_forward_x11_and_tcp():
    verdict = _only(sshd_forwarding(parse_sshd_t(DEFAULT), False))
    assert verdict.status is Status.FAIL and "X11Forwarding is yes" in verdict.message
    assert "AllowTcpForwarding is yes" in verdict.message


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({}, Status.PASS, "trusts no host-based"),
        ({"hostbasedauthentication": "yes"}, Status.FAIL, "HostbasedAuthentication is yes"),
        ({"ignorerhosts": "shosts-only"}, Status.FAIL, "IgnoreRhosts is shosts-only"),
        ({"strictmodes": "no"}, Status.FAIL, "StrictModes is no"),
    ],
)
def test_host_based_trust_and_strict_modes(change, status, words):
    verdict = _only(sshd_host_trust(SshdFacts(True, (_daemon(**change),))))
    assert verdict.status is status and words in verdict.message


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({}, Status.PASS, "after 60 s and an idle session after 900 s"),
        ({"logingracetime": "120"}, Status.FAIL, "LoginGraceTime is 120 s (1 to 60 s expected)"),
        ({"logingracetime": "0"}, Status.FAIL, "LoginGraceTime is 0 (no limit)"),
        ({"clientaliveinterval": "0"}, Status.FAIL, "idle sessions are never ended (ClientAliveInterval 0"),
        ({"clientalivecountmax": "0"}, Status.FAIL, "idle sessions are never ended"),
        ({"clientaliveinterval": "600"}, Status.FAIL, "idle sessions end after 1800 s"),
    ],
)
def test_session_timeouts(change, status, words):
    verdict = _only(sshd_timeouts(SshdFacts(True, (_daemon(**change),)), 60, 900))
    assert verdict.status is status and words in verdict.message


@pytest.mark.parametrize(
    ("level", "status", "words"),
    [("VERBOSE", Status.PASS, "LogLevel VERBOSE"), ("INFO", Status.PASS, "LogLevel INFO"),
     ("ERROR", Status.FAIL, "successful logins are not recorded"), ("QUIET", Status.FAIL, "LogLevel is QUIET"),
     ("DEBUG3", Status.FAIL, "debug output")],
)
def test_login_logging(level, status, words):
    verdict = _only(sshd_logging(SshdFacts(True, (_daemon(loglevel=level),))))
    assert verdict.status is status and words in verdict.message


def test_the_hardened_recording_fails_strict_modes_and_logging():
    # The test harness turns StrictModes off and logs only errors (tests/sshd_server.py); the checks see it
    assert _only(sshd_host_trust(parse_sshd_t(HARDENED))).status is Status.FAIL
    assert "LogLevel is ERROR" in _only(sshd_logging(parse_sshd_t(HARDENED))).message


# ---- SSH-0120: what runs against what was judged ----------------------------------------------------------------

RUNNING = {"ciphers": "aes256-gcm@openssh.com,aes256-ctr", "macs": "hmac-sha2-512-etm@openssh.com",
           "kexalgorithms": "curve25519-sha256", "hostkeyalgorithms": "ssh-ed25519,rsa-sha2-512,rsa-sha2-256"}


def _offered(methods: tuple[str, ...] = ("publickey",), **lists: tuple[str, ...]) -> tuple[SshWireFacts, SshAuthFacts]:
    """What the server at port 22 offers on the network: RUNNING's algorithms, the strict-kex and ext-info markers,
    host key algorithms for its one Ed25519 key; `lists` changes them."""
    wire = SshWireFacts(True, host="10.0.0.5", port=22, ciphers=("aes256-gcm@openssh.com", "aes256-ctr"),
                        macs=("hmac-sha2-512-etm@openssh.com",),
                        kex=("curve25519-sha256", "ext-info-s", "kex-strict-s-v00@openssh.com"),
                        host_key_algorithms=("ssh-ed25519",))
    return replace(wire, **lists), SshAuthFacts(True, host="10.0.0.5", port=22, auth_user="root",
                                                auth_methods=methods)


def _serving(source: str = "sshd -T", matches: tuple[MatchBlock, ...] = (), **change: str) -> SshdFacts:
    daemon = replace(_daemon(**RUNNING, **change), serves_target=True, source=source, matches=matches)
    return SshdFacts(True, (daemon,), scanned_port=22)


def test_a_daemon_that_offers_what_its_configuration_sets_passes_ssh_0120():
    # Given the network offers the configured algorithms (plus markers, and host key algorithms for its one key)
    verdict = sshd_runs_its_config(_serving(), *_offered())
    # Then both were compared, and they agree
    assert verdict.status is Status.PASS and "(algorithms and authentication methods)" in verdict.message


@pytest.mark.parametrize(("offered", "words"), [
    ({"ciphers": ("aes256-ctr", "aes128-cbc")}, "it offers ciphers aes256-ctr, aes128-cbc, its configuration sets "
                                                "aes256-gcm@openssh.com, aes256-ctr"),
    ({"kex": ("curve25519-sha256", "diffie-hellman-group14-sha1")}, "it offers key exchanges curve25519-sha256, "
                                                                    "diffie-hellman-group14-sha1"),
    ({"host_key_algorithms": ("ssh-ed25519", "ssh-rsa")},
     "host key algorithms its configuration does not set: ssh-rsa"),
    ({"methods": ("publickey", "keyboard-interactive")}, "it offers keyboard-interactive logins to 'root', which its "
                                                         "configuration turns off (KbdInteractiveAuthentication no)"),
])
def test_a_daemon_that_offers_what_its_configuration_does_not_set_fails_ssh_0120(offered, words):
    methods = offered.pop("methods", ("publickey",))
    verdict = sshd_runs_its_config(_serving(), *_offered(methods, **offered))
    assert verdict.status is Status.FAIL and words in verdict.message and "was not reloaded" in verdict.message


def test_from_the_files_only_the_authentication_methods_are_compared():
    # Given a configuration read from the files (compiled-in defaults may be a neighbouring release's), whose
    # algorithms differ from the network's, and no password offered
    facts = _serving(FROM_FILES)
    verdict = sshd_runs_its_config(facts, *_offered(ciphers=("aes128-ctr",)))
    # Then only the authentication methods count, and they agree
    assert verdict.status is Status.PASS and "(authentication methods)" in verdict.message
    # But a password offered against the files' PasswordAuthentication no fails
    verdict = sshd_runs_its_config(facts, *_offered(("publickey", "password")))
    assert verdict.status is Status.FAIL and "(PasswordAuthentication no)" in verdict.message


def test_a_match_block_that_may_turn_passwords_on_keeps_the_methods_out_of_ssh_0120():
    # Given a block for some network that turns passwords on (the scanner may connect from it)
    block = MatchBlock("Match Address 10.40.0.0/16", "/etc/ssh/sshd_config line 9", "addr=10.40.0.0",
                       _view(passwordauthentication="yes"), sets=("passwordauthentication",))
    # When the network shows passwords, Then that is no contradiction; the algorithms still are compared
    verdict = sshd_runs_its_config(_serving(matches=(block,)), *_offered(("publickey", "password")))
    assert verdict.status is Status.PASS and "(algorithms)" in verdict.message
    # And with nothing left to compare, it is not applicable
    verdict = sshd_runs_its_config(_serving(FROM_FILES, matches=(block,)), *_offered(("publickey", "password")))
    assert verdict.status is Status.NOT_APPLICABLE and "nothing could be compared" in verdict.message


def test_a_block_every_connection_matches_is_in_the_view_ssh_0120_compares():
    # Given passwords turned on by a block for the daemon's own port (its view holds them: every connection
    # matches), and a block for another port that never applies
    own = MatchBlock("Match LocalPort 22", "/etc/ssh/sshd_config line 9", "lport=22",
                     _view(passwordauthentication="yes"), sets=("passwordauthentication",), everyone=True)
    other = MatchBlock("Match LocalPort 2299", "/etc/ssh/sshd_config line 12", sets=("passwordauthentication",),
                       never_applies="the daemon listens only on port 22, so no connection matches LocalPort 2299")
    facts = _serving(matches=(own, other), passwordauthentication="yes")
    # Then the methods are still compared, and the password the network shows is what the view says
    verdict = sshd_runs_its_config(facts, *_offered(("publickey", "password")))
    assert verdict.status is Status.PASS and "(algorithms and authentication methods)" in verdict.message


def test_ssh_0120_needs_the_network_view_and_the_daemon_behind_the_scanned_port():
    wire, auth = _offered()
    assert sshd_runs_its_config(_serving(), SshWireFacts(False, "a local target"), auth).status is \
        Status.NOT_APPLICABLE
    elsewhere = SshdFacts(True, (replace(_serving().daemons[0], serves_target=False),), scanned_port=2222)
    verdict = sshd_runs_its_config(elsewhere, wire, auth)
    assert verdict.status is Status.NOT_APPLICABLE and "was not judged" in verdict.message


def test_from_the_files_an_unread_file_keeps_the_methods_out_of_ssh_0120():
    # Given a configuration read from the files but for a drop-in only root may read (cloud-init's 0600
    # 50-cloud-init.conf turns passwords on), and the network showing passwords
    facts = _serving(FROM_FILES)
    facts = replace(facts, daemons=(replace(facts.daemons[0], unread=("/etc/ssh/sshd_config.d/*.conf",)),))
    # Then that is no contradiction: nothing is left to compare
    verdict = sshd_runs_its_config(facts, *_offered(("publickey", "password")))
    assert verdict.status is Status.NOT_APPLICABLE and "files that could not be read" in verdict.message
    assert "(/etc/ssh/sshd_config.d/*.conf could not be read)" in verdict.message
    # And every check that judges from those files doubts a pass, not only for Match blocks, and notes it beside a fail
    passed = _only(sshd_logging(facts))
    assert passed.status is Status.WARN and "/etc/ssh/sshd_config.d/*.conf could not be read, so what it sets was " \
        "not judged" in passed.message
    failed = _only(_logins(replace(facts, daemons=(replace(facts.daemons[0], view=_view(permitrootlogin="yes")),))))
    assert failed.status is Status.FAIL and "Note: /etc/ssh/sshd_config.d/*.conf could not be read" in failed.message


def test_a_daemon_in_doubt_says_why_whether_it_passes_fails_or_cannot_be_judged():
    doubt = "sshd refuses this configuration (/etc/ssh/sshd_config line 3: Unsupported Match attribute Exec)"
    failing = replace(_serving(FROM_FILES).daemons[0], warning=doubt)
    facts = SshdFacts(True, (replace(failing, view=_view(permitrootlogin="yes")),), scanned_port=22)
    # A fail keeps the doubt beside it
    verdict = _only(_logins(facts))
    assert verdict.status is Status.FAIL and f"Note: {doubt}." in verdict.message
    # What runs is not compared with a configuration in doubt
    compared = sshd_runs_its_config(facts, *_offered())
    assert compared.status is Status.WARN and doubt in compared.message
    # And a daemon that could not be judged says both why and the doubt (a relative -f path, its file missing)
    unjudged = SshdFacts(True, (replace(failing, view=None, problem="its config file could not be read: "
                                        "/sshd_config: does not exist", warning="sshd process 7 was started with a "
                                        "relative config path (-f sshd_config)"),))
    message = _only(_logins(unjudged)).message
    assert "could not be judged: its config file could not be read" in message
    assert "Note: sshd process 7 was started with a relative config path" in message


@pytest.mark.parametrize(("switch", "method", "written"), [
    ("passwordauthentication", "password", "PasswordAuthentication yes"),
    ("kbdinteractiveauthentication", "keyboard-interactive", "KbdInteractiveAuthentication yes"),
])
def test_a_method_configured_on_but_not_offered_fails_ssh_0120(switch, method, written):
    # Given a configuration that turns a password method on (changed, and sshd not reloaded since), while the
    # daemon still offers publickey only, as it started
    verdict = sshd_runs_its_config(_serving(**{switch: "yes"}), *_offered(("publickey",)))
    # Then that difference is named too, not only one the other way round
    assert verdict.status is Status.FAIL
    assert f"it does not offer {method} logins to 'root', which its configuration turns on ({written})" \
        in verdict.message
    assert "was not reloaded" in verdict.message


def test_a_server_that_lets_none_in_has_no_methods_for_ssh_0120_to_compare():
    # Given passwords turned on, and a "none" request let in (so no methods were listed)
    wire, auth = _offered(())
    verdict = sshd_runs_its_config(_serving(passwordauthentication="yes"), wire, replace(auth, none_accepted=True))
    # Then no method is called missing: only the algorithms were compared (SSH-0110 fails the open door)
    assert verdict.status is Status.PASS and "(algorithms)" in verdict.message
