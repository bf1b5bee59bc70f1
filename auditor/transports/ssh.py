"""The SSH transport (paramiko): one verified connection per target, batched commands, bounded in time and size.

    connect   TCP (TCP_NODELAY) or ProxyJump / ProxyCommand -> banner -> key exchange -> host key checked
              against known_hosts (RejectPolicy semantics: a changed key is a HostKeyError and nothing runs)
              -> publickey (identity file, ssh-agent) or a password from an environment variable
    run       up to 4 long-lived `/bin/sh -s` channels; each run_many/read_many is one round trip per
              channel, framed by _ssh_batch (length-prefixed stdout, stderr and exit status per command)

Two pseudo-commands are answered by the transport itself, so their answers are recorded as evidence like
any other command (and replayed unchanged): `auditor:ssh-hostkey` (the verified host key) and
`auditor:ssh-kexinit` (banner and KEXINIT read over a second TCP connection, without logging in).
Nothing above transports/ sees a paramiko type: every paramiko and socket error becomes a TransportError.
"""

from __future__ import annotations

import getpass
import json
import logging
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko

from auditor import ssh_config
from auditor.errors import AuthenticationError, ConnectError, TransportError, UnsupportedTarget
from auditor.models import Target
from auditor.transports import _ssh_batch as batch
from auditor.transports._ssh_auth import Credentials, HostKeyInfo, KnownHosts, authenticate, known_hosts_name
from auditor.transports._ssh_wire import HOSTKEY, KEXINIT, ProbeError, probe
from auditor.transports.base import Command, CommandResult, FileContent

log = logging.getLogger(__name__)
# paramiko logs each failed handshake with a traceback; every such failure is raised here as a TransportError
# with its reason, so the duplicate would only clutter the scan's console.
logging.getLogger("paramiko").setLevel(logging.CRITICAL)

MAX_CHANNELS = 4  # OpenSSH's MaxSessions defaults to 10; stay well below it
_PROXY_DEPTH = 3


