"""Facts about a TLS endpoint's plaintext counterpart: what answers in clear where the same data could travel.

For HTTPS that is port 80 of the same host (or the target's `plain_port`); for SMTP, IMAP and POP3 with
STARTTLS it is the same port before STARTTLS; an implicit-TLS mail port (993, 995, 465) has its STARTTLS port
(143, 110, 587). The TLS transport's `plaintext-probe` (auditor/transports/_plaintext_probe.py) asks and records
the answers; this module reads them. A target whose TLS port did not answer at all is not assessed (see tls.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from auditor.collectors.base import Requests
from auditor.collectors.tls import PROBE_COMMAND, reach
from auditor.errors import CollectorError
from auditor.models import SystemFacts, Target
from auditor.records import record
from auditor.transports._plaintext_probe import FORMAT, counterpart, probe_command
from auditor.transports.base import Command, Transport
from auditor.transports.tls import DEFAULT_PORT

NEEDS_LOGIN = False
PARAMETERS = ("target",)
PROBE_TIMEOUT = 120.0  # the transport bounds the probe by the target's connect_timeout
# The commands that carry mail or a login: the ones whose answer before STARTTLS is judged.
_CARRY_DATA = re.compile(r"^(MAIL FROM|AUTH |a2 AUTHENTICATE |USER )", re.IGNORECASE)


@record
class HttpAnswer:
    """One GET in clear. Attributes: request ("GET /"); status (0: the answer was not HTTP, `said` holds it);
    reason; location (the Location header, ""); body_bytes (up to the probe's cap, body_truncated past it);
    body_start (the first characters, escaped)."""

    request: str
    status: int
    reason: str = ""
    location: str = ""
    body_bytes: int = 0
    body_truncated: bool = False
    body_start: str = ""
    said: tuple[str, ...] = ()


@record
class MailReply:
    """A command that carries mail or a login, sent before STARTTLS, and the server's answer.

    Attributes:
        command: as sent ("MAIL FROM:<>", "AUTH PLAIN", "a2 AUTHENTICATE PLAIN", "USER auditor-probe").
        reply: the server's answering line ("" when it answered nothing).
        accepted: the server went on with it: SMTP 2xx or 3xx, IMAP OK or a continuation request, POP3 +OK
            or a continuation request.
    """

    command: str
    reply: str
    accepted: bool


@record
class PlaintextFacts:
    """Attributes:
    endpoint: the TLS endpoint ("server_name:port", as the TLS checks name it) whose counterpart this is.
    protocol: http, smtp, imap or pop3; "" when there is no counterpart to probe (`not_probed` says why).
    address: the counterpart's host:port.
    outcome: answered, closed, unreachable, silent or unresolvable; message: the probe's sentence.
    http: each GET, in the order the same-host redirects were followed.
    greeting: a mail server's first line; replies: its answers to the commands that carry mail or a login.
    login_disabled: IMAP advertised LOGINDISABLED before STARTTLS (None: not IMAP, or no capability list).
    """

    endpoint: str
    protocol: str
    address: str = ""
    outcome: str = ""
    message: str = ""
    http: tuple[HttpAnswer, ...] = ()
    greeting: str = ""
    replies: tuple[MailReply, ...] = ()
    login_disabled: bool | None = None
    not_probed: str = ""


def _command(target: Target) -> Command | None:
    options = target.options
    host = str(options["host"])
    port = int(options.get("port", DEFAULT_PORT))
    found = counterpart(port, str(options.get("starttls", "")), options.get("plain_port"))
    if found is None:
        return None
    protocol, plain_port = found
    return probe_command(protocol, host, plain_port, str(options.get("server_name") or host), PROBE_TIMEOUT)


def requests(_: SystemFacts, target: Target) -> Requests:
    command = _command(target)
    return (PROBE_COMMAND, *([command] if command else [])), ()


def collect(host: Transport, _: SystemFacts, target: Target) -> PlaintextFacts:
    reach(host)  # a TLS port where nothing answers makes the target not assessed, whichever collector asks first
    options = target.options
    endpoint = f"{options.get('server_name') or options['host']}:{options.get('port', DEFAULT_PORT)}"
    command = _command(target)
    if command is None:
        starttls = str(options.get("starttls", "")).upper()
        return PlaintextFacts(endpoint, "", not_probed=f"{starttls} with STARTTLS has no plaintext probe")
    result = host.run(command)
    if not result.ok:
        raise CollectorError(result.failure())
    return parse_probe(result.stdout, endpoint)


def parse_probe(text: str, endpoint: str) -> PlaintextFacts:
    """The `plaintext-probe` JSON document -> facts; CollectorError when it is not one."""
    try:
        document: dict[str, Any] = json.loads(text)
        if document.get("probe") != FORMAT:
            raise ValueError("not a plaintext-probe document")
        protocol, address = str(document["protocol"]), f"{document['host']}:{document['port']}"
        head = PlaintextFacts(endpoint, protocol, address, str(document["outcome"]), str(document["message"]))
        if protocol == "http":
            answers = tuple(_http_answer(hop) for hop in document.get("hops") or ())
            return replace(head, http=answers)
        return _mail(head, document.get("exchanges") or [])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CollectorError(f"the plaintext probe's answer cannot be read ({exc})") from exc


def _http_answer(hop: dict[str, Any]) -> HttpAnswer:
    return HttpAnswer(str(hop["request"]), int(hop["status"]), str(hop.get("reason", "")),
                      str(hop.get("location", "")), int(hop.get("body_bytes", 0)),
                      bool(hop.get("body_truncated", False)), str(hop.get("body_start", "")),
                      tuple(hop.get("not_http") or ()))


def _mail(head: PlaintextFacts, exchanges: list[dict[str, Any]]) -> PlaintextFacts:
    greeting = " ".join(exchanges[0]["received"][:1]) if exchanges else ""
    replies = []
    login_disabled = None
    for exchange in exchanges[1:]:
        sent, received = str(exchange["sent"]), [str(line) for line in exchange["received"]]
        if head.protocol == "imap" and sent.upper().endswith("CAPABILITY"):
            login_disabled = any("LOGINDISABLED" in line.upper().split() for line in received
                                 if line.startswith("* CAPABILITY"))
        if _CARRY_DATA.match(sent):
            reply = received[-1] if received else ""
            replies.append(MailReply(sent, reply, _accepted(head.protocol, reply)))
    return replace(head, greeting=greeting, replies=tuple(replies), login_disabled=login_disabled)


def _accepted(protocol: str, reply: str) -> bool:
    if protocol == "smtp":
        return reply[:1] in ("2", "3")
    if protocol == "imap":
        return reply.startswith("+") or reply.upper().startswith("A2 OK")
    return reply.startswith("+")
