"""The shared consumer loop against the real broker, on private topics: poison goes to the
dead-letter topic with its origin, an outage is waited out (never dead-lettered), a bug
that persists is dead-lettered after MAX_ATTEMPTS, order is kept and offsets committed.
(tests/unit/test_consumer_loop.py covers each path with fake clients; this is the wiring.)"""

from __future__ import annotations

import pytest
from kafka import TopicPartition
from sqlalchemy.exc import OperationalError

from app.core.envelope import Envelope, EventType
from events.consumers import base
from events.kafka import make_consumer, make_producer
from events.reading import read_to_end

pytestmark = pytest.mark.integration


def envelope(order_id: int) -> Envelope:
    return Envelope(
        type=EventType.ORDER_PLACED, order_id=order_id, restaurant_id=1, customer_id=1, data={}
    )


@pytest.fixture
def topics(private_topic):
    return private_topic


def test_poison_outage_and_bug_are_each_handled_their_own_way(topics):
    a, b, c, d = envelope(1), envelope(2), envelope(3), envelope(4)
    producer = make_producer()
    for value in (a.to_bytes(), b"not json at all", b.to_bytes(), c.to_bytes(), d.to_bytes()):
        producer.send(topics, key=b"1", value=value).get(timeout=30)
    producer.close()

    handled, outage_left = [], 3

    def handler(batch: list[base.Received]) -> None:
        nonlocal outage_left
        ids = [received.envelope.order_id for received in batch]
        if 3 in ids and outage_left:
            outage_left -= 1
            raise OperationalError("select 1", {}, ConnectionRefusedError("db down"))
        if 4 in ids:
            raise ValueError("a bug in the handler")
        handled.extend(ids)  # like a transaction: all of the batch or none of it

    group = f"g-{topics}"
    loop = base.ConsumerLoop(
        group, handler, consumer=make_consumer(group, topics), sleep=lambda _: None
    )
    for _ in range(200):
        loop.poll_once(timeout_ms=300)
        if sorted(handled) == [1, 2, 3]:
            break
    loop.consumer.close()
    loop.producer.close()
    assert handled == [1, 2, 3]  # each once, in order (the failed batch wrote nothing)

    # The whole dead-letter topic to its end offset now: each letter was acknowledged by
    # Kafka before its offset was committed, so all of them are below it (no 5 s idle wait).
    reader = make_consumer(None)
    try:
        letters = [
            {k: v.decode() for k, v in m.headers} | {"value": m.value}
            for m in read_to_end(reader, f"{topics}.dlq")
        ]
    finally:
        reader.close()
    assert [(x["origin_offset"], x["error"].split(":")[0]) for x in letters] == [
        ("1", "PoisonMessage"),
        ("4", "ValueError"),
    ]
    assert all(x["origin_topic"] == topics and x["consumer_group"] == group for x in letters)
    assert letters[1]["value"] == d.to_bytes()

    check = make_consumer(group, topics)
    tp = TopicPartition(topics, 0)
    assert check.committed(tp) == 5  # everything done, nothing left behind
    check.close()


class StopAfterPolls:
    """A GracefulExit stand-in: asks the loop to stop after ``polls`` checks."""

    def __init__(self, polls: int) -> None:
        self.left = polls

    @property
    def requested(self) -> bool:
        self.left -= 1
        return self.left < 0


def committed(group: str, topic: str) -> int | None:
    check = make_consumer(group, topic)
    try:
        return check.committed(TopicPartition(topic, 0))
    finally:
        check.close()


def test_offsets_are_held_while_events_come_and_committed_once_they_stop(topics):
    """With a commit interval, handled offsets are held (no broker commit per poll); the
    first empty poll (the group caught up) commits them, and so does stopping the loop."""
    producer = make_producer()
    for n in (1, 2, 3):
        producer.send(topics, key=b"1", value=envelope(n).to_bytes()).get(timeout=30)
    producer.flush()

    handled, group = [], f"g-{topics}"
    loop = base.ConsumerLoop(
        group,
        lambda batch: handled.extend(r.envelope.order_id for r in batch),
        consumer=make_consumer(group, topics),
        sleep=lambda _: None,
        commit_interval_s=60.0,
    )
    for _ in range(100):
        loop.poll_once(timeout_ms=300)
        if len(handled) == 3:
            break
    assert handled == [1, 2, 3]
    assert committed(group, topics) != 3  # the poll that handled the last one held it

    assert loop.poll_once(timeout_ms=300) == 0  # nothing more: an empty poll commits
    assert committed(group, topics) == 3

    producer.send(topics, key=b"1", value=envelope(4).to_bytes()).get(timeout=30)
    producer.close()
    for _ in range(100):
        if loop.poll_once(timeout_ms=300):
            break
    assert handled == [1, 2, 3, 4]
    assert committed(group, topics) == 3  # held again
    loop.run(StopAfterPolls(0))  # stops at once, committing what is held; closes the clients
    assert committed(group, topics) == 4