@dataclass(frozen=True)
class Settings:
    """Everything needed to reach one target, merged from the inventory (first) and ~/.ssh/config.

    Attributes:
        host / port / user: where and as whom to log in (HostName from ssh config resolved).
        budgets (seconds): connect (TCP), banner (first line from the server), auth (key exchange and
            login), total (everything on this target, commands included).
        auth: "none" logs in to nothing: only the pseudo-commands (network facts) are answered.
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
            auth=options.get("auth", ""),
            **{k: float(options[k]) for k in ("connect_timeout", "banner_timeout", "auth_timeout", "total_timeout")
               if k in options},
        )


def _jump_target(spec: str, parent: Target) -> Target:
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


class _Channel:
    """A channel as the frame reader sees it: receive with a timeout, stderr drained and dropped."""

    def __init__(self, channel: paramiko.Channel) -> None:
        self.channel = channel
        self.primed = False

    def receive(self, timeout: float) -> bytes:
        self.channel.settimeout(max(0.01, timeout))
        while self.channel.recv_stderr_ready():
            self.channel.recv_stderr(65536)
        try:
            return bytes(self.channel.recv(1 << 20))
        except TimeoutError:
            raise batch.StreamTimeout from None


class SshTransport:
    """A logged-in SSH connection to one target, or (auth: none) just its address for network probes."""

    def __init__(self, target: Target, *, trust_new_host_keys: bool = False, depth: int = 0) -> None:
        self.target = target.name
        self.settings = Settings.from_target(target)
        self._target = target
        self._trust_new = trust_new_host_keys
        self._deadline = time.monotonic() + self.settings.total_timeout
        self._jump: SshTransport | None = None
        self._ssh: paramiko.Transport | None = None
        self._shells: list[_Channel] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=MAX_CHANNELS, thread_name_prefix=f"ssh-{self.target}")
        self.host_key: HostKeyInfo | None = None
        self.login = ""
        self.channels_opened = 0
        self._depth = depth
        if self.settings.auth != "none":
            try:
                self._connect()
            except BaseException:
                self.close()
                raise

    # -- connecting ---------------------------------------------------------------------------------------

    def _open_socket(self, host: str, port: int, timeout: float) -> Any:
        """A byte stream to host:port: through the jump host, a ProxyCommand, or plain TCP."""
        where = f"{host}:{port}"
        if self.settings.proxy_jump:
            if self._jump is None:
                if self._depth >= _PROXY_DEPTH:
                    raise ConnectError(self.target, f"ProxyJump nests deeper than {_PROXY_DEPTH} hops")
                first, _, rest = self.settings.proxy_jump.partition(",")
                hop = _jump_target(first, self._target)
                if rest:
                    hop = Target(hop.name, hop.kind, options={**hop.options, "proxy_jump": rest})
                self._jump = SshTransport(hop, trust_new_host_keys=self._trust_new, depth=self._depth + 1)
            assert self._jump._ssh is not None
            try:
                return self._jump._ssh.open_channel("direct-tcpip", (host, port), ("127.0.0.1", 0), timeout=timeout)
            except (paramiko.SSHException, OSError) as exc:
                raise ConnectError(self.target, f"the jump host could not reach {where} ({exc})") from exc
        if self.settings.proxy_command:
            try:
                return paramiko.ProxyCommand(self.settings.proxy_command)
            except (paramiko.SSHException, OSError) as exc:
                raise ConnectError(self.target, f"ProxyCommand failed to start ({exc})") from exc
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except socket.gaierror as exc:
            raise ConnectError(self.target, f"cannot resolve {host!r} ({exc.strerror})") from exc
        except ConnectionRefusedError as exc:
            raise ConnectError(self.target, f"connection refused by {where} (is sshd listening?)") from exc
        except TimeoutError as exc:
            raise ConnectError(self.target, f"no TCP connection to {where} within {timeout:g} s") from exc
        except OSError as exc:
            raise ConnectError(self.target, f"cannot connect to {where} ({exc.strerror or exc})") from exc
        # paramiko leaves Nagle on, which delays every small packet of a batch by a round trip.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _connect(self) -> None:
        s = self.settings
        sock = self._open_socket(s.host, s.port, s.connect_timeout)
        known = KnownHosts(s.known_hosts)
        name = known_hosts_name(s.host, s.port)
        ssh = self._ssh = paramiko.Transport(sock)
        ssh.banner_timeout = s.banner_timeout
        ssh.handshake_timeout = s.auth_timeout
        ssh.auth_timeout = s.auth_timeout
        options = ssh.get_security_options()
        options.key_types = known.preferred_algorithms(name, options.key_types)
        started = time.monotonic()
        try:
            ssh.start_client(timeout=s.banner_timeout + s.auth_timeout)
        except paramiko.SSHException as exc:
            text = str(exc)
            if "banner" in text.lower():
                raise ConnectError(self.target, f"{s.host}:{s.port} accepted TCP but sent no SSH banner within "
                                   f"{s.banner_timeout:g} s") from exc
            raise ConnectError(self.target, f"SSH negotiation with {s.host}:{s.port} failed ({text}); the "
                               "algorithms it offers are shown by check SSH-0100") from exc
        except (OSError, EOFError) as exc:
            raise ConnectError(self.target, f"connection to {s.host}:{s.port} lost during the handshake "
                               f"({exc or type(exc).__name__})") from exc
        if not ssh.is_active() or not ssh.initial_kex_done:
            raise ConnectError(self.target, f"SSH key exchange with {s.host}:{s.port} did not finish within "
                               f"{time.monotonic() - started:.0f} s")
        self.host_key = known.verify(self.target, name, ssh.get_remote_server_key(), self._trust_new)
        credentials = Credentials(s.user, s.identity_files, s.passphrase_env, s.password_env)
        try:
            self.login = authenticate(self.target, ssh, credentials)
        except AuthenticationError:
            raise
        except (OSError, EOFError) as exc:
            raise AuthenticationError(self.target, f"connection lost during login ({exc})") from exc
        log.debug("%s: logged in as %s with %s", self.target, s.user, self.login)

    def _ensure_shells(self, wanted: int) -> list[_Channel]:
        """Open long-lived shells up to `wanted` (at most MAX_CHANNELS), in parallel."""
        if self.settings.auth == "none":
            raise UnsupportedTarget(self.target, "auth: none: nothing is logged into on this target, so only "
                                    "network checks (SSH-0100) can run; host checks need a login")
        ssh = self._ssh
        if ssh is None or not ssh.is_active():
            raise ConnectError(self.target, "the SSH connection is closed (the target went away)")
        missing = min(wanted, MAX_CHANNELS) - len(self._shells)
        if missing > 0:
            opened = [f.result() for f in [self._pool.submit(self._open_shell, ssh) for _ in range(missing)]]
            self._shells.extend(c for c in opened if c is not None)
        if not self._shells:
            raise ConnectError(self.target, "the server refused to open a session channel (MaxSessions?)")
        return self._shells[:wanted]

    def _open_shell(self, ssh: paramiko.Transport) -> _Channel | None:
        try:
            channel = ssh.open_session(timeout=self.settings.auth_timeout)
            channel.exec_command("/bin/sh -s")
        except (paramiko.SSHException, OSError, EOFError) as exc:
            log.debug("%s: could not open a session channel: %s", self.target, exc)
            return None
        with self._lock:
            self.channels_opened += 1
        return _Channel(channel)

    # -- the Transport interface --------------------------------------------------------------------------

    def run(self, command: Command) -> CommandResult:
        return self.run_many([command])[0]

    def read_file(self, path: str) -> FileContent:
        return self.read_many([path])[0]

    def run_many(self, commands: Sequence[Command]) -> list[CommandResult]:
        results: dict[int, CommandResult] = {}
        remote: list[batch.Item] = []
        for index, command in enumerate(commands):
            if command.argv and command.argv[0] in (HOSTKEY, KEXINIT):
                results[index] = self._pseudo(command)
            else:
                remote.append(batch.Item(index, command=command))
        for item, answer in self._fetch(remote):
            assert isinstance(answer, CommandResult)
            results[item.index] = answer
        return [results[i] for i in range(len(commands))]

    def read_many(self, paths: Sequence[str]) -> list[FileContent]:
        answers = self._fetch([batch.Item(i, path=p) for i, p in enumerate(paths)])
        return [a for _, a in sorted(answers, key=lambda pair: pair[0].index)]  # type: ignore[misc]

    def close(self) -> None:
        """Close the shells (their temporary directories are removed on exit), the connection and any jump host."""
        for shell in self._shells:
            try:
                shell.channel.close()
            except Exception:  # closing a dead channel must not mask the error that killed it
                log.debug("closing a channel on %s failed", self.target, exc_info=True)
        self._shells = []
        if self._ssh is not None:
            self._ssh.close()
        if self._jump is not None:
            self._jump.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- batches ------------------------------------------------------------------------------------------

    def _fetch(self, items: list[batch.Item]) -> list[tuple[batch.Item, CommandResult | FileContent]]:
        if not items:
            return []
        if time.monotonic() >= self._deadline:
            raise ConnectError(self.target, f"the target's time budget ({self.settings.total_timeout:g} s) is spent")
        shells = self._ensure_shells(len(items))
        # Round-robin keeps slow commands (often neighbours from one collector) spread over the channels.
        groups = [items[i::len(shells)] for i in range(len(shells))]
        futures = [self._pool.submit(self._run_group, shell, group) for shell, group in zip(shells, groups,
                                                                                              strict=True)]
        answers: list[tuple[batch.Item, CommandResult | FileContent]] = []
        errors: list[TransportError] = []
        for future in futures:
            try:
                answers.extend(future.result())
            except TransportError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
        return answers

    def _run_group(self, shell: _Channel, items: list[batch.Item]) -> list[tuple[batch.Item, Any]]:
        token = batch.new_token()
        text = ("" if shell.primed else batch.prelude(self.settings.sudo)) + batch.script(items, token)
        reader = batch.FrameReader(shell)
        by_index = {item.index: item for item in items}
        answers: list[tuple[batch.Item, Any]] = []
        try:
            shell.channel.sendall(text.encode())
            shell.primed = True
            for item in items:
                deadline = min(time.monotonic() + item.timeout + batch.GRACE_SECONDS, self._deadline)
                index, raw = reader.result(token, deadline)
                done = by_index[index]
                answers.append((done, batch.command_result(done.command, raw) if done.command
                                else batch.file_content(done.path, raw)))
            reader.end(token, time.monotonic() + batch.GRACE_SECONDS)
        except batch.StreamTimeout:
            # The target did not answer in time; this shell is abandoned, the others go on.
            self._discard(shell)
            finished = {a[0].index for a in answers}
            why = "no answer within the command's time budget (the shell was closed)"
            answers.extend((i, batch.timed_out(i, why)) for i in items if i.index not in finished)
        except (batch.StreamClosed, EOFError, OSError, paramiko.SSHException) as exc:
            self._discard(shell)
            raise ConnectError(self.target, f"the connection was lost while running commands "
                               f"({type(exc).__name__})") from exc
        except (batch.StreamCorrupt, KeyError) as exc:
            self._discard(shell)
            raise TransportError(self.target, f"the target's answer lost its framing ({exc})") from exc
        return answers

    def _discard(self, shell: _Channel) -> None:
        with self._lock:
            if shell in self._shells:
                self._shells.remove(shell)
        shell.channel.close()

    # -- pseudo-commands ----------------------------------------------------------------------------------

    def _pseudo(self, command: Command) -> CommandResult:
        s = self.settings
        if command.argv[0] == HOSTKEY:
            if self.host_key is None:
                return CommandResult(str(command), 1, "", "not logged in (auth: none): no host key was verified")
            key = self.host_key
            return CommandResult(str(command), 0, json.dumps({
                "host": s.host, "port": s.port, "type": key.key_type, "sha256": key.sha256, "status": key.status,
                "known_hosts": key.known_hosts}) + "\n")
        budget = s.connect_timeout + s.banner_timeout
        try:
            return CommandResult(str(command), 0, probe(s.host, s.port, budget, self._open_socket) + "\n")
        except (ProbeError, TransportError, OSError) as exc:
            return CommandResult(str(command), 1, "", f"reading the SSH banner of {s.host}:{s.port} failed: {exc}")
