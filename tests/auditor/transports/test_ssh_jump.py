"""The registry that lets targets behind one bastion share one connection to it."""

from __future__ import annotations

import threading

import pytest

from auditor.errors import ConnectError
from auditor.transports._ssh_jump import SharedConnections


class _Connection:
    def __init__(self) -> None:
        self.closed = False

    def is_active(self) -> bool:
        return not self.closed

    def close(self) -> None:
        self.closed = True


def test_one_connection_serves_every_user_and_the_last_release_closes_it():
    shared, made = SharedConnections(), []

    def connect() -> _Connection:
        made.append(_Connection())
        return made[-1]

    first, second = shared.acquire("bastion", connect), shared.acquire("bastion", connect)
    assert first is second and len(made) == 1
    shared.release("bastion")
    assert not first.closed
    shared.release("bastion")
    assert first.closed
    assert shared.acquire("bastion", connect) is not first  # a later user connects afresh


def test_a_failed_login_is_not_retried_by_the_users_already_waiting_for_it():
    shared, attempts = SharedConnections(), []
    gate = threading.Event()

    def refuse() -> _Connection:
        attempts.append(1)
        gate.wait(5)  # the others queue up behind this attempt
        raise ConnectError("bastion", "connection refused")

    errors: list[Exception] = []

    def user() -> None:
        try:
            shared.acquire("bastion", refuse)
        except ConnectError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=user) for _ in range(5)]
    for thread in threads:
        thread.start()
    while not attempts or shared._shared["bastion"].users < 5:  # all five have asked before the login fails
        threading.Event().wait(0.01)
    gate.set()
    for thread in threads:
        thread.join(5)
    assert len(attempts) == 1 and len(errors) == 5
    with pytest.raises(ConnectError):  # once everyone has let go, the next user tries again
        shared.acquire("bastion", refuse)
    assert len(attempts) == 2
