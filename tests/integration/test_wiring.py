"""The wiring is real: Kafka, RabbitMQ (with a real Celery worker) and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from kafka.admin import NewTopic

from events.kafka import make_admin, make_consumer, make_producer
from events.reading import read_to_end
from tests.integration.conftest import REPO, alembic, scratch_database_url

pytestmark = pytest.mark.integration


def test_a_message_produced_is_consumed_from_the_real_broker():
    topic = f"wiring-{uuid.uuid4().hex[:8]}"
    admin = make_admin()
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
    value = uuid.uuid4().hex.encode()
    producer = make_producer()
    meta = producer.send(topic, key=b"7", value=value).get(timeout=30)
    producer.close()
    # Everything the topic holds, read to its end offset as it is now (the send was
    # acknowledged, so its record is below it): a second copy would be read too. Iterating
    # until 15 s passed without a record cost those 15 s every run.
    consumer = make_consumer(None)
    try:
        got = [(m.key, m.value, m.partition, m.offset) for m in read_to_end(consumer, topic)]
    finally:
        consumer.close()
    assert got == [(b"7", value, meta.partition, meta.offset)]


def test_a_celery_task_round_trips_through_rabbitmq_and_a_real_worker():
    queue = f"wiring-{uuid.uuid4().hex[:8]}"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "-n",
            f"{queue}@%h",
        ],
        cwd=REPO,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        from workers.tasks import ping

        token = uuid.uuid4().hex
        result = ping.apply_async((token,), queue=queue)
        assert result.get(timeout=60) == f"pong:{token}"
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert worker.returncode is not None, output


def test_migrations_apply_and_downgrade_cleanly():
    url = scratch_database_url().replace("/comanda_test", "/comanda_migrations")
    _recreate_database(url)
    for step in (("upgrade", "head"), ("downgrade", "base"), ("upgrade", "head")):
        done = alembic(*step, database_url=url)
        assert done.returncode == 0, done.stderr
    current = alembic("current", database_url=url)
    assert "(head)" in current.stdout


def _recreate_database(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{target.database}" with (force)')
        conn.execute(f'create database "{target.database}"')


def test_outbox_rows_reach_kafka_through_the_running_relay():
    """A row committed to the outbox table is published by the running relay process, with
    its key. It names a probe topic, so no consumer of `orders` ever sees it."""
    from sqlalchemy import create_engine, text

    from app.core.envelope import Envelope, EventType

    topic = f"relay-probe-{uuid.uuid4().hex[:8]}"
    admin = make_admin()
    admin.create_topics([NewTopic(topic, 3, 1)])
    admin.close()
    envelope = Envelope(
        type=EventType.ORDER_STATUS_CHANGED,
        order_id=0,
        restaurant_id=424242,
        customer_id=0,
        data={"probe": True},
    )
    engine = create_engine(os.environ["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(
            text(
                "insert into outbox (event_id, topic, key, payload, headers, created_at) "
                "values (:id, :topic, :key, cast(:payload as jsonb), '{}', now())"
            ),
            {
                "id": envelope.event_id,
                "topic": topic,
                "key": envelope.key,
                "payload": envelope.to_bytes().decode(),
            },
        )
    consumer = make_consumer(None, topic, consumer_timeout_ms=30000)
    message = next(iter(consumer), None)
    consumer.close()
    assert message is not None, "the relay did not publish the outbox row within 30s"
    assert message.key == b"424242"
    assert Envelope.from_bytes(message.value).event_id == envelope.event_id
    with engine.begin() as conn:
        published = conn.execute(
            text("select published_at from outbox where event_id = :id"), {"id": envelope.event_id}
        ).scalar()
    engine.dispose()
    assert published is not None
