"""TLS-0070 and TLS-0080 on facts built in code: the plaintext counterpart refuses, or only redirects to TLS."""

from __future__ import annotations

import pytest

from auditor.collectors.plaintext import HttpAnswer, MailReply, PlaintextFacts
from auditor.models import Status
from checks.plaintext import STOCK_PAGE_BYTES, mail_refuses_before_starttls, plain_http_redirects

REDIRECT = HttpAnswer("GET /", 301, "Moved Permanently", "https://portal.example/", 162)
PAGE = HttpAnswer("GET /", 200, "OK", "", 5120, body_start="<html><body>Customer records")


def http(*answers: HttpAnswer, outcome: str = "answered") -> PlaintextFacts:
    return PlaintextFacts("portal.example:443", "http", "portal.example:80", outcome, "probe sentence", answers)


@pytest.mark.parametrize(
    ("facts", "status", "words"),
    [
        (http(outcome="closed"), Status.PASS, "portal.example:80 (plain HTTP beside portal.example:443) refuses "
                                              "connections"),
        (http(outcome="unreachable"), Status.PASS, "accepts no connection from here"),
        (http(REDIRECT), Status.PASS, "only redirects to HTTPS: GET / -> 301 Moved Permanently (Location: "
                                      "https://portal.example/)"),
        (http(HttpAnswer("GET /", 302, "Found", "/login", 0), HttpAnswer("GET /login", 301, "", "https://x/", 0)),
         Status.PASS, "GET / -> 302 Found (Location: /login); GET /login -> 301"),
        (http(PAGE), Status.FAIL, "serves content in clear: GET / -> 200 OK with 5120 bytes starting '<html><body>"
                                  "Customer records'"),
        (http(HttpAnswer("GET /", 301, "", "https://portal.example/", STOCK_PAGE_BYTES + 1, body_start="<html>")),
         Status.FAIL, "serves content in clear"),
        (http(HttpAnswer("GET /", 302, "Found", "http://cdn.example/", 0)), Status.FAIL,
         "redirects to plain HTTP elsewhere, not to HTTPS"),
        (http(HttpAnswer("GET /", 404, "Not Found", "", 0)), Status.WARN,
         "answers plain HTTP without serving a page, but does not redirect to HTTPS"),
        (http(HttpAnswer("GET /", 0, said=("SSH-2.0-OpenSSH_9.2",))), Status.WARN,
         "answers, but not in HTTP: 'SSH-2.0-OpenSSH_9.2'"),
    ],
)
def test_plain_http_beside_https(facts, status, words):
    # Given what port 80 (or plain_port) answered, When TLS-0070 evaluates it
    verdict = plain_http_redirects(facts)
    # Then closed or redirect-only passes, and content in clear fails, saying what was served
    assert verdict.status is status and words in verdict.message


def mail(protocol: str, *replies: MailReply, login_disabled: bool | None = None, greeting: str = "220 ready",
         outcome: str = "answered") -> PlaintextFacts:
    return PlaintextFacts("mail.example:587", protocol, "mail.example:587", outcome, "probe sentence", (), greeting,
                          replies, login_disabled)


REFUSED_MAIL = MailReply("MAIL FROM:<>", "530 5.7.0 Must issue a STARTTLS command first", False)
REFUSED_AUTH = MailReply("AUTH PLAIN", "538 5.7.11 Encryption required", False)


@pytest.mark.parametrize(
    ("facts", "status", "words"),
    [
        (mail("smtp", REFUSED_MAIL, REFUSED_AUTH), Status.PASS,
         "refuses mail and logins before STARTTLS: MAIL FROM:<> -> '530 5.7.0 Must issue a STARTTLS command first'"),
        (mail("smtp", MailReply("MAIL FROM:<>", "250 OK", True), REFUSED_AUTH), Status.FAIL,
         "accepts before STARTTLS: MAIL FROM:<> -> '250 OK'"),
        (mail("smtp", REFUSED_MAIL, MailReply("AUTH LOGIN", "334 VXNlcm5hbWU6", True)), Status.FAIL,
         "AUTH LOGIN -> '334 VXNlcm5hbWU6'"),
        (mail("imap", MailReply("a2 AUTHENTICATE PLAIN", "a2 NO [PRIVACYREQUIRED] Plaintext authentication "
                                "disabled.", False), login_disabled=True), Status.PASS, "PRIVACYREQUIRED"),
        (mail("imap", MailReply("a2 AUTHENTICATE PLAIN", "a2 NO [PRIVACYREQUIRED]", False), login_disabled=False),
         Status.FAIL, "LOGIN (the server does not advertise LOGINDISABLED, so it takes a password in clear)"),
        (mail("pop3", MailReply("AUTH PLAIN", "-ERR [AUTH] Plaintext authentication disabled.", False),
              MailReply("USER auditor-probe", "+OK", True)), Status.FAIL, "USER auditor-probe -> '+OK'"),
        (mail("smtp", greeting="554 5.7.1 no service here"), Status.PASS, "turns clients away at once"),
        (mail("smtp"), Status.WARN, "answered none of the commands"),
        (mail("imap", outcome="closed"), Status.PASS, "refuses connections"),
    ],
)
def test_mail_before_starttls(facts, status, words):
    # Given what a mail server answered before STARTTLS, When TLS-0080 evaluates it
    verdict = mail_refuses_before_starttls(facts)
    # Then a command that carries mail or a login and was accepted fails, naming the command and the reply
    assert verdict.status is status and words in verdict.message


def test_each_check_applies_to_its_own_kind_of_counterpart():
    assert plain_http_redirects(mail("smtp", REFUSED_MAIL)).status is Status.NOT_APPLICABLE
    assert "its plaintext counterpart is SMTP (see TLS-0080)" in plain_http_redirects(mail("smtp")).message
    assert mail_refuses_before_starttls(http(REDIRECT)).status is Status.NOT_APPLICABLE
    postgres = PlaintextFacts("db.example:5432", "", not_probed="POSTGRES with STARTTLS has no plaintext probe")
    assert "POSTGRES with STARTTLS has no plaintext probe" in plain_http_redirects(postgres).message
    assert mail_refuses_before_starttls(postgres).status is Status.NOT_APPLICABLE
