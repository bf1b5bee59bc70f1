"""What a database server answers on the network, for `kind: tls` targets with `starttls: postgres` or
`starttls: mysql`: is TLS offered, and is a client without it refused.

The TLS transport answers the pseudo-command `db-probe ENGINE HOST PORT ...` (auditor/transports/_db_probe.py)
with the server's own answers as JSON; this module reads them. Any other TLS target gets facts with no engine
and nothing is sent to it. The password of a MySQL login (`password_env`) is read by the transport from the
scanner's environment; only the variable's name is in the command and the evidence.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from auditor.collectors.base import Requests
from auditor.errors import CollectorError
from auditor.models import SystemFacts, Target
from auditor.records import record
from auditor.transports._db_probe import ProbeRequest, parse_greeting, probe_command
from auditor.transports.base import Command, Transport

NEEDS_LOGIN = False  # the server's answers, seen from the network
PARAMETERS = ("target",)
PROBE_TIMEOUT = 120.0  # the transport bounds each connection by the target's connect_timeout
DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}  # starttls value (= db-probe engine) -> its usual port


@record
class Answer:
    """The server's answer to one attempt: `accepted` (PostgreSQL asked for a password, or trusted; a MySQL login
    went through) or refused, in the server's words (`code` is the SQLSTATE or MySQL error number)."""

    accepted: bool
    said: str
    code: str = ""


@record
class DbWireFacts:
    """Attributes:
    engine: "postgres" or "mysql"; "" for a TLS target that is not a database (then nothing was probed).
    endpoint: host:port; user: the account the probe named (PostgreSQL) or logged in as (MySQL).
    tls_offered: PostgreSQL answered the SSLRequest with 'S' / the MySQL greeting has CLIENT_SSL.
    tls_version / tls_cipher: what a TLS handshake negotiated ("" when none completed; tls_error says why).
    over_tls / plaintext: the answer to the same attempt with and without TLS (PostgreSQL: a startup message;
        MySQL: the login with password_env); None when not tried.
    server_version: the version a MySQL server greets with; greeting_error: its error instead of a greeting.
    password_env: the variable the MySQL login's password came from ("" when none was named);
        login_problem: why no login was tried although one was asked for (the variable is not set).
    """

    engine: str
    endpoint: str = ""
    user: str = ""
    tls_offered: bool = False
    tls_version: str = ""
    tls_cipher: str = ""
    tls_error: str = ""
    over_tls: Answer | None = None
    plaintext: Answer | None = None
    server_version: str = ""
    greeting_error: str = ""
    password_env: str = ""
    login_problem: str = ""


def _request(target: Target) -> ProbeRequest | None:
    options = target.options
    engine = str(options.get("starttls", ""))
    if engine not in DEFAULT_PORTS:
        return None
    return ProbeRequest(engine, str(options["host"]), int(options.get("port", DEFAULT_PORTS[engine])),
                        str(options.get("user", "")), str(options.get("database", "")),
                        str(options.get("password_env", "")))


def _command(target: Target) -> Command | None:
    request = _request(target)
    return probe_command(request, PROBE_TIMEOUT) if request else None


def requests(system: SystemFacts, target: Target | None = None) -> Requests:
    """The probe of a database endpoint; nothing for any other target (a host has no such endpoint)."""
    command = _command(target) if target is not None and system.platform is None else None
    return ((command,) if command else ()), ()


def collect(host: Transport, _: SystemFacts, target: Target) -> DbWireFacts:
    """The server's answers; CollectorError (with the probe's reason) when it could not be probed."""
    command = _command(target)
    if command is None:
        return DbWireFacts(engine="")
    result = host.run(command)
    if not result.ok:
        raise CollectorError(result.stderr.strip() or result.failure())
    return parse_probe(result.stdout)


def parse_probe(text: str) -> DbWireFacts:
    """The `db-probe` JSON document -> facts; CollectorError when it is not one."""
    try:
        document = json.loads(text)
        if document.get("probe") != "auditor-db-probe/1":
            raise ValueError("not a db-probe document")
        engine = str(document["engine"])
        endpoint = f"{document['host']}:{document['port']}"
        facts = _postgres(document) if engine == "postgres" else _mysql(document)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise CollectorError(f"the database probe's answer cannot be read ({exc})") from exc
    return DbWireFacts(engine=engine, endpoint=endpoint, user=str(document.get("user", "")), **facts)


def _pg_answer(found: dict[str, Any] | None) -> Answer | None:
    if not found:
        return None
    if found["answer"] == "authentication":
        return Answer(True, f"asked for {found['method']}")
    return Answer(False, f"{found.get('severity', 'ERROR')} {found.get('code', '')}: {found.get('message', '')}",
                  str(found.get("code", "")))


def _postgres(document: dict[str, Any]) -> dict[str, Any]:
    ssl = document["ssl_request"]
    return {"tls_offered": ssl["answer"] == "S", "tls_version": str(ssl.get("version", "")),
            "tls_cipher": str(ssl.get("cipher", "")), "tls_error": str(ssl.get("error", "")),
            "over_tls": _pg_answer(ssl.get("startup")), "plaintext": _pg_answer(document["plaintext_startup"])}


def _my_answer(found: dict[str, Any]) -> Answer:
    if found["answer"] == "accepted":
        return Answer(True, "logged in")
    code = found.get("code") or ""
    return Answer(False, f"ERROR {code}: {found.get('message', '')}".replace("ERROR : ", "error: "), str(code))


def _mysql(document: dict[str, Any]) -> dict[str, Any]:
    greeting = parse_greeting(base64.b64decode(document["greeting_base64"], validate=True))
    tls = document["tls"]
    login = document.get("login") or {}
    attempts = {bool(a["tls"]): _my_answer(a) for a in login.get("attempts", ())}
    return {"tls_offered": greeting.offers_tls, "tls_version": str(tls.get("version", "")),
            "tls_cipher": str(tls.get("cipher", "")), "tls_error": str(tls.get("error", "")),
            "over_tls": attempts.get(True), "plaintext": attempts.get(False),
            "server_version": greeting.server_version,
            "greeting_error": f"ERROR {greeting.error_code}: {greeting.error_message}" if greeting.error_code else "",
            "password_env": str(login.get("password_env", "")), "login_problem": str(login.get("error", ""))}
