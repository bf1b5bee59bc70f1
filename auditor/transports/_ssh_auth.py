"""Who the server is (host keys against known_hosts) and who we are (keys, agent, password from env).

Secrets never leave this module: a passphrase or password is read from the environment variable the
inventory names (or a prompt, only on a terminal), used once, and never put into a message or a log.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import logging
import os
import shlex
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import paramiko

from auditor.errors import AuthenticationError, HostKeyError
from auditor.records import record

log = logging.getLogger(__name__)

USER_KNOWN_HOSTS = Path("~/.ssh/known_hosts")
SYSTEM_KNOWN_HOSTS = Path("/etc/ssh/ssh_known_hosts")
DEFAULT_KEYS = ("~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa")

# Decrypted keys stay in memory for the run, so a fleet scan asks for a passphrase once per key file.
_keys: dict[str, paramiko.PKey] = {}
_keys_lock = threading.Lock()


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint: SHA256:<unpadded base64>."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


def known_hosts_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


@record
class HostKeyInfo:
    """The server's key as verified: type, fingerprint, and whether known_hosts held it or it was trusted new."""

    key_type: str
    sha256: str
    status: str  # "known" or "trusted-new"
    known_hosts: str


class KnownHosts:
    """The known_hosts entries for one target: an explicit file, else the user's and the system's.

    Read line by line rather than with paramiko's HostKeys.load, which gives up on the whole file at the first
    line it cannot parse, markers included. `@revoked` keys are refused, as OpenSSH refuses them;
    `@cert-authority` lines are noted (host certificates are not verified here) and one bad line is skipped.
    """

    def __init__(self, explicit: str | None) -> None:
        self.files = [Path(explicit).expanduser()] if explicit else [USER_KNOWN_HOSTS.expanduser(),
                                                                     SYSTEM_KNOWN_HOSTS]
        self._keys = paramiko.HostKeys()
        self._revoked: set[tuple[str, str]] = set()  # (key type, base64 key)
        # Where each kept entry came from, so that a refusal names the line to fix, as ssh does ("Offending key
        # in"): (the name as the line writes it, possibly hashed; key type) -> (file, line), in file order.
        self._origin: dict[tuple[str, str], tuple[Path, int]] = {}
        self.has_cert_authority = False
        for path in self.files:
            try:
                lines = path.read_text(errors="replace").splitlines() if path.is_file() else []
            except OSError as exc:
                log.warning("known_hosts %s could not be read: %s", path, exc)
                continue
            for number, line in enumerate(lines, 1):
                self._add_line(path, number, line.strip())

    def _add_line(self, path: Path, number: int, line: str) -> None:
        fields = line.split()
        if not fields or line.startswith("#"):
            return
        if fields[0] == "@revoked" and len(fields) >= 4:
            self._revoked.add((fields[2], fields[3]))
            return
        if fields[0] == "@cert-authority":
            self.has_cert_authority = True
            return
        try:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line, number)
        except (paramiko.SSHException, paramiko.hostkeys.InvalidHostKey, ValueError) as exc:
            log.warning("known_hosts %s:%d is skipped: %s", path, number, exc)
            return
        if entry is None or entry.key is None:  # a key type paramiko does not know
            return
        for name in entry.hostnames:
            if entry.key.get_name() not in (self._keys.lookup(name) or {}):  # the first line for a name wins
                self._keys.add(name, entry.key.get_name(), entry.key)
                self._origin.setdefault((name, entry.key.get_name()), (path, number))

    def known(self, name: str) -> dict[str, paramiko.PKey]:
        entry = self._keys.lookup(name)
        return dict(entry) if entry else {}

    def _line_of(self, name: str, key_type: str) -> tuple[Path, int]:
        """The file and line of the entry that holds `key_type` for `name` (line 0: not found)."""
        for (written, kind), origin in self._origin.items():
            if kind == key_type and (written == name or (written.startswith("|1|")
                                     and paramiko.HostKeys.hash_host(name, written) == written)):
                return origin
        return self.files[0], 0

    def preferred_algorithms(self, name: str, offered: Sequence[str]) -> tuple[str, ...]:
        """Host key algorithms with the known types first, so the server presents the key we hold (as OpenSSH)."""
        known = set(self.known(name))
        if "ssh-rsa" in known:
            known |= {"rsa-sha2-512", "rsa-sha2-256"}
        return tuple(sorted(offered, key=lambda algorithm: algorithm not in known))

    def verify(self, target: str, name: str, key: paramiko.PKey, trust_new: bool) -> HostKeyInfo:
        """Accept a known key; refuse a changed one always and an unknown one unless trust_new."""
        # A file that is not there is named as such: a typo in `known_hosts:` leaves every key unknown.
        where = ", ".join(str(p) if p.is_file() else f"{p}: no such file" for p in self.files)
        known = self.known(name)
        presented = fingerprint(key)
        if (key.get_name(), key.get_base64()) in self._revoked:
            log.error("%s: REVOKED host key presented by %s: %s", target, name, presented)
            raise HostKeyError(target, f"the server presented a REVOKED host key ({key.get_name()} {presented}, "
                               f"marked @revoked in known_hosts: {where}); nothing was run")
        if key.get_name() in known:
            if known[key.get_name()].asbytes() == key.asbytes():
                return HostKeyInfo(key.get_name(), presented, "known", where)
            held = known[key.get_name()]
            old = fingerprint(held)
            log.error("%s: HOST KEY CHANGED for %s: known %s, presented %s", target, name, old, presented)
            # The file and line that hold the old key; `ssh-keygen -R` without -f would edit ~/.ssh/known_hosts
            # only, and leave a target's own known_hosts (the inventory's `known_hosts:`) refusing the new key.
            path, line = self._line_of(name, held.get_name())
            at = f"{path}:{line}" if line else where
            raise HostKeyError(target, f"HOST KEY CHANGED for {name}: known_hosts ({at}) holds {key.get_name()} "
                               f"{old}, the server presented {presented}. This may be a man-in-the-middle attack; "
                               f"nothing was run. If the key was replaced on purpose, verify the new fingerprint "
                               f"out of band and update known_hosts (ssh-keygen -f {shlex.quote(str(path))} "
                               f"-R {shlex.quote(name)})")
        if known:
            raise HostKeyError(target, f"the server presented a {key.get_name()} key ({presented}) but known_hosts "
                               f"({where}) holds only {', '.join(sorted(known))} keys for {name}; nothing was run. "
                               "Verify the key out of band before updating known_hosts")
        if not trust_new:
            raise HostKeyError(target, f"unknown host key for {name}: {key.get_name()} {presented} is not in "
                               f"known_hosts ({where}); nothing was run. Verify it and add it (ssh-keyscan), or "
                               "scan with --trust-new-host-keys to accept it and record its fingerprint"
                               + ("; known_hosts trusts a @cert-authority, but host certificates are not verified by "
                                  "auditor: add the host's own key" if self.has_cert_authority else ""))
        log.warning("%s: trusting new host key %s %s for %s (--trust-new-host-keys)", target, key.get_name(),
                    presented, name)
        return HostKeyInfo(key.get_name(), presented, "trusted-new", where)


