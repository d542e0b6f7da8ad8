"""The pipeline consumer's batched publisher confirms against the real RabbitMQ and Kafka:
a poll's tasks go out back to back and are confirmed together, with Celery's own message
(task name, correlation id header); when RabbitMQ refuses a publish (a nack, here from a
full queue with x-overflow=reject-publish), the handler raises and the offsets are not
committed; once the queue has room again, the same events are published and committed."""

from __future__ import annotations

import json
import os
from urllib.parse import quote

import pytest
import requests
from kafka import TopicPartition
from kombu.exceptions import OperationalError

from app.core import task_queue
from app.core.batch_publish import BatchPublisher, NotConfirmed
from app.core.envelope import Envelope, EventType
from app.core.settings import get_settings, use_settings
from events.consumers import base, pipeline
from events.kafka import make_consumer, make_producer
from tests.support.rabbit import ROOM, private_app

pytestmark = pytest.mark.integration


def messages(app, queue: str) -> list:
    out = []
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        while (message := channel.basic_get(queue, no_ack=True)) is not None:
            out.append(message)
    return out


def test_a_batch_is_confirmed_together_and_carries_celerys_message(queue):
    app = private_app(queue)
    publisher = BatchPublisher(app, confirm_timeout=10)
    assert (
        publisher.send(
            [(task_queue.VALIDATE_ORDER, [7], "trace-7"), (task_queue.VOID_PAYMENT, [8], None)]
        )
        == 2
    )
    got = messages(app, queue)
    assert [m.headers["task"] for m in got] == [task_queue.VALIDATE_ORDER, task_queue.VOID_PAYMENT]
    assert got[0].headers[task_queue.TRACE_HEADER] == "trace-7"
    assert [m.properties["delivery_mode"] for m in got] == [2, 2]  # persistent
    # The kept channel serves the next batch too (its delivery tags keep counting).
    assert publisher.send([(task_queue.VALIDATE_ORDER, [9], None)]) == 1
    assert len(messages(app, queue)) == 1


def test_a_refused_publish_raises(queue):
    app = private_app(queue)
    publisher = BatchPublisher(app, confirm_timeout=10)
    with pytest.raises(NotConfirmed):
        publisher.send([(task_queue.VALIDATE_ORDER, [n], None) for n in range(ROOM + 1)])
    assert len(messages(app, queue)) == ROOM  # what fitted; the rest was refused


def test_a_kept_connection_rabbitmq_closed_is_replaced_and_the_batch_confirmed(queue, wait):
    """What happens to the kept connection when RabbitMQ drops it (an idle connection that
    missed its heartbeats, a broker restart): here closed through the management API."""
    url = os.environ.get("RABBITMQ_MANAGEMENT_URL", "").rstrip("/")
    if not url:
        pytest.fail("RABBITMQ_MANAGEMENT_URL is not set: run with `eval $(make -s env)`")
    login = (os.environ["RABBITMQ_MANAGEMENT_USER"], os.environ["RABBITMQ_MANAGEMENT_PASSWORD"])
    app = private_app(queue)
    publisher = BatchPublisher(app, confirm_timeout=10)
    publisher.send([(task_queue.VALIDATE_ORDER, [1], None)])
    port = publisher._connection.connection.sock.getsockname()[1]

    def listed():
        found = requests.get(f"{url}/api/connections", auth=login, timeout=10).json()
        return next((c["name"] for c in found if c.get("peer_port") == port), None)

    name = wait(listed, timeout=30, interval=0.5, message=f"the connection from port {port}")
    closed = requests.delete(
        f"{url}/api/connections/{quote(name, safe='')}", auth=login, timeout=10
    )
    assert closed.status_code == 204, closed.text[:300]

    assert publisher.send([(task_queue.VALIDATE_ORDER, [2], None)]) == 1
    assert publisher._connection.connection.sock.getsockname()[1] != port  # a fresh one
    assert [json.loads(m.body)[0] for m in messages(app, queue)] == [[1], [2]]


@pytest.fixture
def topic(private_topic):
    return private_topic


def test_offsets_are_committed_only_after_every_publish_was_confirmed(queue, topic, monkeypatch):
    app = private_app(queue)
    monkeypatch.setattr(pipeline, "_publisher", lambda: publisher)
    publisher = BatchPublisher(app, confirm_timeout=10)
    publisher.send([("filler", [n], None) for n in range(ROOM)])  # the queue is full

    producer = make_producer()
    for order_id in (1, 2, 3):
        event = Envelope(
            type=EventType.ORDER_PLACED, order_id=order_id, restaurant_id=1, customer_id=1, data={}
        )
        producer.send(topic, key=b"1", value=event.to_bytes()).get(timeout=30)
    producer.close()

    refused = []

    def handle(batch):
        try:
            pipeline.handle(batch)
        except NotConfirmed:
            refused.append(len(batch))
            raise

    group = f"g-{topic}"
    loop = base.ConsumerLoop(
        group, handle, consumer=make_consumer(group, topic), sleep=lambda _: None
    )
    tp = TopicPartition(topic, 0)
    try:
        for _ in range(50):
            loop.poll_once(timeout_ms=300)
            if refused:
                break
        assert refused, "the full queue never refused a publish"
        assert loop.consumer.committed(tp) in (None, 0)

        assert [m.headers["task"] for m in messages(app, queue)] == ["filler"] * ROOM  # room again
        for _ in range(50):
            loop.poll_once(timeout_ms=300)
            if loop.consumer.committed(tp) == 3:
                break
        assert loop.consumer.committed(tp) == 3
    finally:
        loop.consumer.close()
        loop.producer.close()
    got = messages(app, queue)
    assert {m.headers["task"] for m in got} == {task_queue.VALIDATE_ORDER}
    # Each task carries a batch of the poll's orders (Celery's body is [args, kwargs, ...],
    # a step task's args [order ids, correlation ids]): every order handed on exactly once.
    assert sorted(i for m in got for i in json.loads(m.body)[0][0]) == [1, 2, 3]


def test_an_unreachable_broker_is_an_outage_for_the_consumer_loop(monkeypatch):
    """Nothing listens on port 1: send raises kombu's OperationalError at once, which
    events/consumers/base.py waits out with its own backoff (never dead-letters)."""
    unreachable = "amqp://comanda:comanda@127.0.0.1:1//"
    monkeypatch.setenv("CELERY_BROKER_URL", unreachable)  # Celery reads it over its argument
    before = get_settings()
    use_settings(before.with_(celery_broker_url=unreachable))
    try:
        app = task_queue.make_celery("confirms-unreachable")
        assert app.conf.broker_url == unreachable
    finally:
        use_settings(before)
    with pytest.raises(OperationalError) as raised:
        BatchPublisher(app).send([(task_queue.VALIDATE_ORDER, [1], None)])
    assert base.is_outage(raised.value)
