"""The plaintext collector on recorded `plaintext-probe` documents (tests/fixtures/outputs/tls/)."""

from __future__ import annotations

import json

import pytest

from auditor.collectors.plaintext import collect, parse_probe, requests
from auditor.collectors.tls import PROBE_COMMAND
from auditor.errors import CollectorError, ConnectError
from auditor.models import SystemFacts, Target, TargetKind
from auditor.transports.base import CommandResult
from tests.auditor.fake_host import FakeHost
from tests.conftest import FIXTURES

OUTPUTS = FIXTURES / "outputs" / "tls"
NO_SYSTEM = SystemFacts(platform=None)


def recorded(name: str) -> str:
    return (OUTPUTS / name).read_text(encoding="utf-8")


def target(**options) -> Target:
    return Target("portal", TargetKind.TLS, options={"host": "portal.example", **options})


@pytest.mark.parametrize(
    ("options", "asked"),
    [
        ({}, "plaintext-probe http portal.example 80 --server-name portal.example"),
        ({"port": 8443, "plain_port": 8080, "server_name": "www.example"},
         "plaintext-probe http portal.example 8080 --server-name www.example"),
        ({"port": 587, "starttls": "smtp"}, "plaintext-probe smtp portal.example 587"),
        ({"port": 993}, "plaintext-probe imap portal.example 143"),
        ({"port": 995}, "plaintext-probe pop3 portal.example 110"),
        ({"port": 465}, "plaintext-probe smtp portal.example 587"),
        ({"port": 5432, "starttls": "postgres"}, None),
    ],
)
def test_the_counterpart_follows_the_endpoint(options, asked):
    # Given a TLS target, When the collector says what it needs
    commands, _ = requests(NO_SYSTEM, target(**options))
    # Then it asks the TLS probe first (an endpoint where nothing answers is not assessed), then its counterpart
    assert commands[0] == PROBE_COMMAND
    assert [str(c) for c in commands[1:]] == ([asked] if asked else [])


def host_answering(document: str, options: dict) -> FakeHost:
    (_, probe), _ = requests(NO_SYSTEM, target(**options))
    return FakeHost({str(PROBE_COMMAND): CommandResult(str(PROBE_COMMAND), 0, recorded("debian12-probe-tls.json")),
                     str(probe): CommandResult(str(probe), 0, recorded(document))})


def test_a_page_in_clear_and_a_redirect():
    # Given nginx's plain port that serves a page, and one that only redirects
    page = collect(host_answering("debian12-plaintext-http-page.json", {}), NO_SYSTEM, target())
    redirect = collect(host_answering("debian12-plaintext-http-redirect.json", {}), NO_SYSTEM, target())
    # Then each GET is read with its status, Location and how much content came with it
    (answer,) = page.http
    assert (page.protocol, page.outcome, answer.status, answer.body_bytes) == ("http", "answered", 200, 68)
    assert answer.body_start.startswith("<html><body>Customer records")
    (moved,) = redirect.http
    assert (moved.status, moved.location.startswith("https://tls.auditor.test:"), moved.body_bytes) == (301, True, 169)
    assert page.endpoint == "portal.example:443"


def test_a_closed_plain_port():
    facts = collect(host_answering("debian12-plaintext-http-closed.json", {}), NO_SYSTEM, target())
    assert (facts.outcome, facts.http) == ("closed", ())
    assert "refused the connection" in facts.message


@pytest.mark.parametrize(
    ("document", "protocol", "replies", "login_disabled"),
    [
        ("debian12-plaintext-smtp.json", "smtp", [("MAIL FROM:<>", False), ("AUTH PLAIN", False)], None),
        ("debian12-plaintext-smtp-open.json", "smtp", [("MAIL FROM:<>", True), ("AUTH LOGIN", True)], None),
        ("debian12-plaintext-imap.json", "imap", [("a2 AUTHENTICATE PLAIN", False)], True),
        ("debian12-plaintext-imap-open.json", "imap", [("a2 AUTHENTICATE PLAIN", True)], False),
        ("debian12-plaintext-pop3.json", "pop3", [("AUTH PLAIN", False), ("USER auditor-probe", False)], None),
        ("debian12-plaintext-pop3-open.json", "pop3", [("AUTH PLAIN", True), ("USER auditor-probe", True)], None),
    ],
)
def test_mail_commands_before_starttls(document, protocol, replies, login_disabled):
    # Given a real mail server's answers before STARTTLS (aiosmtpd, Dovecot)
    facts = collect(host_answering(document, {"port": 587, "starttls": protocol}), NO_SYSTEM,
                    target(port=587, starttls=protocol))
    # Then the commands that carry mail or a login are read with whether the server went on with them
    assert facts.protocol == protocol and facts.greeting
    assert [(r.command, r.accepted) for r in facts.replies] == replies
    assert facts.login_disabled is login_disabled
    assert all(r.reply for r in facts.replies)


def test_a_starttls_protocol_without_a_plaintext_probe_says_so():
    host = FakeHost({str(PROBE_COMMAND): CommandResult(str(PROBE_COMMAND), 0, recorded("debian12-probe-tls.json"))})
    facts = collect(host, NO_SYSTEM, target(port=5432, starttls="postgres"))
    assert facts.protocol == "" and facts.not_probed == "POSTGRES with STARTTLS has no plaintext probe"


def test_an_endpoint_where_nothing_answered_is_not_assessed_whichever_collector_asks_first():
    host = FakeHost({str(PROBE_COMMAND): CommandResult(str(PROBE_COMMAND), 1,
                                                       recorded("debian12-probe-closed.json"))})
    with pytest.raises(ConnectError, match="refused the connection"):
        collect(host, NO_SYSTEM, target())
    assert host.calls == [str(PROBE_COMMAND)]


def test_a_probe_the_transport_refused_is_a_collector_error():
    (_, probe), _ = requests(NO_SYSTEM, target())
    host = FakeHost({str(PROBE_COMMAND): CommandResult(str(PROBE_COMMAND), 0, recorded("debian12-probe-tls.json")),
                     str(probe): CommandResult(str(probe), 2, "", "refused: not this target's plaintext counterpart")})
    with pytest.raises(CollectorError, match="exited 2: refused"):
        collect(host, NO_SYSTEM, target())


@pytest.mark.parametrize("text", ["", "[]", json.dumps({"probe": "something-else"}),
                                  json.dumps({"probe": "auditor-plaintext-probe/1"})])
def test_an_unreadable_document_is_a_collector_error(text):
    with pytest.raises(CollectorError, match="cannot be read"):
        parse_probe(text, "portal.example:443")
