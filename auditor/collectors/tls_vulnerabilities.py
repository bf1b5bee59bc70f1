"""Facts about known TLS attacks on one endpoint, from sslyze's vulnerability scan commands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field

from auditor.collectors.base import Requests
from auditor.collectors.tls import Endpoint, scan_request, scanned
from auditor.models import SystemFacts, Target
from auditor.records import record
from auditor.transports.base import Transport

NEEDS_LOGIN = False
PARAMETERS = ("target",)
# fact name -> (sslyze scan command, the result field, the field's value that means vulnerable)
TESTS = {
    "heartbleed": ("heartbleed", "is_vulnerable_to_heartbleed", True),
    "ccs_injection": ("openssl_ccs_injection", "is_vulnerable_to_ccs_injection", True),
    "compression": ("tls_compression", "supports_compression", True),
    "insecure_renegotiation": ("session_renegotiation", "supports_secure_renegotiation", False),
    "no_fallback_scsv": ("tls_fallback_scsv", "supports_fallback_scsv", False),
}
SCAN_COMMANDS = (*(command for command, _, _ in TESTS.values()), "robot")


@record
class VulnerabilityFacts:
    """Attributes:
    endpoint: which endpoint, and whether it spoke TLS at all.
    vulnerable: heartbleed, ccs_injection, compression, insecure_renegotiation, no_fallback_scsv -> True
        (vulnerable), False (not); absent when the test did not run.
    robot: sslyze's ROBOT verdict name ("" when it did not run).
    unavailable: sslyze scan command -> why it could not run (e.g. the server requires a client certificate).
    """

    endpoint: Endpoint
    vulnerable: Mapping[str, bool] = field(default_factory=dict)
    robot: str = ""
    unavailable: Mapping[str, str] = field(default_factory=dict)


def requests(_: SystemFacts, target: Target) -> Requests:
    return scan_request(target, SCAN_COMMANDS)


def collect(host: Transport, _: SystemFacts, target: Target) -> VulnerabilityFacts:
    scan = scanned(host, target, SCAN_COMMANDS)
    vulnerable = {name: bool(found[result_field]) is when
                  for name, (command, result_field, when) in TESTS.items()
                  if (found := scan.result(command)) is not None}
    robot = scan.result("robot")
    return VulnerabilityFacts(scan.endpoint, vulnerable, str(robot["robot_result"]) if robot else "",
                              scan.unavailable)
