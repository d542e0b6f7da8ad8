"""The outbox relay: publishes committed outbox rows to Kafka, in id order, then marks them.

Safe to run several at once: each batch holds a transaction-scoped advisory lock, so
batches never interleave and one order's events keep their order. A crash between the
send and the mark re-sends the batch: consumers are idempotent on ``event_id``. New rows
are noticed by LISTEN/NOTIFY; a poll (relay_poll_ms, 2 s) covers a missed notification.
"""

from __future__ import annotations

import json
import logging
import time

import psycopg
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.types import BigInteger
from tenacity import Retrying, retry_if_exception_type, wait_exponential

from app.core import metrics
from app.core.db import unit_of_work
from app.core.logs import setup_logging
from app.core.settings import get_settings
from events.kafka import make_producer
from events.shutdown import GracefulExit

log = logging.getLogger("comanda.relay")
RELAY_LOCK = 7_231_001
BATCH = 500
CHANNEL = "comanda_outbox"

# The payload leaves PostgreSQL as the JSON text it is stored as (no parse and re-dump in
# Python); the event type header comes out of it in SQL.
NEXT_BATCH = text(
    "select id, topic, key, payload::text, headers::text, payload->>'type'"
    " from outbox where published_at is null order by id limit :limit"
)
# By id list, never by range: a lower id may commit after a higher one was published.
MARK = text("update outbox set published_at = now() where id = any(:ids)").bindparams(
    bindparam("ids", type_=ARRAY(BigInteger))
)


def _headers(raw: str | None, event_type: str) -> list[tuple[str, bytes]]:
    pairs = json.loads(raw) if raw and raw != "{}" else {}
    return [(k, str(v).encode()) for k, v in pairs.items()] + [("event_type", event_type.encode())]


def relay_batch(producer, limit: int = BATCH) -> int:
    """Publish one batch; return how many rows were published.

    Four statements in one transaction: the advisory lock, the batch, the mark, commit.
    Rows are sent in id order; the producer's idempotence and a key per restaurant keep
    each restaurant's events in that order on its partition."""
    with unit_of_work() as session:
        got = session.execute(text("select pg_try_advisory_xact_lock(:k)"), {"k": RELAY_LOCK})
        if not got.scalar():
            return 0
        rows = session.execute(NEXT_BATCH, {"limit": limit}).all()
        if not rows:
            return 0
        futures = [
            producer.send(
                topic,
                key=key.encode(),
                value=payload.encode(),
                headers=_headers(headers, event_type),
            )
            for _, topic, key, payload, headers, event_type in rows
        ]
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=1)  # raises if Kafka did not take it: nothing gets marked
        session.execute(MARK, {"ids": [row[0] for row in rows]})
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


class Relay:
    """The relay process's state: its producer, rebuilt after a Kafka error."""

    def __init__(self) -> None:
        self.producer = None

    def step(self) -> int:
        if self.producer is None:
            self.producer = make_producer(client_id="comanda-relay", max_block_ms=10000)
        return relay_batch(self.producer)

    def failed(self, state) -> None:
        exc = state.outcome.exception()
        log.warning("relay batch failed, retrying in %.1fs: %s", state.upcoming_sleep, exc)
        if self.producer is not None and "Kafka" in type(exc).__name__:
            self.producer.close(timeout=1)
            self.producer = None

    def close(self) -> None:
        if self.producer is not None:
            self.producer.close(timeout=10)


def run() -> None:
    setup_logging("relay")
    metrics.serve()
    exit_flag = GracefulExit()
    relay, wakeup = Relay(), Wakeup()
    poll = get_settings().relay_poll_ms / 1000
    # Whatever failed (PostgreSQL, Kafka), try again with backoff (0.5 s doubling to 10 s)
    # until it works or the process is asked to stop.
    retrying = Retrying(
        retry=retry_if_exception_type(Exception),
        wait=wait_exponential(multiplier=0.5, min=0.5, max=10),
        stop=lambda _: exit_flag.requested,
        before_sleep=relay.failed,
        retry_error_callback=lambda _: 0,
    )
    log.info("relay starting")
    while not exit_flag.requested:
        published = retrying(relay.step)
        if published:
            log.debug("published %d events", published)
        if published < BATCH:
            wakeup.wait(poll)
    relay.close()
    log.info("relay stopped")


if __name__ == "__main__":
    run()
