"""Transports: how the runner reaches a target. `open_transport` is the only place that knows them all.

Implementations are imported when used (as testinfra's backends are), so that importing
`auditor.transports.base` stays free of cycles and of heavy dependencies.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from auditor.errors import UnsupportedTarget
from auditor.extras import require
from auditor.models import Target, TargetKind
from auditor.transports.base import Transport

__all__ = ["open_transport"]


def open_transport(target: Target, replay_from: Path | None = None, *, login: bool = True,
                   trust_new_host_keys: bool = False) -> Transport:
    """Connect to `target`, or, with `replay_from`, answer from that run's evidence instead.

    login: False when only facts seen from the network are needed (the plan decides): an SSH target is
        then probed without logging in, as with `auth: none`.
    trust_new_host_keys: for SSH, accept a host key that known_hosts does not hold yet, and record it.
    """
    if replay_from is not None:
        from auditor.transports.replay import ReplayTransport

        return ReplayTransport(replay_from, target.name)
    if target.kind is TargetKind.LOCAL:
        from auditor.transports.local import LocalTransport

        return LocalTransport(target.name, use_sudo=bool(target.options.get("sudo", False)))
    if target.kind is TargetKind.SSH:
        require("fleet")  # paramiko: one line naming the extra, not an ImportError
        from auditor.transports._ssh_settings import Settings

        settings = Settings.from_target(target)
        if not login:
            settings = dataclasses.replace(settings, auth="none")
        if settings.auth == "none" and not (settings.proxy_jump or settings.proxy_command):
            from auditor.transports.ssh_network import SshNetworkTransport

            return SshNetworkTransport(target.name, settings)
        from auditor.transports.ssh import SshTransport

        return SshTransport(target, trust_new_host_keys=trust_new_host_keys, settings=settings)
    if target.kind is TargetKind.TLS:
        require("tls")  # sslyze
        from auditor.transports.tls import TlsTransport

        return TlsTransport(target)
    raise UnsupportedTarget(target.name, f"kind {target.kind.value!r} is unknown")
