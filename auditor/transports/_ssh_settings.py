"""How to reach one SSH target: the inventory's options merged with ~/.ssh/config (no paramiko needed)."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from auditor import ssh_config
from auditor.models import Target
from auditor.records import record


@record
class Settings:
    """Everything needed to reach one target, merged from the inventory (first) and ~/.ssh/config.

    Attributes:
        host / port / user: where and as whom to log in (HostName from ssh config resolved).
        budgets (seconds): connect (TCP), banner (first line from the server), auth (key exchange and
            login), total (everything on this target, commands included).
        auth: "none" logs in to nothing: only the pseudo-commands (network facts) are answered.
        legacy: log in with legacy algorithms too (SHA-1 kex, ssh-rsa host keys, CBC/3DES, SHA-1/MD5 MACs),
            when the target opts in (`legacy_ssh: true`, `--legacy-ssh`).
    """

    host: str
    port: int = 22
    user: str = ""
    identity_files: tuple[str, ...] = ()
    known_hosts: str | None = None
    sudo: bool = False
    proxy_jump: str = ""
    proxy_command: str = ""
    password_env: str = ""
    passphrase_env: str = ""
    auth: str = ""
    legacy: bool = False
    connect_timeout: float = 10.0
    banner_timeout: float = 10.0
    auth_timeout: float = 20.0
    total_timeout: float = 900.0

    @classmethod
    def from_target(cls, target: Target) -> Settings:
        options = target.options
        config_path = options.get("ssh_config")
        config = (ssh_config.HostConfig(options["host"]) if config_path == "none"
                  else ssh_config.lookup(options["host"], Path(config_path) if config_path else None))
        identity = options.get("identity_file")
        return cls(
            host=config.hostname, port=int(options.get("port") or config.port or 22),
            user=options.get("user") or config.user or getpass.getuser(),
            identity_files=(identity,) if identity else config.identity_files,
            known_hosts=options.get("known_hosts"), sudo=bool(options.get("sudo", False)),
            proxy_jump=options.get("proxy_jump") or config.proxy_jump, proxy_command=config.proxy_command,
            password_env=options.get("password_env", ""), passphrase_env=options.get("passphrase_env", ""),
            auth=options.get("auth", ""), legacy=bool(options.get("legacy_ssh", False)),
            **{k: float(options[k]) for k in ("connect_timeout", "banner_timeout", "auth_timeout", "total_timeout")
               if k in options},
        )


def jump_target(spec: str, parent: Target) -> Target:
    """A Target for one ProxyJump hop ("[user@]host[:port]"), inheriting known_hosts and key settings."""
    user, _, rest = spec.rpartition("@")
    host, _, port = rest.partition(":")
    if rest.startswith("["):
        host, _, port = rest[1:].partition("]")
        port = port.lstrip(":")
    # The jump host is verified against the same known_hosts and, as is usual for a bastion, with the same key.
    inherited = {k: parent.options[k] for k in ("known_hosts", "identity_file", "passphrase_env", "ssh_config",
                                                "connect_timeout", "banner_timeout", "auth_timeout")
                 if k in parent.options}
    options: dict[str, Any] = {**inherited, "host": host}
    if user:
        options["user"] = user
    if port:
        options["port"] = int(port)
    return Target(name=f"{parent.name}-jump", kind=parent.kind, options=options)
