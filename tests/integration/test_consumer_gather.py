"""The pipeline consumer's gather against the real brokers: while RabbitMQ holds step tasks
no worker has taken, a poll goes on gathering Kafka records (up to gather_max) before the
handler runs, so one batch carries them all; with none waiting, each poll is handed on at
once. BatchPublisher.waiting() reads RabbitMQ's own count."""

from __future__ import annotations

import time

import pytest
from amqp.exceptions import NotFound

from app.core import task_queue
from app.core.batch_publish import BatchPublisher
from events.consumers import base
from events.consumers.backpressure import Backpressure
from events.kafka import make_consumer, make_producer
from tests.integration.test_consumer_loop import envelope
from tests.support.rabbit import private_app

pytestmark = pytest.mark.integration


def run_one_poll(topic: str, gather) -> list[list[int]]:
    """Send order 1, then one poll of a fresh group whose gather sends orders 2 and 3 the
    first time it is asked. Returns the ids of each batch the handler got."""
    producer = make_producer()
    producer.send(topic, key=b"1", value=envelope(1).to_bytes()).get(timeout=30)
    batches: list[list[int]] = []
    asked = []

    def gathering() -> float:
        if not asked:
            for order_id in (2, 3):
                producer.send(topic, key=b"1", value=envelope(order_id).to_bytes()).get(30)
        asked.append(True)
        return gather()

    group = f"g-{topic}"
    loop = base.ConsumerLoop(
        group,
        lambda batch: batches.append([r.envelope.order_id for r in batch]),
        consumer=make_consumer(group, topic),
        gather=gathering,
        gather_max=3,
    )
    try:
        for _ in range(100):  # until the group is assigned and the first record is read
            if loop.poll_once(timeout_ms=300):
                break
    finally:
        loop.consumer.close()
        loop.producer.close()
        producer.close()
    return batches


def test_while_tasks_wait_for_a_worker_a_poll_gathers_what_comes_next(private_topic, queue):
    app = private_app(queue)
    publisher = BatchPublisher(app, confirm_timeout=10)
    publisher.send([(task_queue.VALIDATE_ORDER, [[7], None], None)])  # no worker takes it
    # 30 s to gather, but gather_max (3 records) ends the gather as soon as they are in.
    backpressure = Backpressure(lambda: publisher.waiting(queue), gather_ms=30_000, slow_ms=250)
    started = time.monotonic()
    assert run_one_poll(private_topic, backpressure) == [[1, 2, 3]]
    assert time.monotonic() - started < 25  # ended by gather_max, not by the 30 s
    publisher.close()


def test_with_no_task_waiting_each_poll_is_handed_on_at_once(private_topic, queue):
    app = private_app(queue)
    publisher = BatchPublisher(app, confirm_timeout=10)
    publisher.send([(task_queue.VALIDATE_ORDER, [[7], None], None)])
    publisher.waiting(queue)  # declares nothing: the queue exists since the send
    with app.connection_for_write() as conn:  # a worker took it
        assert conn.default_channel.basic_get(queue, no_ack=True) is not None
    backpressure = Backpressure(lambda: publisher.waiting(queue), gather_ms=30_000, slow_ms=250)
    assert run_one_poll(private_topic, backpressure) == [[1]]  # 2 and 3: the next poll's
    assert backpressure.waiting == 0
    publisher.close()


def test_waiting_counts_rabbitmqs_ready_messages_and_survives_a_missing_queue(queue):
    app = private_app(queue)
    publisher = BatchPublisher(app, confirm_timeout=10)
    publisher.send([(task_queue.VALIDATE_ORDER, [[i], None], None) for i in (1, 2)])
    assert publisher.waiting(queue) == 2
    with pytest.raises(NotFound):
        publisher.waiting(f"{queue}-missing")  # RabbitMQ closes the channel: 404
    assert publisher.waiting(queue) == 2  # on a fresh channel
    publisher.close()
