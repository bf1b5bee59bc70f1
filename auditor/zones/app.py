"""The Celery application both sides share: JSON only, late acknowledgement, results that expire."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

from auditor.errors import InputError
from auditor.extras import require
from auditor.records import record

if TYPE_CHECKING:  # celery is the zones extra: a core install (the home kit) must still import this module
    from celery import Celery  # type: ignore[import-untyped]

TASK = "auditor.zones.scan_target"
PASSWORD_ENV = "AUDITOR_BROKER_PASSWORD"  # the Redis password, kept out of argv and the inventory


def queue_of(zone: str) -> str:
    """The Redis queue a zone's workers consume."""
    return f"auditor.zone.{zone}"


@record
class BrokerSettings:
    """How to reach Redis. Attributes:
    url: redis:// or rediss:// (TLS); a password in it is used, else `password` (from AUDITOR_BROKER_PASSWORD).
    ca_file: the CA that signed Redis's certificate (rediss:// only; default: the system's).
    redeliver_after: seconds after which a task taken by a worker that died is handed to another.
    result_expires: seconds a finished target's records stay in Redis.
    max_payload: bytes a task or a result may take (compressed records); larger ones are refused.
    """

    url: str
    password: str = ""
    ca_file: str = ""
    redeliver_after: int = 3600
    result_expires: int = 3600
    max_payload: int = 32 * 1024 * 1024

    def full_url(self) -> str:
        """The URL with the password, when one is given apart (never printed)."""
        parts = urlsplit(self.url)
        if parts.scheme not in ("redis", "rediss"):
            raise InputError(f"the broker must be a redis:// or rediss:// URL, got {parts.scheme or self.url!r}",
                             "--broker", "write e.g. --broker rediss://scanner.example:6380/0")
        if not self.password or parts.password:
            return self.url
        host = parts.netloc.rsplit("@", 1)[-1]
        user = quote(parts.username or "", safe="")
        return urlunsplit(parts._replace(netloc=f"{user}:{quote(self.password, safe='')}@{host}"))


def make_app(settings: BrokerSettings) -> Celery:
    """A Celery app on the broker, configured the same for the coordinator and every worker."""
    require("zones")
    from celery import Celery

    url = settings.full_url()
    app = Celery("auditor", broker=url, backend=url, set_as_current=False)
    tls = None
    if url.startswith("rediss://"):
        if settings.ca_file and not Path(settings.ca_file).is_file():
            raise InputError("CA file not found", f"--broker-ca {settings.ca_file}", "name the CA of Redis's cert")
        import ssl  # only for rediss://: the CLI imports this module to build its parser

        tls = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": settings.ca_file or None}
    app.conf.update(
        # JSON only: a pickled message from a compromised broker would run code on the worker.
        task_serializer="json", result_serializer="json", accept_content=["json"], result_accept_content=["json"],
        # A worker that dies mid-target leaves its task unacknowledged, so another worker scans the target again.
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_track_started=True, result_expires=settings.result_expires, result_extended=False,
        # Unacknowledged tasks are swept back to the queue every quarter of the redelivery delay (at most 10 s).
        broker_transport_options={"visibility_timeout": settings.redeliver_after, "unacked_restore_throttle": 1,
                                  "unacked_restore_interval": max(1, min(10, settings.redeliver_after // 4))},
        broker_connection_retry_on_startup=True, broker_use_ssl=tls, redis_backend_use_ssl=tls,
        worker_hijack_root_logger=False, task_default_queue="auditor.zone.default",
    )
    return app
