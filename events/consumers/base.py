"""The consumer loop every group shares.

At-least-once: a partition's offset is committed only after the handler finished the
messages before it. Whatever goes wrong, the partition is rewound to the message and it
is tried again after a backoff, with one exception: a message that can never be handled
goes to the dead-letter topic with its error and origin in headers, and the partition
carries on. "Never" means a PoisonMessage, or any other error still there after
MAX_ATTEMPTS tries. An unreachable dependency (PostgreSQL, RabbitMQ, Kafka) is not the
message's fault: it is retried for as long as the outage lasts and never dead-lettered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import psycopg
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition
from kombu.exceptions import OperationalError as BrokerUnavailable
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import OperationalError as DatabaseUnavailable
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.core import correlation, metrics
from app.core.envelope import Envelope, PoisonMessage
from app.core.logs import setup_logging
from app.core.settings import get_settings
from events.kafka import make_consumer, make_producer
from events.shutdown import GracefulExit

Handler = Callable[[Envelope], None]
log = logging.getLogger("comanda.consumer")
MAX_ATTEMPTS = 8
OUTAGES = (
    DatabaseUnavailable,
    PoolTimeout,
    psycopg.OperationalError,
    BrokerUnavailable,
    KafkaError,
    ConnectionError,
    TimeoutError,
)


def is_outage(exc: BaseException) -> bool:
    """True when the error says a dependency is unreachable, not that the message is bad."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OUTAGES)


def dead_letter(producer, message, error: str, group_id: str) -> None:
    headers = [
        ("error", error[:1000].encode()),
        ("consumer_group", group_id.encode()),
        ("origin_topic", message.topic.encode()),
        ("origin_partition", str(message.partition).encode()),
        ("origin_offset", str(message.offset).encode()),
    ]
    producer.send(
        get_settings().dlq_topic, key=message.key, value=message.value, headers=headers
    ).get(timeout=30)


class ConsumerLoop:
    def __init__(self, group_id: str, handler: Handler, *, consumer=None, producer=None):
        self.group_id, self.handler = group_id, handler
        self.consumer = consumer or make_consumer(group_id, get_settings().orders_topic)
        self.producer = producer or make_producer(client_id=f"comanda-{group_id}-dlq")
        self.attempts: dict[tuple[int, int], int] = {}

    def handle(self, message) -> bool:
        """True when the message is done with (handled or dead-lettered); never raises."""
        spot = (message.partition, message.offset)
        headers = dict(message.headers or [])
        correlation.use(headers.get("correlation_id", b"").decode(errors="replace"))
        try:
            envelope = Envelope.from_bytes(message.value)
            self.handler(envelope)
        except PoisonMessage as exc:
            log.warning("poison message at %s/%s: %s", message.partition, message.offset, exc)
            return self._dead_letter(message, f"PoisonMessage: {exc}")
        except Exception as exc:  # noqa: BLE001 - every failure is retried or dead-lettered
            return self._failed(message, spot, exc)
        self.attempts.pop(spot, None)
        # One order-level line per event and group: what `make run` and `stack trace` show.
        log.info("order %s: %s handled by %s", envelope.order_id, envelope.type, self.group_id)
        return True

    def _failed(self, message, spot: tuple[int, int], exc: Exception) -> bool:
        self.attempts[spot] = self.attempts.get(spot, 0) + 1
        tries = self.attempts[spot]
        if is_outage(exc):
            if tries == 1 or tries % 20 == 0:
                log.warning(
                    "%s waiting for a dependency (try %d at %s/%s): %s: %s",
                    self.group_id,
                    tries,
                    *spot,
                    type(exc).__name__,
                    exc,
                )
            self.attempts[spot] = min(tries, MAX_ATTEMPTS * 10)  # keeps the backoff capped
            return False
        if tries < MAX_ATTEMPTS:
            log.warning("handler failed at %s/%s (attempt %d): %r", *spot, tries, exc)
            return False
        log.error("giving up on %s/%s after %d attempts: %r", *spot, tries, exc)
        return self._dead_letter(message, f"{type(exc).__name__}: {exc}")

    def _dead_letter(self, message, error: str) -> bool:
        try:
            dead_letter(self.producer, message, error, self.group_id)
        except Exception as exc:  # noqa: BLE001 - Kafka itself is down: try again later
            log.warning(
                "could not dead-letter %s/%s yet: %r", message.partition, message.offset, exc
            )
            return False
        self.attempts.pop((message.partition, message.offset), None)
        return True

    def poll_once(self, timeout_ms: int = 500) -> int:
        batches = self.consumer.poll(timeout_ms=timeout_ms)
        done, failed = {}, False
        for tp, messages in batches.items():
            for message in messages:
                if not self.handle(message):
                    self.consumer.seek(tp, message.offset)
                    failed = True
                    break
                done[tp] = message.offset + 1
        if done:
            try:
                self.consumer.commit(
                    {
                        TopicPartition(tp.topic, tp.partition): OffsetAndMetadata(off, "", -1)
                        for tp, off in done.items()
                    }
                )
            except CommitFailedError as exc:
                log.warning("commit failed (rebalance); messages will be redelivered: %s", exc)
        if failed:
            worst = max(self.attempts.values(), default=1)
            time.sleep(min(0.1 * 2 ** min(worst, 6), 5))
        return sum(len(m) for m in batches.values())

    def run(self, stop: GracefulExit) -> None:
        log.info("consumer %s running", self.group_id)
        while not stop.requested:
            try:
                self.poll_once()
            except KafkaError as exc:
                log.warning("kafka error in %s: %s; retrying", self.group_id, exc)
                time.sleep(1)
        self.consumer.close()
        self.producer.close(timeout=5)
        log.info("consumer %s stopped", self.group_id)


def main(group_id: str, handler: Handler) -> None:
    setup_logging(group_id)
    metrics.serve()
    stop = GracefulExit()
    while not stop.requested:
        try:
            ConsumerLoop(group_id, handler).run(stop)
        except KafkaError as exc:  # cannot even connect yet
            log.warning("%s cannot reach Kafka (%s); retrying in 2s", group_id, exc)
            time.sleep(2)
