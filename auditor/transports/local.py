"""The local transport: runs argument lists with subprocess (never a shell) on this machine."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from auditor.transports.base import (
    IS_A_DIRECTORY,
    MAX_FACT_BYTES,
    NOT_EXECUTABLE,
    NOT_FOUND,
    TIMED_OUT,
    Command,
    CommandResult,
    FileContent,
)
from auditor.transports.environment import command_environment

_POSIX = sys.platform != "win32"
_SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Local commands are mostly waiting on the kernel or small programs; a few threads overlap them.
_PARALLEL_COMMANDS = 8


def _environment() -> dict[str, str]:
    # None of the scanner's secrets (the key passphrase, password_env variables): see environment.py.
    env = command_environment(os.environ)
    if _POSIX:
        # The C locale keeps tool output parseable; sbin holds cryptsetup, auditctl, nft and friends.
        env.update(LC_ALL="C", LANG="C")
        env["PATH"] = f"{_SBIN_PATH}:{env['PATH']}" if env.get("PATH") else _SBIN_PATH
    return env


def _decode(data: bytes) -> tuple[str, bool]:
    truncated = len(data) > MAX_FACT_BYTES
    data = data[:MAX_FACT_BYTES]
    # Windows tools (wevtutil, PowerShell 5.1 into a pipe, some .exe) may answer in UTF-16LE, BOM or not.
    if data.startswith(b"\xff\xfe") or (len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] != 0):
        return data.decode("utf-16-le", errors="replace").lstrip("\ufeff"), truncated
    return data.decode("utf-8", errors="replace"), truncated


class LocalTransport:
    """Runs commands on this machine. `sudo` only applies when the scanner is not already root."""

    # Commands may be asked from several threads at once (each is a process of its own): how many run together.
    commands_at_once = _PARALLEL_COMMANDS

    def __init__(self, target: str = "localhost", *, use_sudo: bool = False) -> None:
        self.target = target
        self._use_sudo = use_sudo
        self._env = _environment()
        # os.geteuid exists on POSIX only; on Windows `sudo` never applies (the system collector reads the role).
        self._is_root = _POSIX and hasattr(os, "geteuid") and os.geteuid() == 0
        self._running: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._closed = False

    def run(self, command: Command) -> CommandResult:
        argv = list(command.argv)
        if command.sudo and self._use_sudo and not self._is_root:
            argv = ["sudo", "-n", "--", *argv]
        label = str(command)
        if self._closed:
            return CommandResult(label, TIMED_OUT, "", "not run: the scan was stopped")
        try:
            # A session of its own: Ctrl-C reaches the scanner, which then stops its children via close().
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=self._env, start_new_session=_POSIX)
        except FileNotFoundError:
            return CommandResult(label, NOT_FOUND, "", f"{argv[0]}: command not found")
        except PermissionError as exc:
            return CommandResult(label, NOT_EXECUTABLE, "", f"{argv[0]}: {exc.strerror}")
        with self._lock:
            self._running.add(proc)
        try:
            out, err = proc.communicate(timeout=command.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            return CommandResult(label, TIMED_OUT, _decode(out)[0], f"timed out after {command.timeout:g} s", True)
        finally:
            with self._lock:
                self._running.discard(proc)
        stdout, cut_out = _decode(out)
        stderr, cut_err = _decode(err)
        return CommandResult(label, proc.returncode, stdout, stderr, cut_out or cut_err)

    def read_file(self, path: str) -> FileContent:
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_FACT_BYTES + 1)
        except FileNotFoundError:
            return FileContent(path, exists=False)
        except IsADirectoryError:
            return FileContent(path, exists=True, error=IS_A_DIRECTORY)
        except OSError as exc:
            return FileContent(path, exists=True, error=exc.strerror or str(exc))
        return FileContent(path, True, data[:MAX_FACT_BYTES], truncated=len(data) > MAX_FACT_BYTES)

    def run_many(self, commands: Sequence[Command]) -> list[CommandResult]:
        if len(commands) <= 1:
            return [self.run(c) for c in commands]
        with ThreadPoolExecutor(max_workers=_PARALLEL_COMMANDS) as pool:
            return list(pool.map(self.run, commands))

    def read_many(self, paths: Sequence[str]) -> list[FileContent]:
        return [self.read_file(p) for p in paths]

    def close(self) -> None:
        """Stop any command still running (the scan was interrupted) and refuse new ones."""
        self._closed = True
        with self._lock:
            running = list(self._running)
        for proc in running:
            proc.kill()
