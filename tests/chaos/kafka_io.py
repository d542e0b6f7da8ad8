"""Kafka, read directly (kafka-python): topic offsets, consumer-group lag, reading a range of a
topic back, and producing the poison messages."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from events.reading import read_to_end, text_headers

ORDERS, DLQ = "orders", "orders.dlq"
GROUPS = ("comanda-pipeline", "comanda-restaurant-feed", "comanda-admin-projection")

logging.getLogger("kafka").setLevel(logging.CRITICAL)  # refused connections during outages


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]


class Kafka:
    def __init__(self, bootstrap: str) -> None:
        self.servers = [s.strip() for s in bootstrap.split(",") if s.strip()]

    def _consumer(self) -> KafkaConsumer:
        return KafkaConsumer(
            bootstrap_servers=self.servers,
            group_id=None,
            enable_auto_commit=False,
            request_timeout_ms=20000,
            client_id="chaos-reader",
        )

    def end_offsets(self, topic: str) -> dict[int, int]:
        consumer = self._consumer()
        try:
            parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
            return {tp.partition: off for tp, off in consumer.end_offsets(parts).items()}
        finally:
            consumer.close()

    def read(self, topic: str, start: dict[int, int], end: dict[int, int]) -> list[Record]:
        """Every record in [start, end) of each partition, in offset order per partition."""
        consumer = self._consumer()
        try:
            found = [
                Record(m.partition, m.offset, m.key, m.value, text_headers(m))
                for m in read_to_end(consumer, topic, start, end)
            ]
        finally:
            consumer.close()
        found.sort(key=lambda r: (r.partition, r.offset))
        return found

    def lag(
        self, topic: str = ORDERS, groups: tuple[str, ...] = GROUPS, end: dict | None = None
    ) -> dict[str, int]:
        """group -> messages of ``topic`` (up to ``end``, default its end) not yet committed
        by that group."""
        end = end if end is not None else self.end_offsets(topic)
        admin = KafkaAdminClient(
            bootstrap_servers=self.servers, request_timeout_ms=15000, client_id="chaos-admin"
        )
        try:
            lags = {}
            for group in groups:
                committed = admin.list_group_offsets({group: None}).get(group) or {}
                total = 0
                for partition, last in end.items():
                    meta = committed.get(TopicPartition(topic, partition))
                    done = meta.offset if meta is not None and meta.offset >= 0 else 0
                    total += max(0, last - done)
                lags[group] = total
            return lags
        finally:
            admin.close()

    def partition_leaders(self, topic: str = ORDERS) -> dict[int, int]:
        """partition -> leader broker id."""
        admin = KafkaAdminClient(
            bootstrap_servers=self.servers, request_timeout_ms=15000, client_id="chaos-admin"
        )
        try:
            described = admin.describe_topics([topic])[0]
            return {p["partition_index"]: p["leader_id"] for p in described["partitions"]}
        finally:
            admin.close()

    def produce(self, topic: str, key: bytes, value: bytes | None) -> tuple[int, int]:
        """Send one message (acks=all); return its (partition, offset)."""
        producer = KafkaProducer(
            bootstrap_servers=self.servers,
            acks="all",
            request_timeout_ms=10000,
            max_block_ms=10000,
            client_id="chaos-poison",
        )
        try:
            meta = producer.send(topic, key=key, value=value).get(timeout=20)
            return meta.partition, meta.offset
        finally:
            producer.close(timeout=5)


def poison_values() -> list[tuple[str, bytes]]:
    """Malformed messages for ``orders``: not JSON, JSON without the envelope's fields, an
    envelope of an unknown type, JSON that is not an object, an id of the wrong type."""
    envelope = {
        "event_id": str(uuid.uuid4()),
        "type": "order.teleported",
        "occurred_at": "2026-01-01T00:00:00Z",
        "order_id": 1,
        "restaurant_id": 1,
        "customer_id": 1,
        "data": {},
    }
    wrong_id = {**envelope, "event_id": str(uuid.uuid4()), "type": "order.placed"}
    wrong_id["order_id"] = "one"
    return [
        ("not_json", b"\x00\xffthis is not json {"),
        ("missing_fields", json.dumps({"type": "order.placed", "order_id": 1}).encode()),
        ("unknown_type", json.dumps(envelope).encode()),
        ("not_an_object", b"[1, 2, 3]"),
        ("wrong_id_type", json.dumps(wrong_id).encode()),
    ]
