"""The authentication methods an SSH server offers before any login: its answer to an SSH "none" request
(RFC 4252 5.2), which auditor/transports/_ssh_none.py asks after a whole key exchange, without credentials.

A collector of its own, beside ssh_wire (banner, algorithms, host keys): only SSH-0110 needs it, so a scan of
SSH-0100 alone makes no key exchange for it. When both run, the transport asks the "none" request over the
connection that brings the first host key. The pseudo-command `auditor:ssh-auth-methods` answers with JSON, kept
as evidence.
"""

from __future__ import annotations

import json
from typing import Any

from auditor.collectors.base import Requests
from auditor.collectors.ssh_wire import KEXINIT_COMMAND, answer, banner_and_offer, failure
from auditor.errors import CollectorError
from auditor.models import SystemFacts
from auditor.records import record
from auditor.transports._ssh_wire import AUTH_METHODS
from auditor.transports.base import Transport, cmd

NEEDS_LOGIN = False  # asked of the server on the wire, as a client that has not logged in
AUTH_METHODS_COMMAND = cmd(AUTH_METHODS, timeout=60)


@record
class SshAuthFacts:
    """Attributes:
    probed: False when there is no network address to probe (a local target); `problem` says why.
    host / port: the server asked.
    auth_user / auth_methods: the methods a "none" request as auth_user was told may continue (None: unknown,
        auth_problem says why); none_accepted: the server let the "none" request in.
    """

    probed: bool
    problem: str = ""
    host: str = ""
    port: int = 0
    auth_user: str = ""
    auth_methods: tuple[str, ...] | None = None
    none_accepted: bool = False
    auth_problem: str = ""


def requests(_: SystemFacts) -> Requests:
    return (KEXINIT_COMMAND, AUTH_METHODS_COMMAND), ()


def collect(host: Transport, _: SystemFacts) -> SshAuthFacts:
    seen = banner_and_offer(host)  # where the server is; the transport has this answer already
    if not seen.probed:
        return SshAuthFacts(probed=False, problem=seen.problem)
    auth = answer(host, AUTH_METHODS_COMMAND)
    found = parse_auth_methods(auth.stdout) if auth.ok else {"auth_problem": failure(auth)}
    return SshAuthFacts(probed=True, host=seen.host, port=seen.port, **found)


def parse_auth_methods(text: str) -> dict[str, Any]:
    """The transport's `ssh-auth-methods` JSON -> auth_user, auth_methods, none_accepted."""
    try:
        document = json.loads(text)
        return {"auth_user": str(document["user"]), "auth_methods": tuple(map(str, document["methods"])),
                "none_accepted": bool(document["none_accepted"])}
    except (ValueError, KeyError, TypeError) as exc:
        raise CollectorError(f"the authentication probe returned something unreadable ({exc})") from exc
