"""Reading a topic back to a fixed end: the dead-letter listing, the projection rebuild and
the chaos harness's checks all need "every record from here to the end as it is now",
without waiting for records that arrive meanwhile."""

from __future__ import annotations

from collections.abc import Iterator

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

# Polls in a row that bring nothing before giving up (a broker that stays away).
MAX_IDLE_POLLS = 60


def read_to_end(
    consumer: KafkaConsumer,
    topic: str,
    start: dict[int, int] | None = None,
    end: dict[int, int] | None = None,
) -> Iterator[ConsumerRecord]:
    """Every record in [start, end) of each partition of ``topic``, in offset order per
    partition. ``start`` defaults to each partition's beginning, ``end`` to its end offset
    now. The consumer is assigned the partitions (no group); the caller closes it.
    Raises RuntimeError if the end cannot be reached."""
    if end is None:
        parts = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])
        ]
        end = {tp.partition: off for tp, off in consumer.end_offsets(parts).items()}
    parts = [TopicPartition(topic, p) for p in sorted(end)]
    consumer.assign(parts)
    for tp in parts:
        if start is None:
            consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, start.get(tp.partition, 0))
    remaining = {tp for tp in parts if consumer.position(tp) < end[tp.partition]}
    idle = 0
    while remaining and idle < MAX_IDLE_POLLS:
        batches = consumer.poll(timeout_ms=1000, max_records=5000)
        idle = 0 if batches else idle + 1
        for tp, records in batches.items():
            yield from (r for r in records if r.offset < end[tp.partition])
        remaining = {tp for tp in remaining if consumer.position(tp) < end[tp.partition]}
    if remaining:
        raise RuntimeError(f"could not read {topic} to its end: {sorted(remaining)}")


def text_headers(record: ConsumerRecord) -> dict[str, str]:
    """A record's headers as text (the ones we write are all text)."""
    return {k: (v or b"").decode(errors="replace") for k, v in record.headers or []}
