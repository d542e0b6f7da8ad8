"""What the bench reads from the stack without loading it: the pipeline latency from the
timeline rows (one query per phase, never a poll per order over HTTP) and the backlogs
(outbox rows not yet published, Kafka consumer lag, the RabbitMQ queue), sampled once a
second from a thread."""

from __future__ import annotations

import os
import threading
import time

import psycopg
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kombu import Connection

from app.core.task_queue import QUEUES

GROUPS = ("comanda-pipeline", "comanda-restaurant-feed", "comanda-admin-projection")


def conninfo() -> str:
    return os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")


def pipeline_ms(order_ids: list[int]) -> dict[int, float]:
    """order id -> ms from its 'placed' timeline row to its 'awaiting_acceptance' row, for
    the orders that got there."""
    return {k: (a - p) * 1000 for k, (p, a) in pipeline_times(order_ids).items()}


def pipeline_times(order_ids: list[int]) -> dict[int, tuple[float, float]]:
    """order id -> (epoch of its 'placed' row, epoch of its 'awaiting_acceptance' row), for
    the orders that got there: one query for the whole phase."""
    if not order_ids:
        return {}
    with psycopg.connect(conninfo()) as conn:
        rows = conn.execute(
            "select p.order_id, extract(epoch from p.at), extract(epoch from a.at)"
            " from order_timeline p join order_timeline a"
            " on a.order_id = p.order_id and a.event = 'awaiting_acceptance'"
            " where p.event = 'placed' and p.order_id = any(%s)",
            (order_ids,),
        ).fetchall()
    return {order_id: (float(p), float(a)) for order_id, p, a in rows}


def event_times(order_ids: list[int], event: str) -> list[float]:
    """Epochs of one timeline event of these orders (e.g. 'payment_authorized')."""
    if not order_ids:
        return []
    with psycopg.connect(conninfo()) as conn:
        rows = conn.execute(
            "select extract(epoch from at) from order_timeline"
            " where order_id = any(%s) and event = %s",
            (order_ids, event),
        ).fetchall()
    return [float(r[0]) for r in rows]


def count_status(order_ids: list[int], status: str) -> int:
    with psycopg.connect(conninfo()) as conn:
        return conn.execute(
            "select count(*) from orders where id = any(%s) and status = %s", (order_ids, status)
        ).fetchone()[0]


def stack_orders_placed() -> int:
    """Orders of any run still PLACED (a poisoned backlog shows here)."""
    with psycopg.connect(conninfo()) as conn:
        return conn.execute("select count(*) from orders where status = 'PLACED'").fetchone()[0]


class Backlog(threading.Thread):
    """Samples (t, outbox, kafka lag summed and per group, the topic's end offsets summed,
    rabbitmq queue, orders still PLACED) every ``every`` seconds."""

    def __init__(self, every: float = 1.0):
        super().__init__(daemon=True)
        self.every, self.samples, self.stop_flag = every, [], threading.Event()
        self.t0 = time.perf_counter()

    def run(self) -> None:
        servers = os.environ["KAFKA_BOOTSTRAP_SERVERS"].split(",")
        admin = KafkaAdminClient(bootstrap_servers=servers, client_id="comanda-bench")
        ends = KafkaConsumer(bootstrap_servers=servers, client_id="comanda-bench-ends")
        db = psycopg.connect(conninfo(), autocommit=True)
        broker = Connection(os.environ["CELERY_BROKER_URL"])
        try:
            while not self.stop_flag.is_set():
                self.samples.append(self._sample(admin, ends, db, broker))
                self.stop_flag.wait(self.every)
        finally:
            admin.close()
            ends.close()
            db.close()
            broker.release()

    def _sample(self, admin, ends, db, broker) -> dict:
        at = time.perf_counter() - self.t0
        outbox = db.execute("select count(*) from outbox where published_at is null").fetchone()[0]
        # Orders still PLACED (index orders_status_deadline): every order behind, whichever
        # step it waits in; the queues show only its next message, not its remaining steps,
        # and RabbitMQ's count leaves out the tasks a worker has prefetched
        in_pipeline = db.execute("select count(*) from orders where status = 'PLACED'").fetchone()[
            0
        ]
        lag, by_group, end_total = 0, {}, -1
        try:
            partitions = [
                TopicPartition("orders", p)
                for p in sorted(ends.partitions_for_topic("orders") or [])
            ]
            end = ends.end_offsets(partitions)
            end_total = sum(end.values())  # events ever written: a phase's own by difference
            committed = admin.list_group_offsets({group: partitions for group in GROUPS})
            for group in GROUPS:
                done = committed.get(group) or {}
                behind = 0
                for tp in partitions:
                    meta = done.get(tp)
                    done_at = meta.offset if meta is not None and meta.offset >= 0 else 0
                    behind += max(0, end[tp] - done_at)
                by_group[group.removeprefix("comanda-")] = behind
                lag += behind
        except Exception:  # noqa: BLE001 - a sample missed, not a failed bench
            lag, by_group, end_total = -1, {}, -1
        try:
            channel = broker.default_channel  # both queues of the bulkhead, summed
            queue = sum(channel.queue_declare(q, passive=True).message_count for q in QUEUES)
        except Exception:  # noqa: BLE001
            queue = -1
        return {
            "t": round(at, 2),
            "outbox": outbox,
            "kafka_lag": lag,  # summed over the groups (each reads every event)
            "kafka_lag_groups": by_group,
            "kafka_end": end_total,
            "rabbitmq": queue,
            "pipeline_orders": in_pipeline,
        }

    def stop(self) -> list[dict]:
        self.stop_flag.set()
        self.join(timeout=10)
        return self.samples


class LockWaits(threading.Thread):
    """PostgreSQL backends waiting on a lock, from pg_stat_activity every ``every`` seconds
    (10 a second by default: a wait on one stock row lasts milliseconds, a 1 s sample
    mostly misses it). One cheap query on one connection; counts by wait event."""

    def __init__(self, every: float = 0.1):
        super().__init__(daemon=True)
        self.every, self.stop_flag = every, threading.Event()
        self.samples = 0
        self.waiting: dict[str, int] = {}  # wait event -> backend-samples waiting on it
        self.active = 0  # backend-samples active (running or waiting)

    def run(self) -> None:
        with psycopg.connect(conninfo(), autocommit=True) as db:
            while not self.stop_flag.is_set():
                rows = db.execute(
                    "select wait_event_type, wait_event, count(*) from pg_stat_activity"
                    " where state = 'active' and datname = current_database()"
                    " and pid <> pg_backend_pid() group by 1, 2"
                ).fetchall()
                self.samples += 1
                for kind, event, n in rows:
                    self.active += n
                    if kind == "Lock":
                        self.waiting[event] = self.waiting.get(event, 0) + n
                self.stop_flag.wait(self.every)

    def stop(self) -> dict:
        """Mean backends waiting on a lock per sample, by wait event, and mean active."""
        self.stop_flag.set()
        self.join(timeout=10)
        n = max(self.samples, 1)
        return {
            "samples": self.samples,
            "lock_waiting_mean": round(sum(self.waiting.values()) / n, 3),
            "by_event": {k: round(v / n, 3) for k, v in sorted(self.waiting.items())},
            "active_mean": round(self.active / n, 3),
        }
