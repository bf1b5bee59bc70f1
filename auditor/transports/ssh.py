"""The SSH transport (paramiko): one verified connection per target, batched commands, bounded in time and size.

    connect   TCP (TCP_NODELAY) or ProxyJump / ProxyCommand -> banner -> key exchange -> host key checked
              against known_hosts (RejectPolicy semantics: a changed key is a HostKeyError and nothing runs)
              -> publickey (identity file, ssh-agent) or a password from an environment variable
    run       one long-lived channel running the batch runner (_ssh_runner: python3 on the target runs up to 4
              commands at once); without python3, up to 4 long-lived `/bin/sh -s` channels (_ssh_batch).
              Either way each run_many/read_many is one round trip, framed the same way (length-prefixed
              stdout, stderr and exit status per command)

The client is paramiko's, extended by _ssh_paramiko (curve25519-sha256, chacha20-poly1305, and the legacy
algorithms a target opts in to with `legacy_ssh`). Pseudo-commands are answered by the transport itself, so
their answers are recorded as evidence like any other command (and replayed unchanged): `auditor:ssh-hostkey`
(the verified host key and the algorithms the login agreed), and, each over its own TCP connection and without
logging in, `auditor:ssh-kexinit` (banner and KEXINIT), `auditor:ssh-hostkeys` (every host key offered) and
`auditor:ssh-auth-methods` (what an SSH "none" request is told).
Nothing above transports/ sees a paramiko type: every paramiko and socket error becomes a TransportError.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import paramiko

from auditor.errors import AuthenticationError, ConnectError, NoTcpConnection, TransportError, UnsupportedTarget
from auditor.models import Target
from auditor.transports import _ssh_batch as batch
from auditor.transports import _ssh_runner as runner
from auditor.transports._ssh_auth import Credentials, HostKeyInfo, KnownHosts, authenticate, known_hosts_name
from auditor.transports._ssh_jump import JUMP_HOSTS
from auditor.transports._ssh_paramiko import AuditTransport
from auditor.transports._ssh_settings import Settings, jump_target
from auditor.transports.base import Command, CommandResult, FileContent
from auditor.transports.budget import Budget
from auditor.transports.environment import proxy_environment
from auditor.transports.ssh_network import NETWORK_COMMANDS, NO_LOGIN, network_answers, tcp_connect

log = logging.getLogger(__name__)

MAX_CHANNELS = 4  # OpenSSH's MaxSessions defaults to 10; stay well below it
BUDGET_SPENT = 125  # the exit status of a command left unrun: the target's evidence budget was spent
_STDERR_TAIL = 1024
# How cmd.exe ("... is not recognized as an internal or external command") and PowerShell ("The term ... is
# not recognized as the name of a cmdlet") refuse `/bin/sh`: the login shell of Windows' OpenSSH server.
_NOT_RECOGNIZED = "is not recognized as"
_PROXY_DEPTH = 3


class _Channel:
    """A channel as the frame reader sees it: receive with a timeout; stderr drained, its tail kept for errors.

    `python` tells a batch-runner channel (one per target) from a `/bin/sh -s` one; `primed` that its
    runner or shell functions were sent; `started` that the runner said hello.
    """

    def __init__(self, channel: paramiko.Channel, python: bool) -> None:
        self.channel = channel
        self.python = python
        self.primed = False
        self.started = False
        self._stderr_tail = b""

    def _drain_stderr(self) -> None:
        while self.channel.recv_stderr_ready():
            self._stderr_tail = (self._stderr_tail + self.channel.recv_stderr(65536))[-_STDERR_TAIL:]

    def last_words(self) -> str:
        """The last lines the remote shell or runner wrote to stderr (commands' stderr never comes here)."""
        self._drain_stderr()
        lines = [line.strip() for line in self._stderr_tail.decode("utf-8", errors="replace").splitlines()]
        return " ".join(line for line in lines if line)[-_STDERR_TAIL // 4:]

    def receive(self, timeout: float) -> bytes:
        self.channel.settimeout(max(0.01, timeout))
        self._drain_stderr()
        try:
            return bytes(self.channel.recv(1 << 20))
        except TimeoutError:
            raise batch.StreamTimeout from None


def _exec_without_waiting(channel: paramiko.Channel, command: str) -> None:
    """`channel.exec_command(command)` without waiting a round trip for the server's reply.

    The first batch follows at once; the SSH channel keeps the order, so sshd starts the command before it
    passes the batch to its stdin. A refused exec makes paramiko close the channel, which the batch reader
    sees as the stream closing. This writes the same message exec_command writes (paramiko 3.x-5.x).
    """
    message = paramiko.Message()
    message.add_byte(paramiko.common.cMSG_CHANNEL_REQUEST)
    message.add_int(channel.remote_chanid)
    message.add_string("exec")
    message.add_boolean(True)
    message.add_string(command)
    channel._event_pending()  # the reply sets the event later; nothing waits for it
    channel.transport._send_user_message(message)


def _printed(reader: batch.FrameReader) -> str:
    """What a login printed on stdout before the batch should have started, on one line, for an error message."""
    return " ".join(reader.noise.decode("utf-8", errors="replace").split())[:_STDERR_TAIL // 4]


class _ProxyCommand(paramiko.ProxyCommand):  # type: ignore[misc]  # paramiko ships no type hints
    """paramiko's ProxyCommand, started without auditor's secrets in its environment (paramiko's own passes the
    whole environment on), whose close() may run twice (paramiko calls it from two threads) and whose
    process is reaped at the end instead of left a zombie with three open pipes."""

    def __init__(self, command_line: str, environment: dict[str, str]) -> None:
        self.cmd = shlex.split(command_line)
        self.process = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, bufsize=0, env=environment)
        self.timeout = None

    def close(self) -> None:
        self.process.terminate()  # a no-op once the process was reaped

    def reap(self) -> None:
        try:
            self.process.terminate()
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


class _NoRunner(Exception):
    """The runner channel closed before the runner said hello: no usable python3 on the target."""


class SshTransport:
    """A logged-in SSH connection to one target, or (auth: none) just its address for network probes."""

    def __init__(self, target: Target, *, trust_new_host_keys: bool = False, depth: int = 0,
                 settings: Settings | None = None) -> None:
        self.target = target.name
        # Given when the caller has read them already: a `Match exec` in ~/.ssh/config runs at each lookup.
        self.settings = settings or Settings.from_target(target)
        self._target = target
        self._trust_new = trust_new_host_keys
        self._deadline = time.monotonic() + self.settings.total_timeout
        self._jump: SshTransport | None = None
        self._jump_key = ""
        self._proxy: _ProxyCommand | None = None
        self._ssh: paramiko.Transport | None = None
        self._shells: list[_Channel] = []
        self._use_runner = True  # until the target shows it has no python3
        self._broken: TransportError | None = None  # the login never started a batch: say so at once from then on
        self._lock = threading.Lock()
        self._batch_lock = threading.Lock()  # one batch at a time: a channel carries one stream
        # One more worker than channels, for the network probe that runs beside a batch.
        self._pool = ThreadPoolExecutor(max_workers=MAX_CHANNELS + 1, thread_name_prefix=f"ssh-{self.target}")
        self.host_key: HostKeyInfo | None = None
        # The target's evidence budget (the recorder hands it over): each answer is charged as it is read, so a
        # batch holds at most what the budget allows, whatever the target sends.
        self.budget = Budget(1 << 62)
        self.login = ""
        self.login_algorithms: dict[str, str] = {}
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
                hop = jump_target(first, self._target)
                if rest:
                    hop = Target(hop.name, hop.kind, options={**hop.options, "proxy_jump": rest})
                # Every target behind this bastion shares one connection to it (see _ssh_jump).
                key = json.dumps([hop.options, self._trust_new], sort_keys=True, default=str)
                depth = self._depth + 1
                shared = JUMP_HOSTS.acquire(key, lambda: SshTransport(hop, trust_new_host_keys=self._trust_new,
                                                                      depth=depth))
                assert isinstance(shared, SshTransport)
                self._jump, self._jump_key = shared, key
            assert self._jump._ssh is not None
            try:
                return self._jump._ssh.open_channel("direct-tcpip", (host, port), ("127.0.0.1", 0), timeout=timeout)
            except (paramiko.SSHException, OSError) as exc:
                # The jump host refused to connect, or its connection did not come in time: TCP from it failed,
                # and the network probes, which go the same way, would wait for the same failure again.
                error = NoTcpConnection if isinstance(exc, paramiko.ChannelException) or "Timeout opening channel" \
                    in str(exc) else ConnectError
                raise error(self.target, f"the jump host could not reach {where} ({exc})") from exc
        if self.settings.proxy_command:
            try:
                self._proxy = _ProxyCommand(self.settings.proxy_command, proxy_environment(
                    os.environ, (self.settings.password_env, self.settings.passphrase_env)))
                return self._proxy
            except (paramiko.SSHException, OSError) as exc:
                # No connection was made, and the network probes would start the same command to the same end.
                raise NoTcpConnection(self.target, f"ProxyCommand failed to start ({exc})") from exc
        return tcp_connect(self.target, host, port, timeout)

    def _connect(self) -> None:
        s = self.settings
        sock = self._open_socket(s.host, s.port, s.connect_timeout)
        known = KnownHosts(s.known_hosts)
        name = known_hosts_name(s.host, s.port)
        ssh = self._ssh = AuditTransport(sock, legacy=s.legacy)
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
            if "banner" in text.lower() or "protocol version" in text.lower():
                from auditor.transports._ssh_wire import peer_answer

                # paramiko says only that no banner came; asked again, the port says what it is (HTTP, garbage).
                said = peer_answer(self._open_socket, s.host, s.port, min(s.banner_timeout, 2.0))
                raise ConnectError(self.target, f"{s.host}:{s.port} {said}" if said else f"{s.host}:{s.port} "
                                   f"accepted TCP but sent no SSH banner within {s.banner_timeout:g} s") from exc
            legacy = "" if s.legacy else (
                "; it may offer only legacy algorithms (SHA-1 key exchange, ssh-rsa or DSA host keys, CBC or 3DES "
                "ciphers), which auditor logs in with only when the target opts in (legacy_ssh: true in the "
                "inventory, or --legacy-ssh)")
            raise ConnectError(self.target, f"SSH negotiation with {s.host}:{s.port} failed ({text}){legacy}; the "
                               "algorithms it offers are named by check SSH-0100") from exc
        except (OSError, EOFError) as exc:
            if time.monotonic() - started >= s.auth_timeout:  # paramiko's handshake timeout is a bare EOFError
                raise ConnectError(self.target, f"SSH key exchange with {s.host}:{s.port} did not finish within "
                                   f"{s.auth_timeout:g} s (auth_timeout): the server sent its banner, then "
                                   "stalled") from exc
            raise ConnectError(self.target, f"connection to {s.host}:{s.port} lost during the handshake "
                               f"({exc or type(exc).__name__})") from exc
        if not ssh.is_active() or not ssh.initial_kex_done:
            raise ConnectError(self.target, f"SSH key exchange with {s.host}:{s.port} did not finish within "
                               f"{time.monotonic() - started:.0f} s")
        self.host_key = known.verify(self.target, name, ssh.get_remote_server_key(), self._trust_new)
        self.login_algorithms = ssh.agreed()
        credentials = Credentials(s.user, s.identity_files, s.passphrase_env, s.password_env)
        try:
            self.login = authenticate(self.target, ssh, credentials)
        except AuthenticationError:
            raise
        except (OSError, EOFError) as exc:
            raise AuthenticationError(self.target, f"connection lost during login ({exc})") from exc
        log.debug("%s: logged in as %s with %s", self.target, s.user, self.login)

    def _ensure_shells(self, wanted: int) -> list[_Channel]:
        """The runner's one channel; or, without python3, long-lived shells up to `wanted` (at most
        MAX_CHANNELS), opened in parallel."""
        if self.settings.auth == "none":
            raise UnsupportedTarget(self.target, NO_LOGIN)
        ssh = self._ssh
        if ssh is None or not ssh.is_active():
            raise ConnectError(self.target, "the SSH connection is closed (the target went away)")
        if self._use_runner:
            if not self._shells:
                shell = self._open_shell(ssh, python=True)
                self._shells.extend([shell] if shell else [])
        else:
            missing = min(wanted, MAX_CHANNELS) - len(self._shells)
            if missing > 0:
                opened = [f.result() for f in [self._pool.submit(self._open_shell, ssh, False)
                                               for _ in range(missing)]]
                self._shells.extend(c for c in opened if c is not None)
        if not self._shells:
            raise ConnectError(self.target, "the server refused to open a session channel (MaxSessions?)")
        return self._shells[:wanted]

    def _open_shell(self, ssh: paramiko.Transport, python: bool) -> _Channel | None:
        try:
            channel = ssh.open_session(timeout=self.settings.auth_timeout)
            _exec_without_waiting(channel, runner.LAUNCH if python else "/bin/sh -s")
        except (paramiko.SSHException, OSError, EOFError) as exc:
            log.debug("%s: could not open a session channel: %s", self.target, exc)
            return None
        with self._lock:
            self.channels_opened += 1
        return _Channel(channel, python)

    # -- the Transport interface --------------------------------------------------------------------------

    def run(self, command: Command) -> CommandResult:
        return self.run_many([command])[0]

    def read_file(self, path: str) -> FileContent:
        return self.read_many([path])[0]

    def run_many(self, commands: Sequence[Command]) -> list[CommandResult]:
        return self.fetch(commands, ())[0]

    def read_many(self, paths: Sequence[str]) -> list[FileContent]:
        return self.fetch((), paths)[1]

    def fetch(self, commands: Sequence[Command], paths: Sequence[str]) -> tuple[list[CommandResult],
                                                                                 list[FileContent]]:
        """Commands and files in one batch: one round trip for both (see transports.base.fetch)."""
        # The network probe opens its own TCP connection: it runs beside the batch, not before it.
        probes = [index for index, command in enumerate(commands) if command.argv and
                  command.argv[0] in NETWORK_COMMANDS]
        probed = self._pool.submit(network_answers, [commands[i] for i in probes], self.settings, self.host_key,
                                   self._open_socket, self.login_algorithms) if probes else None
        items = [batch.Item(index, command=command) for index, command in enumerate(commands) if index not in probes]
        items += [batch.Item(len(commands) + index, path=path) for index, path in enumerate(paths)]
        answers: dict[int, CommandResult | FileContent] = {item.index: answer for item, answer in self._fetch(items)}
        if probed is not None:
            answers.update(zip(probes, probed.result(), strict=True))
        ordered = [answers[index] for index in range(len(commands) + len(paths))]
        return ordered[:len(commands)], ordered[len(commands):]  # type: ignore[return-value]

    def close(self) -> None:
        """Close the channels (a shell removes its temporary directory on exit), the connection and any jump host."""
        for shell in self._shells:
            try:
                shell.channel.close()
            except Exception:  # closing a dead channel must not mask the error that killed it
                log.debug("closing a channel on %s failed", self.target, exc_info=True)
        self._shells = []
        if self._ssh is not None:
            self._ssh.close()
            self._ssh.join(timeout=5)  # its thread closes the socket (the proxy) once more on its way out
        if self._proxy is not None:
            self._proxy.reap()
        if self._jump is not None:
            JUMP_HOSTS.release(self._jump_key)
            self._jump = None
        self._pool.shutdown(wait=False, cancel_futures=True)

    def is_active(self) -> bool:
        """Logged in and the connection still up."""
        return self._ssh is not None and self._ssh.is_active()

    # -- batches ------------------------------------------------------------------------------------------

    def _fetch(self, items: list[batch.Item]) -> list[tuple[batch.Item, CommandResult | FileContent]]:
        if not items:
            return []
        if self._broken is not None:
            raise self._broken
        if time.monotonic() >= self._deadline:
            raise ConnectError(self.target, f"the target's time budget ({self.settings.total_timeout:g} s) is spent")
        if self.budget.spent_out:
            return [(item, self._not_read(item)) for item in items]
        with self._batch_lock:
            if self._use_runner:
                try:
                    return self._run_group(self._ensure_shells(1)[0], items)
                except _NoRunner:
                    log.debug("%s: no python3 for the batch runner; using /bin/sh channels", self.target)
                    self._use_runner = False
            return self._fetch_from_shells(items)

    def _fetch_from_shells(self, items: list[batch.Item]) -> list[tuple[batch.Item, CommandResult | FileContent]]:
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
        if shell.python:
            text = (b"" if shell.primed else runner.bootstrap()) + runner.request(
                items, token, self.settings.sudo, self._deadline - time.monotonic())
        else:
            text = (("" if shell.primed else batch.prelude(self.settings.sudo))
                    + batch.script(items, token, self._deadline - time.monotonic())).encode()
        reader = batch.FrameReader(shell)
        # The items' timeouts, longest first, as the answers come: what the runner may still take, at worst.
        timeouts = sorted((item.timeout for item in items), reverse=True)
        hello_budget = min(runner.seconds_for(timeouts), self._deadline - time.monotonic())
        waiting = {item.index: item for item in items}
        answers: list[tuple[batch.Item, Any]] = []
        try:
            try:
                shell.channel.sendall(text)
            except OSError:
                # A login that ends at once (ForceCommand internal-sftp prints why and exits) may close the channel
                # before the batch is sent. What it printed is still in the channel: the reader below reads it
                # and then sees the stream close, as when the batch was sent first.
                if not shell.channel.closed:
                    raise
            shell.primed = True
            if not shell.started:
                # A login can be slow (login scripts, a loaded host): the hello gets the whole batch's budget.
                # Whatever a login script printed before it is skipped.
                reader.sync(runner.HELLO.rstrip(b"\n") if shell.python else batch.HELLO,
                            time.monotonic() + hello_budget)
                shell.started = True
            while waiting:
                # The shell answers in order, one command at a time; the runner as its commands finish.
                budget = (runner.seconds_for(timeouts) if shell.python
                          else next(iter(waiting.values())).timeout + batch.GRACE_SECONDS)
                index, raw = reader.result(token, min(time.monotonic() + budget, self._deadline))
                done = waiting.pop(index)  # an unknown or repeated index is a KeyError: lost framing
                timeouts.remove(done.timeout)
                answers.append((done, self.budget.command(batch.command_result(done.command, raw)) if done.command
                                else self.budget.file(batch.file_content(done.path, raw))))
                del raw  # the next answer may be as large: hold one at a time
                if waiting and self.budget.spent_out:
                    # Whatever else the target sends would be cut: stop reading it. Closing the channel ends the
                    # runner, which kills the commands still running (see _ssh_runner's watchdog).
                    self._discard(shell)
                    answers.extend((item, self._not_read(item)) for item in waiting.values())
                    return answers
            reader.end(token, time.monotonic() + batch.GRACE_SECONDS)
        except batch.StreamTimeout:
            # The target did not answer in time; this channel is abandoned, the others go on.
            self._discard(shell)
            if not shell.started:
                printed = _printed(reader)
                self._broken = TransportError(
                    self.target, f"the login did not start auditor's {'runner' if shell.python else 'shell'} within "
                    f"{hello_budget:.0f} s (a ForceCommand, or a login script that waits?)"
                    + (f"; it printed: {printed}" if printed else ""))
                raise self._broken from None
            why = "no answer within the command's time budget (the shell was closed)"
            answers.extend((i, batch.timed_out(i, why)) for i in waiting.values())
        except (batch.StreamClosed, EOFError, OSError, paramiko.SSHException) as exc:
            self._discard(shell)
            if shell.python and not shell.started and self._ssh is not None and self._ssh.is_active():
                raise _NoRunner from exc
            if isinstance(exc, batch.StreamClosed) and self._ssh is not None and self._ssh.is_active():
                ended = shell.channel.exit_status_ready() and shell.channel.exit_status >= 0
                status = shell.channel.exit_status if ended else "unknown: killed?"
                said = shell.last_words() or _printed(reader)
                if _NOT_RECOGNIZED in said:
                    raise UnsupportedTarget(self.target, "the target has no POSIX shell (it answers as Windows "
                                            "does): Windows targets over SSH are not supported yet; scan the "
                                            "machine itself with `auditor scan --home`") from exc
                raise TransportError(self.target, f"the {'batch runner' if shell.python else 'shell'} on the "
                                     f"target stopped (exit status {status})" + (f": {said}" if said else "")) from exc
            raise ConnectError(self.target, f"the connection was lost while running commands "
                               f"({type(exc).__name__})") from exc
        except (batch.StreamCorrupt, KeyError) as exc:
            self._discard(shell)
            raise TransportError(self.target, f"the target's answer lost its framing ({exc})") from exc
        return answers

    def _not_read(self, item: batch.Item) -> CommandResult | FileContent:
        """The stand-in of an item left unread because the target's evidence budget was spent."""
        if item.command is not None:
            why = self.budget.not_read(str(item.command))
            return CommandResult(str(item.command), BUDGET_SPENT, "", why, truncated=True)
        return FileContent(item.path, exists=True, error=self.budget.not_read(item.path), truncated=True)

    def _discard(self, shell: _Channel) -> None:
        with self._lock:
            if shell in self._shells:
                self._shells.remove(shell)
        shell.channel.close()
