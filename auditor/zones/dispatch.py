"""The coordinator's half: publish one task per zoned target, then answer the runner from the shipped records.

`ZoneDispatch` is the runner's `open_target`: a target without a zone is opened here as in any scan; a zoned
target waits for its worker's records, verifies every SHA-256 and the records' target, and is served by a
replay transport over them, so the runner, plan, checks and evidence store are those of a local scan.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # the zones extra; only annotations here, so `auditor scan` imports this without celery
    from celery import Celery  # type: ignore[import-untyped]
    from celery.result import AsyncResult  # type: ignore[import-untyped]

from auditor import errors
from auditor.errors import ConnectError, InputError, TransportError
from auditor.models import CheckSpec, Target
from auditor.plan import Selection, plan_target
from auditor.profile import Profile
from auditor.transports.base import Command, CommandResult, FileContent, Transport
from auditor.transports.replay import Records, ReplayTransport
from auditor.zones.app import TASK, BrokerSettings, make_app, queue_of
from auditor.zones.task import check_zones, task_document, zone_of
from auditor.zones.wire import PayloadError, unpack

log = logging.getLogger(__name__)
OpenTarget = Callable[[Target, bool], Transport]
_ERRORS: dict[str, type[TransportError]] = {
    name: getattr(errors, name) for name in ("ConnectError", "NoTcpConnection", "AuthenticationError", "HostKeyError",
                                             "CommandTimeout", "UnsupportedTarget", "TransportError")}


class NotAssessed(ConnectError):
    """A zoned target whose worker did not answer, refused it, or shipped evidence that does not verify. Its
    message is the reason only: the console, results and report put "not assessed" before it themselves."""


class ZoneDispatch:
    """The runner's open_target for a run with zones. Attributes:
    answer_within: seconds a zone's worker has to start a target before it is not assessed.
    finish_within: seconds a started target has to be collected (a redelivery included).
    """

    def __init__(self, settings: BrokerSettings, local: OpenTarget, answer_within: float = 60.0,
                 finish_within: float = 3600.0, app: Celery | None = None) -> None:
        self.settings = settings
        self.app = app or _coordinator_app(settings)
        self.local = local
        self.answer_within = answer_within
        self.finish_within = finish_within
        self._tasks: dict[str, tuple[str, AsyncResult]] = {}
        self._answers: dict[str, dict[str, Any] | Exception] = {}
        self._stop = threading.Event()
        self.bytes_sent = 0

    def publish(self, run_id: str, targets: Sequence[Target], checks: Mapping[str, CheckSpec], profile: Profile,
                selection: Selection) -> None:
        """One task per zoned target, all published before the first is waited for. A broker that cannot be
        reached makes every zoned target not yet published not assessed, saying why; the run goes on."""
        from kombu.exceptions import OperationalError
        from redis.exceptions import RedisError

        effective = profile.effective_checks(checks)
        unreachable: NotAssessed | None = None
        for target in targets:
            zone = zone_of(target)
            if zone is None:
                continue
            if unreachable is not None:  # one broker for every zone: no second wait for the same refusal
                self._answers[target.name] = NotAssessed(target.name, unreachable.message)
                continue
            doc = task_document(run_id, plan_target(target, effective, profile, selection), profile)
            size = len(json.dumps(doc))
            if size > self.settings.max_payload:
                raise InputError(f"the task of target {target.name!r} is {size} bytes, over the broker cap of "
                                 f"{self.settings.max_payload}", "--max-payload", "raise it")
            try:
                with _quiet("celery.backends"):
                    result = self.app.send_task(TASK, args=[doc], queue=queue_of(zone))
            except (OperationalError, RedisError, OSError, RuntimeError) as exc:
                # RuntimeError: Celery's "Retry limit exceeded" when the result store cannot be subscribed to.
                log.debug("publishing %s failed", target.name, exc_info=True)
                unreachable = NotAssessed(target.name, f"the broker {_address(self.settings.url)} could not be "
                                                       f"reached: {_reason(exc)}")
                self._answers[target.name] = unreachable
                continue
            self.bytes_sent += size
            self._tasks[target.name] = (zone, result)

    def interrupt(self) -> None:
        """Ctrl-C: stop waiting, and drop the targets not answered yet."""
        self._stop.set()
        self._drop([name for name in self._tasks if name not in self._answers])

    def _drop(self, names: Sequence[str]) -> None:
        """The coordinator gave up on these targets: revoke their tasks (live workers then skip them), and take
        the ones still queued out of their zone's queue, since a revocation reaches only the workers running now
        and a worker started later would scan a target nobody waits for. Best effort: a result that still comes
        expires unread. (Not `expires` at publishing: a big zone's queue is worked through for longer than any
        one target's wait, and a task redelivered after its worker died must still run.)"""
        tasks = [self._tasks[name] for name in names if name in self._tasks]
        if not tasks:
            return
        for _, result in tasks:
            _release(result)
        try:
            self.app.control.revoke([result.id for _, result in tasks])
            client = self.app.backend.client  # the broker's Redis: a queue is a list of JSON messages
            for zone, result in tasks:
                for message in client.lrange(queue_of(zone), 0, -1):
                    if result.id.encode() in message and json.loads(message)["headers"]["id"] == result.id:
                        client.lrem(queue_of(zone), 1, message)
        except Exception as exc:  # the broker may be what failed; the targets are not assessed either way
            log.debug("dropping %d tasks failed: %s", len(tasks), exc)

    def __call__(self, target: Target, login: bool) -> Transport:
        if zone_of(target) is None:
            return self.local(target, login)
        answer = self._answer(target)
        if isinstance(answer, Exception):
            raise answer
        # The planned view (logged in, or not: an endpoint, auth: none); else the network view after a failed login.
        main = login == bool(answer.get("login", True))
        records, error, failures = (answer["records"], answer.get("open_error"), answer.get("failures")) if main \
            else (answer.get("network", ""), answer.get("network_error"), answer.get("network_failures"))
        if error:
            raise _error(target, error)
        zone = self._tasks[target.name][0]
        return ShippedTransport(Path(f"zone-{zone}"), target.name, self._verified(target, zone, records),
                                {(str(f["kind"]), str(f["source"])): _error(target, f) for f in failures or ()})

    def _answer(self, target: Target) -> dict[str, Any] | Exception:
        # One runner thread opens a target (login, then maybe the network view): no two wait for the same one.
        if target.name not in self._answers:
            try:
                self._answers[target.name] = self._wait(target)
            finally:
                _release(self._tasks[target.name][1])
        return self._answers[target.name]

    def _wait(self, target: Target) -> dict[str, Any] | Exception:
        zone, result = self._tasks[target.name]
        begun = time.monotonic()
        started = False
        while not self._stop.is_set():
            try:
                state = result.state
                if state == "SUCCESS":
                    answer = result.result
                    result.forget()
                    return self._checked(target, zone, answer)
                if state in ("FAILURE", "REVOKED"):
                    return NotAssessed(target.name, f"the worker in zone {zone} failed ({state})")
                started = started or state in ("STARTED", "RETRY")
            except Exception as exc:  # the broker restarting: keep asking until the deadline
                log.debug("waiting for %s: %s", target.name, exc)
            waited = time.monotonic() - begun
            if not started and waited > self.answer_within:
                return self._given_up(target, f"no worker in zone {zone} answered within {self.answer_within:g} s")
            if waited > self.finish_within:
                return self._given_up(target, f"the worker in zone {zone} did not finish within "
                                              f"{self.finish_within:g} s")
            time.sleep(0.1)
        return NotAssessed(target.name, "the run was interrupted")

    def _given_up(self, target: Target, why: str) -> NotAssessed:
        self._drop([target.name])
        return NotAssessed(target.name, why)

    def _checked(self, target: Target, zone: str, answer: Any) -> dict[str, Any] | Exception:
        if not isinstance(answer, dict) or answer.get("target") != target.name:
            return NotAssessed(target.name, f"the worker in zone {zone} answered for another target")
        if "error" in answer:
            return NotAssessed(target.name, _strip(target, str(answer["error"])))
        return answer

    def _verified(self, target: Target, zone: str, text: Any) -> Records:
        try:
            shipped = unpack(text, self.settings.max_payload)
        except PayloadError as exc:
            raise NotAssessed(target.name, f"evidence from zone {zone}: {exc}") from None
        records: Records = {}
        for _, record in shipped:
            key = (str(record["kind"]), str(record["source"]))
            # A worker ships its own target's facts, each once; anything else is not evidence of this target.
            if record["target"] != target.name or key in records:
                raise NotAssessed(target.name, f"zone {zone} shipped a record of another target, or one fact twice")
            records[key] = record
        return records


class ShippedTransport(ReplayTransport):
    """Answers from a worker's verified records; a fact that failed on the worker fails here the same way."""

    def __init__(self, folder: Path, target: str, records: Records, failures: Mapping[tuple[str, str], Exception],
                 ) -> None:
        super().__init__(folder, target, records)
        self._failures = failures

    def run(self, command: Command) -> CommandResult:
        failed = self._failures.get(("command", str(command)))
        if failed is not None and ("command", str(command)) not in self._records:
            raise failed
        return super().run(command)

    def read_file(self, path: str) -> FileContent:
        failed = self._failures.get(("file", path))
        if failed is not None and ("file", path) not in self._records:
            raise failed
        return super().read_file(path)


def _release(result: AsyncResult) -> None:
    """Stop waiting for a task's result, now and for good. Celery's AsyncResult unsubscribes from the result store
    when it is garbage collected; after the run that may be long after the broker stopped or restarted, and the
    failed reconnection printed "Exception ignored in AsyncResult.__del__" with a traceback. Idempotent."""
    backend, result.backend = result.backend, None  # __del__ does nothing without a backend
    if backend is None:
        return
    try:
        backend.remove_pending_result(result)
    except Exception as exc:  # the broker may be what failed; nothing is waited for either way
        log.debug("releasing the result of task %s: %s", result.id, exc)


def _error(target: Target, shipped: Mapping[str, Any]) -> Exception:
    """The transport error a worker met, as the runner would have met it here."""
    return _ERRORS.get(str(shipped.get("type")), ConnectError)(target.name, _strip(target, str(shipped["message"])))


def _strip(target: Target, message: str) -> str:
    """A worker's message without the target prefix the error class adds again."""
    prefix = f"{target.name}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def _coordinator_app(settings: BrokerSettings) -> Celery:
    """The shared app, with the coordinator's patience: a broker that cannot be reached is said in seconds
    (publishing subscribes to the result store, which Celery otherwise retries twenty times a second apart)
    rather than after half a minute. Waiting for results retries on its own (_wait); workers keep the defaults."""
    app = make_app(settings)
    app.conf.update(redis_socket_connect_timeout=4,  # as broker_connection_timeout; Celery's default: the OS's
                    result_backend_transport_options={"retry_policy": {"max_retries": 1, "interval_start": 0.5}})
    return app


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Celery's own log lines under `name` held back (but with AUDITOR_LOG_LEVEL=DEBUG): it logs each retry of
    an unreachable result store as an error and then that "the application must be restarted", while the run
    says once, for each target, that the broker could not be reached."""
    logger = logging.getLogger(name)
    level = logger.level
    if not log.isEnabledFor(logging.DEBUG):
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def _address(url: str) -> str:
    """The broker as scheme://host:port, without user, password or database."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def _reason(exc: BaseException) -> str:
    """Why the broker failed, in the system's words where one is in the chain ("connection refused")."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror[:1].lower() + cause.strerror[1:]
        cause = cause.__cause__ or cause.__context__
    return " ".join(str(exc).split()) or type(exc).__name__


def local_opener(trust_new_host_keys: bool) -> OpenTarget:
    """How the coordinator opens the targets it scans itself (as run_scan does by default)."""
    from auditor.transports import open_transport

    def open_target(target: Target, login: bool) -> Transport:
        return open_transport(target, login=login, trust_new_host_keys=trust_new_host_keys)

    return open_target


def dispatch_zones(run_id: str, targets: Sequence[Target], checks: Mapping[str, CheckSpec], profile: Profile,
                   selection: Selection, broker: BrokerSettings | None, trust_new_host_keys: bool,
                   answer_within: float) -> ZoneDispatch | None:
    """The run's open_target when some target names a zone (its tasks already published), else None."""
    check_zones(targets, broker.url if broker else None)
    if broker is None or not any(zone_of(t) for t in targets):
        return None
    dispatch = ZoneDispatch(broker, local_opener(trust_new_host_keys), answer_within)
    dispatch.publish(run_id, targets, checks, profile, selection)
    return dispatch
