"""The outbox relay: publishes committed outbox rows to Kafka, in id order, then marks them.

Safe to run several at once: each batch holds a transaction-scoped advisory lock, so
batches never interleave and one order's events keep their order. A crash between the
send and the mark re-sends the batch: consumers are idempotent on ``event_id``. New rows
are noticed by LISTEN/NOTIFY; a poll (relay_poll_ms, 2 s) covers a missed notification.
After a wakeup the relay gathers before it reads, so a batch carries several events: long
enough for about relay_gather_rows events at the rate they are coming, at most
relay_gather_ms (events/relay_pace.py).
"""

from __future__ import annotations

import json
import logging
import time

import psycopg
from sqlalchemy.engine import make_url
from tenacity import Retrying, retry_if_exception_type, wait_exponential

from app.core import heap, metrics
from app.core.logs import setup_logging
from app.core.settings import get_settings
from events.kafka import make_producer
from events.relay_pace import EventRate, gather_seconds
from events.shutdown import GracefulExit

log = logging.getLogger("comanda.relay")
RELAY_LOCK = 7_231_001
BATCH = 500
CHANNEL = "comanda_outbox"

# The payload leaves PostgreSQL as the JSON text it is stored as (no parse and re-dump in
# Python); the event type header comes out of it in SQL. Plain psycopg on the relay's own
# connection: psycopg prepares each statement after a few runs, and there is no pool
# pre-ping or ORM session per batch (docs/perf-events.md "Fourth round").
LOCK = "select pg_try_advisory_xact_lock(%s)"
NEXT_BATCH = (
    "select id, topic, key, payload::text, headers::text, payload->>'type'"
    " from outbox where published_at is null order by id limit %s"
)
# By id list, never by range: a lower id may commit after a higher one was published.
MARK = "update outbox set published_at = now() where id = any(%s)"
# PostgreSQL estimates a generic plan of `id = any($1)` at 10 ids, dearer than the custom
# plan of each batch's few, so on a full outbox the prepared MARK never settled on its cached
# plan and was planned again on every batch (pg_stat_statements at 15 orders/s: 790 plans in
# 790 calls, 0.2 ms of PostgreSQL per order). The generic plan is the same primary-key index
# scan, and the relay's other statements already ran on theirs.
OPTIONS = "-c plan_cache_mode=force_generic_plan"


def _headers(raw: str | None, event_type: str) -> list[tuple[str, bytes]]:
    pairs = json.loads(raw) if raw and raw != "{}" else {}
    return [(k, str(v).encode()) for k, v in pairs.items()] + [("event_type", event_type.encode())]


def relay_batch(producer, conn: psycopg.Connection, limit: int = BATCH) -> int:
    """Publish one batch; return how many rows were published.

    One transaction, two round trips to PostgreSQL in psycopg's pipeline mode: BEGIN, the
    advisory lock and the batch's select go together; the mark and COMMIT go together. The
    lock stays its own statement, ahead of the select: under READ COMMITTED the select
    takes its snapshot when it starts, after the lock is held, so a batch another relay just
    marked is never read as unpublished. When the lock is taken elsewhere the select has
    run too and its rows are ignored. Rows are sent in id order; the producer's
    idempotence and a key per restaurant keep each restaurant's events in that order on its
    partition. ``conn`` is in autocommit mode: BEGIN and COMMIT are sent as statements."""
    with conn.pipeline():
        conn.execute("begin")
        locked = conn.execute(LOCK, (RELAY_LOCK,))
        batch = conn.execute(NEXT_BATCH, (limit,))
        try:
            rows = batch.fetchall() if locked.fetchone()[0] else []
            if rows:
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
                    future.get(timeout=1)  # raises if Kafka did not take it: nothing is marked
                conn.execute(MARK, ([row[0] for row in rows],))
        except BaseException:
            if conn.pgconn.transaction_status != psycopg.pq.TransactionStatus.UNKNOWN:
                conn.execute("rollback")  # sent with the pipeline's closing sync
            raise
        conn.execute("commit")  # the mark and the commit: one round trip, at the block's end
    return len(rows)


def connect(conninfo: str | None = None, options: str = "") -> psycopg.Connection:
    """The relay's own connection: autocommit (BEGIN and COMMIT are statements of its
    pipeline), with the plan cache mode above."""
    return psycopg.connect(
        conninfo or _conninfo(),
        autocommit=True,
        connect_timeout=3,
        options=f"{OPTIONS} {options}".strip(),
    )


def _conninfo() -> str:
    url = make_url(get_settings().database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class Wakeup:
    """LISTEN on the outbox channel; wait() returns early when a row is inserted."""

    def __init__(self) -> None:
        self.conn: psycopg.Connection | None = None

    def wait(self, timeout: float, gather: float = 0.0) -> int:
        """Until a row is inserted (or ``timeout``), then ``gather`` seconds more, taking the
        notifications of the rows that commit meanwhile: they join the next batch, which
        is one Kafka produce request, one mark and one fetch answer to each consumer group
        for all of them, and none of them wakes the relay again for rows already sent.
        Returns how many notifications it took."""
        taken = 0
        try:
            if self.conn is None or self.conn.closed:
                self.conn = psycopg.connect(_conninfo(), autocommit=True, connect_timeout=3)
                self.conn.execute(f"LISTEN {CHANNEL}")
            taken += sum(1 for _ in self.conn.notifies(timeout=timeout, stop_after=1))
            if gather > 0:
                taken += sum(1 for _ in self.conn.notifies(timeout=gather))
        except psycopg.Error:
            self.conn = None
            time.sleep(timeout)
        return taken


class Relay:
    """The relay process's state: its producer and its PostgreSQL connection, each
    rebuilt after an error of its own."""

    def __init__(self) -> None:
        self.producer = None
        self.conn: psycopg.Connection | None = None

    def step(self) -> int:
        if self.producer is None:
            self.producer = make_producer(client_id="comanda-relay", max_block_ms=10000)
        if self.conn is None or self.conn.closed:
            self.conn = connect()
        return relay_batch(self.producer, self.conn)

    def failed(self, state) -> None:
        exc = state.outcome.exception()
        log.warning("relay batch failed, retrying in %.1fs: %s", state.upcoming_sleep, exc)
        if self.producer is not None and "Kafka" in type(exc).__name__:
            self.producer.close(timeout=1)
            self.producer = None
        if self.conn is not None and isinstance(exc, psycopg.Error):
            self.conn.close()  # unknown state: the next try starts on a fresh connection
            self.conn = None

    def close(self) -> None:
        if self.producer is not None:
            self.producer.close(timeout=10)
        if self.conn is not None:
            self.conn.close()


def run() -> None:
    setup_logging("relay")
    metrics.serve()
    heap.freeze_startup_objects()  # no pause of the relay for a full collection (app/core/heap.py)
    exit_flag = GracefulExit()
    relay, wakeup = Relay(), Wakeup()
    settings = get_settings()
    poll = settings.relay_poll_ms / 1000
    rate = EventRate()
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
        rate.add(published)
        if published:
            log.debug("published %d events", published)
        if published < BATCH:
            rows, longest = settings.relay_gather_rows, settings.relay_gather_ms
            wakeup.wait(poll, gather_seconds(rate.per_second(), rows, longest))
    relay.close()
    log.info("relay stopped")


if __name__ == "__main__":
    run()