@record
class Credentials:
    """Where credentials may come from. Holds names of environment variables, never their values."""

    user: str
    identity_files: tuple[str, ...] = ()
    passphrase_env: str = ""
    password_env: str = ""
    use_agent: bool = True


def load_key(target: str, path: str, passphrase_env: str) -> paramiko.PKey:
    """A private key, decrypted with the passphrase from the environment (or a prompt on a terminal)."""
    full = os.path.expanduser(path)
    # One key at a time: 32 workers that share an encrypted key must not all prompt for it at once.
    with _keys_lock:
        if full not in _keys:
            _keys[full] = _read_key(target, full, passphrase_env)
        return _keys[full]


def _read_key(target: str, full: str, passphrase_env: str) -> paramiko.PKey:
    try:
        key = paramiko.PKey.from_path(full)
    # An encrypted OpenSSH-format key: paramiko 4+ lets cryptography's TypeError ("Key is password-protected,
    # but password was not provided") through instead of its own PasswordRequiredException.
    except (paramiko.PasswordRequiredException, TypeError):
        secret = os.environ.get(passphrase_env) if passphrase_env else None
        if secret is None and sys.stdin.isatty():
            secret = getpass.getpass(f"Passphrase for {full} ({target}): ")
        if secret is None:
            hint = f"export {passphrase_env}" if passphrase_env else "set passphrase_env: VAR in the inventory"
            raise AuthenticationError(target, f"key {full} is encrypted and no passphrase is available; {hint}, "
                                      "or load the key into ssh-agent") from None
        try:
            key = paramiko.PKey.from_path(full, secret.encode())
        except (paramiko.SSHException, ValueError) as exc:
            raise AuthenticationError(target, f"key {full} could not be decrypted (wrong passphrase?)") from exc
        finally:
            del secret
    except FileNotFoundError:
        raise AuthenticationError(target, f"key file {full} does not exist") from None
    except OSError as exc:
        raise AuthenticationError(target, f"key file {full} could not be read "
                                  f"({exc.strerror or type(exc).__name__})") from exc
    except (paramiko.SSHException, ValueError) as exc:
        # What paramiko and cryptography say here ("Unable to load PEM file. See https://...") names neither the
        # file nor what to do; the class name alone ("ValueError") meant nothing to the user either.
        raise AuthenticationError(target, f"key file {full} is not a private key auditor can read (OpenSSH or PEM "
                                  "format; convert a PuTTY .ppk key with puttygen)") from exc
    return key


