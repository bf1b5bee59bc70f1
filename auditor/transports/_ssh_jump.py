"""Jump hosts shared by every target behind them: one SSH connection to a bastion per run, not one per target.

A bastion's sshd throttles connections that have not logged in yet (MaxStartups 10:30:100 by default: past
10 of them, 30% are refused), so 32 workers each logging in to the same bastion would lose targets at random.
Through one shared connection each target costs the bastion one more direct-tcpip channel, which
MaxSessions does not count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class Connection(Protocol):
    def is_active(self) -> bool: ...

    def close(self) -> None: ...


@dataclass
class _Shared:
    """One jump host's login, shared by the targets that go through it."""

    lock: threading.Lock = field(default_factory=threading.Lock)  # one login attempt at a time
    connection: Connection | None = None
    error: Exception | None = None
    users: int = 0


class SharedConnections:
    """Connections by key, counted: the last `release` of a key closes its connection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shared: dict[str, _Shared] = {}

    def acquire(self, key: str, connect: Callable[[], Connection]) -> Connection:
        """The live connection for `key`, made by `connect` when there is none; release(key) when done."""
        with self._lock:
            shared = self._shared.setdefault(key, _Shared())
            shared.users += 1
        try:
            with shared.lock:
                if shared.error is not None:
                    # The targets waiting on a bastion that refused the first of them fail at once.
                    raise shared.error
                if shared.connection is None or not shared.connection.is_active():
                    try:
                        shared.connection = connect()
                    except Exception as exc:
                        shared.error = exc
                        raise
                return shared.connection
        except BaseException:
            self.release(key)
            raise

    def release(self, key: str) -> None:
        with self._lock:
            shared = self._shared.get(key)
            if shared is None:
                return
            shared.users -= 1
            if shared.users > 0:
                return
            del self._shared[key]
        if shared.connection is not None:
            shared.connection.close()


JUMP_HOSTS = SharedConnections()
