"""The one exception tree of auditor.

    AuditorError
    ├── InputError(ValueError)            bad YAML, inventory, profile or flag: exit 2, one line
    │   └── CheckDefinitionError          a pack's check is malformed (names pack, id, file:line)
    ├── TransportError(OSError)           reaching or talking to a target failed
    │   ├── UnsupportedTarget             a target kind this version cannot scan yet
    │   ├── ConnectError                  refused, unreachable, no banner
    │   ├── AuthenticationError           credentials refused
    │   ├── HostKeyError                  unknown or changed host key
    │   └── CommandTimeout                a command exceeded its time budget
    ├── FactMissing(LookupError)          replay: the evidence folder does not hold the fact
    └── CollectorError                    a collector could not turn raw output into facts
        └── PermissionMissing             the scanning account lacks a right (root, sudo): a skip, not an error

Every message says what, where and, when the user can act, how to fix it. No exception carries a
secret: transports never put passwords or key passphrases into messages.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # every required check passed
    FINDINGS = 1  # some check failed and no waiver covers it
    USAGE_ERROR = 2  # bad flags, inventory, profile or check pack
    INCOMPLETE = 3  # errors or unreachable targets: the evidence is incomplete
    INTERRUPTED = 130  # Ctrl-C; what was collected is saved


class AuditorError(Exception):
    """Base of every error auditor raises on purpose."""


class InputError(AuditorError, ValueError):
    """Bad user input. `where` is "file:line:col", a target, or a flag; `fix` says what to do."""

    def __init__(self, what: str, where: str = "", fix: str = "") -> None:
        self.what, self.where, self.fix = what, where, fix
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        return _one_line(f"{text}; {self.fix}" if self.fix else text)


def _one_line(text: str) -> str:
    """Control characters made visible (a newline as \\n): an input error is one line on any terminal."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class CheckDefinitionError(InputError):
    """A check pack is malformed; raised at load time, before any target is touched."""


class TransportError(AuditorError, OSError):
    """Reaching a target or running something on it failed."""

    def __init__(self, target: str, message: str) -> None:
        self.target, self.message = target, message
        super().__init__(f"{target}: {message}")

    def __str__(self) -> str:
        return f"{self.target}: {self.message}"


class UnsupportedTarget(TransportError):
    """The inventory names a target kind that this version cannot scan yet."""


class ConnectError(TransportError):
    """The target refused the connection, was unreachable, or never answered."""


class NoTcpConnection(ConnectError):
    """No TCP connection was made at all (refused, timed out, unreachable, not resolved, or the ProxyCommand that
    would make it did not start): a network probe of the same address can only fail the same way, so after a failed
    login it is not tried (runner, zone workers)."""


class AuthenticationError(TransportError):
    """The target refused our credentials."""


class HostKeyError(TransportError):
    """The target's host key is unknown or has changed: nothing was run."""


class CommandTimeout(TransportError):
    """A command did not finish within its time budget."""


class FactMissing(AuditorError, LookupError):
    """Replay: the evidence folder holds no record of a command or file."""

    def __init__(self, target: str, source: str, looked_in: str, closest: list[str]) -> None:
        self.target, self.source, self.looked_in, self.closest = target, source, looked_in, closest
        hint = f"; closest recorded: {', '.join(closest)}" if closest else "; nothing similar was recorded"
        super().__init__(f"{target}: no recorded fact for {source!r} in {looked_in}{hint}")


class CollectorError(AuditorError):
    """A collector got output it cannot interpret (e.g. a hostile or broken host)."""


class PermissionMissing(CollectorError):
    """The facts need a right the scanning account does not have: the checks are SKIPPED with this reason."""
