"""OpenSSH client configuration (~/.ssh/config), read with paramiko.SSHConfig, which paramiko never does itself.

Only HostName, User, Port, IdentityFile, ProxyJump and ProxyCommand are used. A `Match exec` line runs a
command while the file is evaluated, so a config file is only read when it is as trusted as the account
that runs the scan: owned by it (or root) and writable by no one else, the rule OpenSSH applies.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import InputError
from auditor.records import record

if TYPE_CHECKING:
    import paramiko

DEFAULT_PATH = Path("~/.ssh/config")

_cache: dict[tuple[str, int, int], paramiko.SSHConfig] = {}
_lock = threading.Lock()


@record
class HostConfig:
    """What ~/.ssh/config says about one host alias.

    Attributes:
        hostname: the real name or address to connect to (the alias itself when not set).
        user / port: None when the file does not set them.
        identity_files: IdentityFile entries, ~ expanded, in order.
        proxy_jump: ProxyJump value ("user@host:port", comma-separated hops), or "".
        proxy_command: ProxyCommand with %h/%p/%r expanded, or "".
    """

    hostname: str
    user: str | None = None
    port: int | None = None
    identity_files: tuple[str, ...] = ()
    proxy_jump: str = ""
    proxy_command: str = ""


def _check_trusted(path: Path) -> None:
    info = path.stat()
    uid = os.geteuid() if hasattr(os, "geteuid") else info.st_uid
    if info.st_uid not in (uid, 0):
        raise InputError("ssh config file is owned by another user; it is not read because 'Match exec' lines "
                         "run commands", str(path), "chown it to the scanning account")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise InputError("ssh config file is writable by group or others; it is not read because 'Match exec' "
                         "lines run commands", str(path), f"chmod go-w {path}")


def load(path: Path) -> paramiko.SSHConfig | None:
    """The parsed file, or None when it does not exist; refused (InputError) when not trusted."""
    path = path.expanduser()
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"cannot read ssh config ({exc.strerror})", str(path), "fix its permissions") from None
    key = (str(path), info.st_mtime_ns, info.st_size)
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    _check_trusted(path)
    import paramiko  # only when there is a file: importing paramiko costs ~0.1 s (it imports invoke)

    try:
        parsed = paramiko.SSHConfig.from_path(str(path))
    except (OSError, ValueError, paramiko.ConfigParseError) as exc:
        raise InputError(f"cannot parse ssh config ({exc})", str(path), "fix the line it names") from None
    with _lock:
        _cache[key] = parsed
    return parsed


def lookup(alias: str, path: Path | None = None) -> HostConfig:
    """The settings for `alias` from `path` (default ~/.ssh/config); defaults when there is no file."""
    config = load(path or DEFAULT_PATH)
    if config is None:
        return HostConfig(hostname=alias)
    from paramiko import SSHException

    try:
        found = config.lookup(alias)
    except (SSHException, OSError, ValueError) as exc:
        # Match exec failures and bad tokens surface here, at lookup time.
        raise InputError(f"ssh config lookup for {alias!r} failed ({exc})", str(path or DEFAULT_PATH),
                         "fix the Host/Match block that applies to it") from None
    port = found.get("port")
    try:
        port_number = int(port) if port is not None else None
    except ValueError:
        raise InputError(f"Port {port!r} for {alias!r} is not a number", str(path or DEFAULT_PATH),
                         "write e.g. Port 22") from None
    proxy_command = found.get("proxycommand", "")
    return HostConfig(
        hostname=found.get("hostname", alias),
        user=found.get("user"),
        port=port_number,
        identity_files=tuple(os.path.expanduser(p) for p in found.get("identityfile", [])),
        proxy_jump="" if found.get("proxyjump", "none") == "none" else found["proxyjump"],
        proxy_command="" if proxy_command in ("", "none") else proxy_command,
    )