def authenticate(target: str, transport: paramiko.Transport, credentials: Credentials) -> str:
    """Log in with the first credential the server accepts; returns how ("publickey <file>", "agent", ...)."""
    agent = paramiko.Agent() if (credentials.use_agent and not credentials.identity_files
                                 and os.environ.get("SSH_AUTH_SOCK")) else None
    try:
        return _authenticate(target, transport, credentials, agent)
    finally:
        if agent is not None:  # the agent signs during the login, so its socket stays open until then
            agent.close()


def _authenticate(target: str, transport: paramiko.Transport, credentials: Credentials,
                  agent: paramiko.Agent | None) -> str:
    tried: list[str] = []
    keys: list[tuple[str, paramiko.PKey]] = []
    explicit = credentials.identity_files
    for path in explicit:
        keys.append((f"key {os.path.expanduser(path)}", load_key(target, path, credentials.passphrase_env)))
    if not explicit:
        if agent is not None:
            try:
                keys.extend(("ssh-agent key", k) for k in agent.get_keys())
            except paramiko.SSHException as exc:
                log.debug("%s: ssh-agent unavailable: %s", target, exc)
        for path in DEFAULT_KEYS:
            if Path(path).expanduser().is_file():
                try:
                    keys.append((f"key {Path(path).expanduser()}", load_key(target, path, credentials.passphrase_env)))
                except AuthenticationError as exc:
                    log.debug("%s: skipping %s: %s", target, path, exc)
    for label, key in keys:
        try:
            transport.auth_publickey(credentials.user, key)
        except paramiko.AuthenticationException:
            tried.append(label)
            continue
        except paramiko.SSHException as exc:
            raise AuthenticationError(target, f"authentication failed ({exc})") from exc
        if transport.is_authenticated():
            return label
    if credentials.password_env:
        password = os.environ.get(credentials.password_env)
        if password is None:
            raise AuthenticationError(target, f"environment variable {credentials.password_env} (password_env) is "
                                      "not set")
        try:
            transport.auth_password(credentials.user, password)
        except paramiko.AuthenticationException:
            tried.append(f"password from ${credentials.password_env}")
        except paramiko.SSHException as exc:
            raise AuthenticationError(target, f"authentication failed ({exc})") from exc
        finally:
            del password
        if transport.is_authenticated():
            return "password"
    offered = "; ".join(tried) or "no key found (no identity_file, ssh-agent or ~/.ssh/id_*)"
    raise AuthenticationError(target, f"the server refused user {credentials.user!r} (tried: {offered})")
