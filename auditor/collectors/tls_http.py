"""Facts about an HTTPS endpoint's answer over TLS (its Strict-Transport-Security header), from sslyze's
http_headers scan command. A STARTTLS service is not HTTP: nothing is scanned for it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field

from auditor.collectors.base import Requests
from auditor.collectors.tls import Endpoint, last_line, scan_request, scanned
from auditor.models import SystemFacts, Target
from auditor.records import record
from auditor.transports.base import Transport

NEEDS_LOGIN = False
PARAMETERS = ("target",)
SCAN_COMMANDS = ("http_headers",)


@record
class HttpFacts:
    """Attributes:
    endpoint: which endpoint, and whether it spoke TLS at all.
    answered: the service answered sslyze's HTTP request over TLS (False for STARTTLS or non-HTTP services).
    hsts_max_age: max-age of Strict-Transport-Security in seconds (None: no header, or not HTTP).
    error: why there was no HTTP answer ("" when there was one).
    unavailable: sslyze scan command -> why it could not run (e.g. the server requires a client certificate).
    """

    endpoint: Endpoint
    answered: bool = False
    hsts_max_age: int | None = None
    error: str = ""
    unavailable: Mapping[str, str] = field(default_factory=dict)


def _commands(target: Target) -> tuple[str, ...]:
    return () if target.options.get("starttls") else SCAN_COMMANDS


def requests(_: SystemFacts, target: Target) -> Requests:
    return scan_request(target, _commands(target))


def collect(host: Transport, _: SystemFacts, target: Target) -> HttpFacts:
    scan = scanned(host, target, _commands(target))
    http = scan.result("http_headers")
    if http is None:
        return HttpFacts(scan.endpoint, error=scan.unavailable.get("http_headers", ""), unavailable=scan.unavailable)
    error = last_line(http.get("http_error_trace") or "")
    hsts = http.get("strict_transport_security_header") or {}
    return HttpFacts(scan.endpoint, not error, hsts.get("max_age"), error, scan.unavailable)
