"""Can each service be reached? One short probe per service, for /readyz.

Each probe raises when its service does not answer in a few seconds; it opens its own
short-lived connection and keeps nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from kafka.admin import KafkaAdminClient
from kombu import Connection

from app.core import db
from app.core.settings import get_settings

TIMEOUT_S = 3.0


def kafka() -> None:
    """A broker answers a metadata request."""
    ms = int(TIMEOUT_S * 1000)
    admin = KafkaAdminClient(
        bootstrap_servers=get_settings().kafka_servers,
        request_timeout_ms=ms,
        bootstrap_timeout_ms=ms,
        client_id="comanda-probe",
    )
    try:
        admin.list_topics()
    finally:
        admin.close()


def rabbitmq() -> None:
    with Connection(get_settings().celery_broker_url, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


CHECKS: dict[str, Callable[[], None]] = {"database": db.ping, "kafka": kafka, "rabbitmq": rabbitmq}
