"""Plaintext refused (TLS-0070, TLS-0080): the data a TLS endpoint protects is not also served in clear beside it.

Facts come from auditor/collectors/plaintext.py: what answered on the endpoint's plaintext counterpart (port 80
of an HTTPS host, or a mail server before STARTTLS). An HTTPS endpoint passes when its plain port is closed, or
only redirects to https:// with no more than a server's stock redirect page; a mail server passes when it
refuses mail and logins until the client has started TLS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.plugin import Severity, TargetKind, Verdict, check
from checks.tls import CIS, ISO

if TYPE_CHECKING:
    # Collector modules are imported when a check runs, so loading the pack imports none of them.
    from auditor.collectors.plaintext import HttpAnswer, PlaintextFacts

# A redirect's body larger than this is content, not a server's stock "301 Moved Permanently" page (nginx sends
# 162 bytes, Apache about 230).
STOCK_PAGE_BYTES = 512
_NOTHING_ANSWERED = {"closed": "refuses connections: nothing listens there",
                     "unreachable": "accepts no connection from here (filtered, or down)",
                     "silent": "accepts connections but answers nothing"}


def _shown(answer: HttpAnswer) -> str:
    return f"{answer.request} -> {answer.status} {answer.reason}".rstrip() + \
        (f" (Location: {answer.location})" if answer.location else "")


def _not_this_kind(facts: PlaintextFacts, kind: str, other_check: str) -> Verdict:
    other = f"its plaintext counterpart is {facts.protocol.upper()} (see {other_check})" if facts.protocol else \
        facts.not_probed
    return Verdict.not_applicable(f"{facts.endpoint} is not {kind}: {other}.")


@check(
    id="TLS-0070", title="The plain-HTTP port of an HTTPS endpoint is closed or only redirects to HTTPS",
    severity=Severity.HIGH, requirements=("R2", "R8"), controls=ISO + CIS, target_kinds=(TargetKind.TLS,),
    remediation="Close port 80, or let it answer every request with a redirect to https:// and nothing else, e.g. "
    "nginx `server { listen 80; return 301 https://$host$request_uri; }`. Name another plain port with "
    "`plain_port:` in the inventory.",
)
def plain_http_redirects(plaintext: PlaintextFacts) -> Verdict:
    facts = plaintext
    if facts.protocol != "http":
        return _not_this_kind(facts, "HTTPS", "TLS-0080")
    where = f"{facts.address} (plain HTTP beside {facts.endpoint})"
    expected = {"plain_http": "closed, or a redirect to https:// without content"}
    if facts.outcome in _NOTHING_ANSWERED:
        return Verdict.passed(f"{where} {_NOTHING_ANSWERED[facts.outcome]}.",
                              observed={"outcome": facts.outcome, "probe": facts.message}, expected=expected)
    if facts.outcome != "answered" or not facts.http:
        return Verdict.warning(f"{where} could not be judged: {facts.message}.", observed={"outcome": facts.outcome},
                               expected=expected)
    last = facts.http[-1]
    observed = {"answers": [_shown(a) for a in facts.http], "body_bytes": [a.body_bytes for a in facts.http]}
    chain = "; ".join(_shown(a) for a in facts.http)
    served = next((a for a in facts.http if (200 <= a.status < 300 and a.body_bytes) or
                   a.body_bytes > STOCK_PAGE_BYTES), None)
    if served is not None:
        size = f"{served.body_bytes}{'+' if served.body_truncated else ''} bytes"
        return Verdict.failed(f"{where} serves content in clear: {_shown(served)} with {size} starting "
                              f"'{served.body_start[:80]}'.", observed=observed, expected=expected)
    if last.status == 0:
        return Verdict.warning(f"{where} answers, but not in HTTP: '{' '.join(last.said)[:120]}'.",
                               observed=observed, expected=expected)
    if 300 <= last.status < 400 and last.location.lower().startswith("https://"):
        return Verdict.passed(f"{where} only redirects to HTTPS: {chain}.", observed=observed, expected=expected)
    if 300 <= last.status < 400 and last.location.lower().startswith("http://"):
        return Verdict.failed(f"{where} redirects to plain HTTP elsewhere, not to HTTPS: {chain} (not followed off "
                              "the host).", observed=observed, expected=expected)
    return Verdict.warning(f"{where} answers plain HTTP without serving a page, but does not redirect to HTTPS: "
                           f"{chain}.", observed=observed, expected=expected)


@check(
    id="TLS-0080", title="A mail server refuses mail and logins before STARTTLS",
    severity=Severity.HIGH, requirements=("R2", "R8"), controls=ISO + CIS, target_kinds=(TargetKind.TLS,),
    remediation="Require TLS before mail or a login: Postfix `smtpd_tls_security_level = encrypt` and "
    "`smtpd_tls_auth_only = yes` (on submission, port 587), Dovecot `ssl = required` and "
    "`disable_plaintext_auth = yes`. A public MX on port 25 that must accept mail from servers without TLS "
    "is a controller's exception: record it as a waiver.",
)
def mail_refuses_before_starttls(plaintext: PlaintextFacts) -> Verdict:
    facts = plaintext
    if facts.protocol not in ("smtp", "imap", "pop3"):
        return _not_this_kind(facts, "a mail service", "TLS-0070")
    protocol = facts.protocol.upper()
    where = f"{facts.address} ({protocol} in clear)"
    expected = {"before_starttls": "mail and logins refused"}
    if facts.outcome in _NOTHING_ANSWERED:
        return Verdict.passed(f"{where} {_NOTHING_ANSWERED[facts.outcome]}.",
                              observed={"outcome": facts.outcome, "probe": facts.message}, expected=expected)
    answers = [f"{r.command} -> '{r.reply}'" for r in facts.replies]
    accepted = [f"{r.command} -> '{r.reply}'" for r in facts.replies if r.accepted]
    if facts.login_disabled is False:
        accepted.append("LOGIN (the server does not advertise LOGINDISABLED, so it takes a password in clear)")
    observed = {"greeting": facts.greeting, "answers": answers, "login_disabled": facts.login_disabled}
    if accepted:
        return Verdict.failed(f"{where} accepts before STARTTLS: {'; '.join(accepted)}.", observed=observed,
                              expected=expected)
    if facts.greeting.upper().startswith(("554", "-ERR", "* BYE")):
        return Verdict.passed(f"{where} turns clients away at once: '{facts.greeting}'.", observed=observed,
                              expected=expected)
    if not facts.replies:
        return Verdict.warning(f"{where} greeted '{facts.greeting}' but answered none of the commands that carry "
                               "mail or a login.", observed=observed, expected=expected)
    return Verdict.passed(f"{where} refuses mail and logins before STARTTLS: {'; '.join(answers)}.",
                          observed=observed, expected=expected)
