"""A custom Prometheus collector: the state of the system read from PostgreSQL and Kafka every
5 s (outbox backlog and age, consumer lag, DLQ size, orders by status).

It runs in one process (the `exporter` program), so the few cheap queries run once, never on
an API request or in a worker. A dependency that does not answer turns its `_up` gauge to 0 and its
other gauges are left out of that scrape rather than reported as zero.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

from kafka import TopicPartition
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from app.core.db import read_only
from app.core.models import FeedBacklog, Order, OutboxEvent, ProjectedStatusCount, utcnow
from app.core.settings import get_settings
from events.kafka import make_admin, make_consumer

log = logging.getLogger("comanda.exporter")

GROUPS = ("comanda-pipeline", "comanda-restaurant-feed", "comanda-admin-projection")


def lag(end: dict[int, int], committed: dict[int, int]) -> dict[int, int]:
    """Per partition: messages past the group's committed offset (all of them when the group
    has committed nothing there yet)."""
    return {p: max(e - committed.get(p, 0), 0) for p, e in end.items()}


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


class SystemCollector(Collector):
    """`refresh()` reads PostgreSQL and Kafka (the exporter calls it every REFRESH_SECONDS);
    `collect()` hands a scrape the latest reading at once, so a slow or down dependency never
    makes the scrape itself time out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._admin = self._reader = None
        self._latest: list[GaugeMetricFamily] = []

    def refresh(self) -> None:
        families = [*self._database(), *self._kafka()]
        with self._lock:
            self._latest = families

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            latest = list(self._latest)
        yield from latest

    # ---------------------------------------------------------------- PostgreSQL
    def _database(self) -> Iterator[GaugeMetricFamily]:
        try:
            with read_only() as s:
                # Kept by PostgreSQL as the rows change (migration s9a): a few rows to read,
                # where counting the tables took half a second of both cores at 570,000
                # orders and 2,000,000 feed rows (docs/PERFORMANCE.md, "Ninth round").
                by_status = s.execute(
                    select(ProjectedStatusCount.status, ProjectedStatusCount.orders)
                ).all()
                unacked = s.scalar(select(func.coalesce(func.sum(FeedBacklog.unacked), 0)))
                backlog, oldest = s.execute(
                    select(func.count(), func.min(OutboxEvent.created_at)).where(
                        OutboxEvent.published_at.is_(None)
                    )
                ).one()
                overdue = s.scalar(
                    select(func.count()).where(
                        Order.status == "PLACED", Order.deadline_at < utcnow()
                    )
                )
                now = utcnow()
        except Exception as exc:  # noqa: BLE001 - a scrape must answer when the database is down
            log.warning("exporter: database unreachable: %s", type(exc).__name__)
            yield _gauge("comanda_database_up", "Whether the exporter reached PostgreSQL.", 0)
            return
        yield _gauge("comanda_database_up", "Whether the exporter reached PostgreSQL.", 1)
        orders = GaugeMetricFamily(
            "comanda_orders",
            "Orders by status, as the admin projection has them.",
            labels=["status"],
        )
        for status, n in by_status:
            orders.add_metric([str(status)], n)
        yield orders
        yield _gauge("comanda_outbox_unpublished", "Outbox rows not yet on Kafka.", backlog)
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        yield _gauge(
            "comanda_outbox_oldest_unpublished_age_seconds",
            "Age of the oldest outbox row not yet on Kafka (0 when none).",
            max(age, 0.0),
        )
        yield _gauge("comanda_feed_unacked", "Restaurant feed events not acknowledged.", unacked)
        yield _gauge(
            "comanda_orders_past_pipeline_deadline", "PLACED orders past their deadline.", overdue
        )

    # ---------------------------------------------------------------- Kafka
    def _clients(self):
        if self._admin is None:
            self._admin = make_admin(request_timeout_ms=5000)
            self._reader = make_consumer(
                None, client_id="comanda-exporter", request_timeout_ms=5000
            )
        return self._admin, self._reader

    def _drop_clients(self) -> None:
        for client in (self._admin, self._reader):
            try:
                if client is not None:
                    client.close()
            except Exception:  # noqa: BLE001, S110 - closing a broken client
                pass
        self._admin = self._reader = None

    def _kafka(self) -> Iterator[GaugeMetricFamily]:
        s = get_settings()
        try:
            admin, reader = self._clients()
            orders = self._partitions(reader, s.orders_topic)
            dlq = self._partitions(reader, s.dlq_topic)
            end = reader.end_offsets(orders + dlq)
            start = reader.beginning_offsets(dlq)
            lags = {}
            by_group = admin.list_group_offsets(list(GROUPS))  # one OffsetFetch per coordinator
            for group in GROUPS:
                offsets = by_group.get(group) or {}
                committed = {
                    tp.partition: meta.offset
                    for tp, meta in offsets.items()
                    if tp.topic == s.orders_topic and meta.offset >= 0
                }
                lags[group] = lag({tp.partition: end[tp] for tp in orders}, committed)
        except Exception as exc:  # noqa: BLE001 - a scrape must answer when Kafka is down
            log.warning("exporter: kafka unreachable: %s", type(exc).__name__)
            self._drop_clients()
            yield _gauge("comanda_kafka_up", "Whether the exporter reached Kafka.", 0)
            return
        yield _gauge("comanda_kafka_up", "Whether the exporter reached Kafka.", 1)
        family = GaugeMetricFamily(
            "comanda_kafka_consumer_lag",
            "Messages on the orders topic past a consumer group's committed offset.",
            labels=["group", "topic", "partition"],
        )
        for group, per_partition in lags.items():
            for partition, n in sorted(per_partition.items()):
                family.add_metric([group, s.orders_topic, str(partition)], n)
        yield family
        yield _gauge(
            "comanda_dlq_messages",
            "Messages held in the dead-letter topic (all partitions).",
            sum(end[tp] - start[tp] for tp in dlq),
        )

    @staticmethod
    def _partitions(reader, topic: str) -> list[TopicPartition]:
        parts = reader.partitions_for_topic(topic)
        if parts is None:  # metadata not loaded yet
            reader.topics()
            parts = reader.partitions_for_topic(topic) or set()
        return [TopicPartition(topic, p) for p in sorted(parts)]


# As often as Prometheus scrapes (stack/monitoring.py): a fresher reading would not be seen.
REFRESH_SECONDS = 5.0


def refresh_until(collector: SystemCollector, stop) -> None:
    while not stop.requested:
        began = time.monotonic()
        collector.refresh()
        while not stop.requested and time.monotonic() - began < REFRESH_SECONDS:
            time.sleep(0.2)
