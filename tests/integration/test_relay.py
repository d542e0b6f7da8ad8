"""The relay's batch (events/relay.py relay_batch) on the real PostgreSQL and Kafka.

Each test gets a private schema in comanda_test holding its own ``outbox`` (the table's
copy, found through the connection's search_path), so neither the stack's relay nor other
tests' rows are involved, and a private topic, so no consumer of the stack reads them.
"""

from __future__ import annotations

import json
import os
import threading
import uuid

import psycopg
import pytest
from kafka.errors import KafkaTimeoutError
from sqlalchemy.engine import make_url

from events import relay
from events.kafka import make_consumer, make_producer
from events.reading import read_to_end

pytestmark = pytest.mark.integration


@pytest.fixture
def outbox(test_db):
    """The relay's own kind of connection (relay.connect) whose ``outbox`` is a private
    empty copy."""
    dsn = make_url(test_db).set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"relay_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(dsn, autocommit=True)
    admin.execute(f"create schema {schema}")
    admin.execute(f"create table {schema}.outbox (like public.outbox including all)")
    conn = relay.connect(dsn, options=f"-c search_path={schema}")
    yield conn
    conn.close()
    admin.execute(f"drop schema {schema} cascade")
    admin.close()


def add_rows(conn, topic: str, count: int) -> list[int]:
    ids = []
    for n in range(count):
        row = conn.execute(
            "insert into outbox (event_id, topic, key, payload, headers, created_at)"
            " values (%s, %s, '7', %s, %s, now()) returning id",
            (
                uuid.uuid4(),
                topic,
                json.dumps({"type": "order.placed", "n": n}),
                json.dumps({"correlation_id": f"req-{n}"}),
            ),
        ).fetchone()
        ids.append(row[0])
    return ids


def unpublished(conn) -> int:
    return conn.execute("select count(*) from outbox where published_at is null").fetchone()[0]


def round_trips(conn, call) -> int:
    """How many times the client waited on the server during ``call``: in libpq's trace of
    the messages, each turn from what the client sent (F) to what the server sent (B)."""
    path = f"/tmp/relay-trace-{uuid.uuid4().hex[:8]}"
    with open(path, "w") as trace:
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            call()
        finally:
            conn.pgconn.untrace()
    with open(path) as trace:
        sides = [line.split("\t", 1)[0] for line in trace]
    os.unlink(path)
    return sum(1 for a, b in zip(sides, sides[1:], strict=False) if (a, b) == ("F", "B"))


def test_a_batch_is_published_in_order_and_marked_in_two_round_trips(outbox, private_topic):
    add_rows(outbox, private_topic, 3)
    producer = make_producer()
    try:
        published = []
        trips = round_trips(outbox, lambda: published.append(relay.relay_batch(producer, outbox)))
    finally:
        producer.close()
    assert published == [3]
    assert unpublished(outbox) == 0
    # BEGIN + lock + select, then mark + COMMIT (it was five: each statement on its own).
    assert trips == 2
    assert outbox.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE

    reader = make_consumer(None)
    try:
        got = list(read_to_end(reader, private_topic))
    finally:
        reader.close()
    assert [json.loads(m.value)["n"] for m in got] == [0, 1, 2]
    assert dict(got[0].headers) == {"correlation_id": b"req-0", "event_type": b"order.placed"}


class DownProducer:
    """Kafka refusing every send (as kafka-python raises when it cannot reach a broker)."""

    def send(self, *args, **kwargs):
        raise KafkaTimeoutError("no broker")

    def flush(self, timeout=None):
        pass


def test_a_kafka_failure_marks_nothing_and_releases_the_lock(outbox, private_topic):
    add_rows(outbox, private_topic, 2)
    with pytest.raises(KafkaTimeoutError):
        relay.relay_batch(DownProducer(), outbox)
    assert outbox.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE  # rolled back
    assert unpublished(outbox) == 2
    # The advisory lock went with the transaction: the next batch (on a working Kafka) runs.
    producer = make_producer()
    try:
        assert relay.relay_batch(producer, outbox) == 2
    finally:
        producer.close()
    assert unpublished(outbox) == 0


def test_a_batch_does_nothing_while_another_relay_holds_the_lock(outbox, private_topic, test_db):
    add_rows(outbox, private_topic, 2)
    dsn = make_url(test_db).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as other, other.transaction():
        other.execute("select pg_advisory_xact_lock(%s)", (relay.RELAY_LOCK,))
        producer = make_producer()
        try:
            assert relay.relay_batch(producer, outbox) == 0
        finally:
            producer.close()
        assert unpublished(outbox) == 2
    assert outbox.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_the_mark_runs_on_its_cached_plan_not_planned_per_batch(outbox, private_topic):
    """psycopg prepares a statement on its 6th run; PostgreSQL would then plan the mark's
    id list again on every execution (custom plans), as its generic plan looks dearer.
    The relay's connection keeps the generic one: after a dozen batches the mark has run
    prepared, on no custom plan."""
    producer = make_producer(client_id=f"test-relay-{uuid.uuid4().hex[:6]}")
    try:
        for _ in range(12):
            add_rows(outbox, private_topic, 2)
            assert relay.relay_batch(producer, outbox) == 2
    finally:
        producer.close(timeout=5)
    generic, custom = outbox.execute(
        "select generic_plans, custom_plans from pg_prepared_statements"
        " where statement like 'update outbox set published_at%'"
    ).fetchone()
    assert generic >= 1 and custom == 0


def test_a_wakeup_gathers_the_notifications_of_rows_committed_meanwhile(on_test_db):
    """After a wakeup the relay waits relay_gather_ms for more rows: their notifications are
    taken in that wait, so the rows go out in the relay's next batch and none of them wakes
    it again. Without the gather, each row committed after the wakeup is one more wakeup."""
    dsn = make_url(on_test_db).set(drivername="postgresql").render_as_string(hide_password=False)
    wakeup = relay.Wakeup()
    wakeup.wait(0.01)  # connects and listens
    sender = psycopg.connect(dsn, autocommit=True)
    lock = threading.Lock()

    def notify(count: int) -> None:
        with lock:  # one transaction each, as rows committed one by one
            for n in range(count):
                sender.execute("select pg_notify(%s, %s)", (relay.CHANNEL, f"{uuid.uuid4()}{n}"))

    try:
        notify(1)
        assert wakeup.wait(5, gather=0) == 1
        notify(2)  # after the wakeup: each is one more
        assert len(list(wakeup.conn.notifies(timeout=0.5))) == 2

        notify(1)
        later = threading.Timer(0.3, notify, args=(2,))  # committed during the gather
        later.start()
        assert wakeup.wait(5, gather=2.0) == 3
        later.join()
        assert list(wakeup.conn.notifies(timeout=0.5)) == []  # none left to wake it again
    finally:
        sender.close()
        wakeup.conn.close()
