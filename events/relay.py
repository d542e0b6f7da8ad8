"""The outbox relay: publishes committed outbox rows to Kafka, in id order, then marks them.

Safe to run several at once: each batch holds a transaction-scoped advisory lock, so
batches never interleave and one order's events keep their order. A crash between the
send and the mark re-sends the batch: consumers are idempotent on ``event_id``. New rows
are noticed by LISTEN/NOTIFY; a short poll covers a missed notification.
"""

from __future__ import annotations

import json
import logging
import time

import psycopg
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

from app.core import metrics
from app.core.db import unit_of_work
from app.core.logs import setup_logging
from app.core.models import OutboxEvent, utcnow
from app.core.settings import get_settings
from events.kafka import make_producer
from events.shutdown import GracefulExit

log = logging.getLogger("comanda.relay")
RELAY_LOCK = 7_231_001
BATCH = 500
CHANNEL = "comanda_outbox"


def relay_batch(producer, limit: int = BATCH) -> int:
    """Publish one batch; return how many rows were published."""
    with unit_of_work() as session:
        got = session.execute(text("select pg_try_advisory_xact_lock(:k)"), {"k": RELAY_LOCK})
        if not got.scalar():
            return 0
        rows = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.published_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(limit)
        ).all()
        if not rows:
            return 0
        futures = [
            producer.send(
                row.topic,
                key=row.key.encode(),
                value=json.dumps(row.payload, separators=(",", ":")).encode(),
                headers=[(k, str(v).encode()) for k, v in (row.headers or {}).items()]
                + [("event_type", row.payload["type"].encode())],
            )
            for row in rows
        ]
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=1)  # raises if Kafka did not take it: nothing gets marked
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_([r.id for r in rows]))
            .values(published_at=utcnow())
        )
        return len(rows)


def _listen_conninfo() -> str:
    url = make_url(get_settings().database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class Wakeup:
    """LISTEN on the outbox channel; wait() returns early when a row is inserted."""

    def __init__(self) -> None:
        self.conn: psycopg.Connection | None = None

    def wait(self, timeout: float) -> None:
        try:
            if self.conn is None or self.conn.closed:
                self.conn = psycopg.connect(_listen_conninfo(), autocommit=True, connect_timeout=3)
                self.conn.execute(f"LISTEN {CHANNEL}")
            for _ in self.conn.notifies(timeout=timeout, stop_after=1):
                pass
        except psycopg.Error:
            self.conn = None
            time.sleep(timeout)


def run() -> None:
    setup_logging("relay")
    metrics.serve()
    exit_flag = GracefulExit()
    producer, wakeup, backoff = None, Wakeup(), 0.5
    log.info("relay starting")
    while not exit_flag.requested:
        try:
            if producer is None:
                producer = make_producer(client_id="comanda-relay", max_block_ms=10000)
            published = relay_batch(producer)
            if published:
                log.info("published %d events", published)
            backoff = 0.5
            if published < BATCH:
                wakeup.wait(0.5)
        except Exception as exc:  # noqa: BLE001 - keep relaying whatever failed
            log.warning("relay batch failed, retrying in %.1fs: %s", backoff, exc)
            if producer is not None and "Kafka" in type(exc).__name__:
                producer.close(timeout=1)
                producer = None
            time.sleep(backoff)
            backoff = min(backoff * 2, 10)
    if producer is not None:
        producer.close(timeout=10)
    log.info("relay stopped")


if __name__ == "__main__":
    run()
