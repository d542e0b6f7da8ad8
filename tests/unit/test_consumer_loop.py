"""The shared consumer loop (events.consumers.base) with fake Kafka clients: batches,
commits, seeks, backoff and dead-lettering, with no broker and no waiting."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from kafka.errors import KafkaConnectionError
from kafka.structs import TopicPartition
from sqlalchemy.exc import OperationalError

from app.core.envelope import Envelope, EventType
from events.consumers import base

pytestmark = pytest.mark.unit
TOPIC = "orders"


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: list = field(default_factory=list)


class FakeConsumer:
    """Partitions as lists of messages; poll returns everything from each position."""

    def __init__(self, partitions: dict[int, list[bytes]], headers=None):
        self.log = {
            TopicPartition(TOPIC, p): [
                Message(TOPIC, p, n, b"1", v, (headers or {}).get((p, n), []))
                for n, v in enumerate(values)
            ]
            for p, values in partitions.items()
        }
        self.position = {tp: 0 for tp in self.log}
        self.commits: list[dict[int, int]] = []
        self.seeks: list[tuple[int, int]] = []

    def poll(self, timeout_ms: int = 0):
        out = {}
        for tp, messages in self.log.items():
            if messages[self.position[tp] :]:
                out[tp] = messages[self.position[tp] :]
                self.position[tp] = len(messages)
        return out

    def seek(self, tp, offset: int) -> None:
        self.seeks.append((tp.partition, offset))
        self.position[TopicPartition(tp.topic, tp.partition)] = offset

    def commit(self, offsets) -> None:
        self.commits.append({tp.partition: meta.offset for tp, meta in offsets.items()})

    def committed(self) -> dict[int, int]:
        done: dict[int, int] = {}
        for commit in self.commits:
            done.update(commit)
        return done


class Future:
    def __init__(self, error: Exception | None):
        self.error = error

    def get(self, timeout: float = 0):
        if self.error:
            raise self.error


class FakeProducer:
    def __init__(self, failures: int = 0):
        self.sent, self.failures = [], failures

    def send(self, topic, key=None, value=None, headers=None):
        if self.failures:
            self.failures -= 1
            return Future(TimeoutError("kafka down"))
        self.sent.append((topic, value, dict(headers)))
        return Future(None)


def env(order_id: int) -> bytes:
    return Envelope(
        type=EventType.ORDER_PLACED, order_id=order_id, restaurant_id=1, customer_id=1, data={}
    ).to_bytes()


def db_down() -> OperationalError:
    return OperationalError("select 1", {}, ConnectionRefusedError("db down"))


def loop_with(consumer, handler, producer=None, **options):
    sleeps: list[float] = []
    loop = base.ConsumerLoop(
        "g",
        handler,
        consumer=consumer,
        producer=producer or FakeProducer(),
        sleep=sleeps.append,
        **options,
    )
    return loop, sleeps


def test_a_poll_is_one_handler_call_and_committed_after_it():
    consumer = FakeConsumer({0: [env(1), env(2)], 1: [env(3)]})
    calls = []
    loop, sleeps = loop_with(
        consumer, lambda batch: calls.append([r.envelope.order_id for r in batch])
    )
    assert loop.poll_once() == 3
    assert calls == [[1, 2, 3]]
    assert consumer.commits == [{0: 2, 1: 1}]
    assert sleeps == [] and consumer.seeks == []


def test_a_failing_handler_commits_nothing():
    consumer = FakeConsumer({0: [env(1)]})
    committed_when_called = []

    def handler(batch):
        committed_when_called.append(dict(consumer.committed()))

    loop, _ = loop_with(consumer, handler)
    loop.poll_once()
    assert committed_when_called == [{}]  # the offset moves only after the handler returned


def test_poison_is_dead_lettered_with_its_origin_and_never_reaches_the_handler():
    consumer = FakeConsumer({0: [env(1), b"not json", env(2)]})
    producer, seen = FakeProducer(), []
    loop, _ = loop_with(
        consumer, lambda batch: seen.extend(r.envelope.order_id for r in batch), producer
    )
    loop.poll_once()
    assert seen == [1, 2]
    [(topic, value, headers)] = producer.sent
    assert value == b"not json"
    assert headers["origin_offset"] == b"1" and headers["consumer_group"] == b"g"
    assert headers["error"].startswith(b"PoisonMessage")
    assert consumer.committed() == {0: 3}


def test_an_outage_is_waited_out_with_growing_backoff_and_never_dead_lettered():
    consumer = FakeConsumer({0: [env(1), env(2)]})
    producer, outage, done = FakeProducer(), [3], []

    def handler(batch):
        if outage[0]:
            outage[0] -= 1
            raise db_down()
        done.extend(r.envelope.order_id for r in batch)

    loop, sleeps = loop_with(consumer, handler, producer)
    loop.poll_once()
    assert done == [1, 2]
    assert sleeps == sorted(sleeps) and len(sleeps) == 3 and sleeps[0] < sleeps[-1]
    assert producer.sent == []
    assert consumer.committed() == {0: 2}


def test_a_long_outage_rewinds_the_partitions_and_commits_nothing_of_the_batch():
    consumer = FakeConsumer({0: [b"poison", env(1), env(2)], 1: [env(3)]})
    producer, calls = FakeProducer(), []

    def handler(batch):
        calls.append(1)
        raise db_down()

    loop, sleeps = loop_with(consumer, handler, producer)
    loop.poll_once()
    assert len(calls) == base.OUTAGE_TRIES and max(sleeps) <= 5
    assert sorted(consumer.seeks) == [(0, 1), (1, 0)]  # back to the first unhandled message
    assert consumer.committed() == {0: 1}  # only the dead-lettered poison is done with
    assert len(producer.sent) == 1
    # The next poll reads the same messages again; the database is back.
    got = []
    loop.handler = lambda batch: got.extend(r.envelope.order_id for r in batch)
    loop.poll_once()
    assert got == [1, 2, 3]
    assert consumer.committed() == {0: 3, 1: 1}


def test_a_bug_is_pinned_on_its_message_retried_then_dead_lettered_and_the_rest_handled():
    consumer = FakeConsumer({0: [env(1), env(2), env(3)]})
    producer, done, tries = FakeProducer(), [], []

    def handler(batch):
        ids = [r.envelope.order_id for r in batch]
        if 2 in ids:
            tries.append(ids)
            raise ValueError("a bug in the handler")
        done.extend(ids)

    loop, _ = loop_with(consumer, handler, producer)
    loop.poll_once()
    assert done == [1, 3]
    assert tries[0] == [1, 2, 3] and tries[1:] == [[2]] * base.MAX_ATTEMPTS
    [(_, value, headers)] = producer.sent
    assert headers["origin_offset"] == b"1"
    assert headers["error"].startswith(b"ValueError")
    assert consumer.committed() == {0: 3}


def test_when_the_dead_letter_topic_is_unreachable_the_partition_waits_at_the_poison():
    consumer = FakeConsumer({0: [env(1), b"poison", env(2)], 1: [env(3)]})
    producer, done = FakeProducer(failures=100), []
    loop, _ = loop_with(
        consumer, lambda batch: done.extend(r.envelope.order_id for r in batch), producer
    )
    loop.poll_once()
    assert done == [1, 3]  # partition 0 stops at the poison; partition 1 carries on
    assert consumer.committed() == {0: 1, 1: 1}
    assert consumer.seeks == [(0, 1)]
    producer.failures = 0
    loop.poll_once()
    assert done == [1, 3, 2] and consumer.committed() == {0: 3, 1: 1}


def test_each_event_carries_its_request_correlation_id():
    consumer = FakeConsumer({0: [env(1), env(2)]}, headers={(0, 0): [("correlation_id", b"req-1")]})
    got = []
    loop, _ = loop_with(consumer, lambda batch: got.extend(r.correlation_id for r in batch))
    loop.poll_once()
    assert got == ["req-1", None]


# -- the commit interval -------------------------------------------------------------------


def test_commit_due_once_the_oldest_staged_offset_waited_the_interval():
    assert base.commit_due(None, now=5.0, interval_s=0.0) is False  # nothing staged
    assert base.commit_due(5.0, now=5.0, interval_s=0.0) is True  # 0: after every poll
    assert base.commit_due(5.0, now=5.9, interval_s=1.0) is False
    assert base.commit_due(5.0, now=6.0, interval_s=1.0) is True


class CommitDown(FakeConsumer):
    def commit(self, offsets) -> None:
        raise KafkaConnectionError("kafka down")


def test_a_commit_that_fails_with_kafka_still_leaves_the_outage_rewound():
    # The database is down (the batch is rewound) and Kafka fails the commit of the
    # dead-lettered poison: the poll is retried, and the partitions must already be back at
    # their first unhandled message, or the next poll would read on past them.
    consumer = CommitDown({0: [b"poison", env(1)], 1: [env(2)]})

    def handler(batch):
        raise db_down()

    loop, _ = loop_with(consumer, handler)
    with pytest.raises(KafkaConnectionError):
        loop.poll_once()
    assert sorted(consumer.seeks) == [(0, 1), (1, 0)]


class AssignedConsumer(FakeConsumer):
    def __init__(self, partitions):
        super().__init__(partitions)
        self.assigned = set(self.log)

    def assignment(self) -> set:
        return set(self.assigned)


def interval_loop(consumer, now):
    loop = base.ConsumerLoop(
        "g",
        lambda batch: None,
        consumer=consumer,
        producer=FakeProducer(),
        sleep=lambda _: None,
        commit_interval_s=1.0,
        clock=lambda: now[0],
    )
    return loop


def test_offsets_are_held_for_the_interval_and_then_committed_together():
    consumer = AssignedConsumer({0: [env(1)], 1: [env(2)]})
    now = [10.0]
    loop = interval_loop(consumer, now)
    loop.poll_once()
    assert consumer.commits == []
    consumer.log[TopicPartition(TOPIC, 0)].append(Message(TOPIC, 0, 1, b"1", env(3)))
    now[0] = 10.5
    loop.poll_once()
    assert consumer.commits == []  # the oldest has waited 0.5 s
    consumer.log[TopicPartition(TOPIC, 1)].append(Message(TOPIC, 1, 1, b"1", env(4)))
    now[0] = 11.0
    loop.poll_once()  # still events coming, and the oldest has waited the interval
    assert consumer.commits == [{0: 2, 1: 2}]


def test_an_empty_poll_commits_what_is_held_at_once():
    consumer = AssignedConsumer({0: [env(1)]})
    now = [10.0]
    loop = interval_loop(consumer, now)
    loop.poll_once()
    assert consumer.commits == []
    loop.poll_once()  # caught up: nothing to wait for
    assert consumer.commits == [{0: 1}]


def test_offsets_staged_before_a_rebalance_are_dropped_not_committed():
    consumer = AssignedConsumer({0: [env(1)], 1: [env(2)]})
    now = [10.0]
    loop = interval_loop(consumer, now)
    loop.poll_once()
    consumer.assigned = {TopicPartition(TOPIC, 1)}  # partition 0 went to another member
    loop.poll_once()  # an empty poll: it would commit what is held, but that was dropped
    assert consumer.commits == []  # re-read by whoever has them now: never overwritten


class FailingAfterFirst(FakeConsumer):
    """A consumer whose polls after the first raise (Kafka went away mid-gather)."""

    def __init__(self, partitions):
        super().__init__(partitions)
        self.polls = 0

    def poll(self, timeout_ms: int = 0):
        self.polls += 1
        if self.polls > 1:
            raise KafkaConnectionError("kafka went away")
        return super().poll(timeout_ms)


def test_a_gather_hands_on_what_it_has_when_a_later_poll_fails():
    # kafka-python moved its position past the first poll's records: raising here would
    # skip them, and a later commit of newer offsets would lose them.
    consumer = FailingAfterFirst({0: [env(1), env(2)]})
    calls = []
    loop, _ = loop_with(
        consumer,
        lambda batch: calls.append([r.envelope.order_id for r in batch]),
        gather=lambda: 5.0,
    )
    assert loop.poll_once() == 2
    assert calls == [[1, 2]] and consumer.polls == 2
    assert consumer.commits == [{0: 2}]


def test_a_gather_polls_on_until_gather_max_records():
    consumer = FakeConsumer({0: [env(1)]})
    arrivals = iter([[env(2), env(3)], [env(4)]])

    def poll(timeout_ms: int = 0, plain=consumer.poll):
        got = plain(timeout_ms)
        if not got:  # each later poll brings what arrived meanwhile
            tp = TopicPartition(TOPIC, 0)
            log = consumer.log[tp]
            start = len(log)
            log.extend(Message(TOPIC, 0, start + n, b"1", v) for n, v in enumerate(next(arrivals)))
            got = plain(timeout_ms)
        return got

    consumer.poll = poll
    calls = []
    loop, _ = loop_with(
        consumer,
        lambda batch: calls.append([r.envelope.order_id for r in batch]),
        gather=lambda: 60.0,
        gather_max=3,
    )
    assert loop.poll_once() == 3  # 1, then 2 and 3: gather_max reached, 4 left for later
    assert calls == [[1, 2, 3]]
