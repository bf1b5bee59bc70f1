"""Collectors: one module per fact domain. This table is how the runner and the registry know them.

Modules are imported when a collector is first used (as testinfra's backends are), so a check pack is
validated against the names alone and a scan imports only what its checks need.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from auditor.collectors.base import Collector

__all__ = ["COLLECTORS", "SYSTEM", "Collector"]

# `system` is gathered first by the runner (it decides what applies); checks may ask for it too.
SYSTEM = "system"

_MODULES = {
    SYSTEM: "auditor.collectors.system",
    "timesync": "auditor.collectors.timesync",
    "journald": "auditor.collectors.journald",
    "disk": "auditor.collectors.disk",
    "auditd": "auditor.collectors.auditd",
    "syslog": "auditor.collectors.syslog",
    "network": "auditor.collectors.network",
    "firewall": "auditor.collectors.firewall",
    "listeners": "auditor.collectors.listeners",
    "vpn": "auditor.collectors.vpn",
    "screenlock": "auditor.collectors.screenlock",
    "updates": "auditor.collectors.updates",
    "backup": "auditor.collectors.backup",
    "antimalware": "auditor.collectors.antimalware",
    "pii": "auditor.collectors.pii",
    "sshd": "auditor.collectors.sshd",
    "ssh_wire": "auditor.collectors.ssh_wire",
    "ssh_auth": "auditor.collectors.ssh_auth",
    "tls": "auditor.collectors.tls",
    "tls_certificate": "auditor.collectors.tls_certificate",
    "tls_vulnerabilities": "auditor.collectors.tls_vulnerabilities",
    "tls_http": "auditor.collectors.tls_http",
    "plaintext": "auditor.collectors.plaintext",
    "db_wire": "auditor.collectors.databases.wire",
    "postgres": "auditor.collectors.databases.postgres",
    "mysql": "auditor.collectors.databases.mysql",
}


class _Table(Mapping[str, Collector]):
    """name -> Collector, importing the module on first use.

    Each module defines `requests` and `collect`, and optionally PARAMETERS (profile parameters it reads)
    and NEEDS_LOGIN = False (its facts are seen from the network).
    """

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._modules = dict(modules)
        self._loaded: dict[str, Collector] = {}

    def __getitem__(self, name: str) -> Collector:
        if name not in self._loaded:
            module = importlib.import_module(self._modules[name])
            self._loaded[name] = Collector(name, module.requests, module.collect,
                                           tuple(getattr(module, "PARAMETERS", ())),
                                           bool(getattr(module, "NEEDS_LOGIN", True)))
        return self._loaded[name]

    def __contains__(self, name: object) -> bool:
        # Mapping's own `in` would call __getitem__, importing the module: the registry asks for every check
        # parameter whether it names a collector, and that imported all of them on every scan.
        return name in self._modules

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)


COLLECTORS: Mapping[str, Collector] = _Table(_MODULES)
