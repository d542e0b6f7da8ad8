"""The consumer loop every group shares: one poll's messages are handled together.

Batches: the messages of one poll go to the handler as one list of envelopes, which it
handles in one transaction (one dedupe INSERT, one write of the rows). Offsets are
committed only after the handler returned, so at-least-once holds: a crash before the
commit redelivers the batch, and every handler is idempotent on event_id.

Failures. A message that is not an envelope (a PoisonMessage) goes to the dead-letter
topic with its error and origin in headers before the batch runs, and its partition
carries on. An unreachable dependency (PostgreSQL, RabbitMQ, Kafka) is not the messages'
fault: the batch is retried with backoff for a while, then its partitions are rewound to
where the batch began and polled again, for as long as the outage lasts; nothing is
dead-lettered for it. Any other error fails the batch and the poll is replayed one message
at a time, so the one message at fault is found: it is retried MAX_ATTEMPTS times, then
dead-lettered, and the others are handled. The retries and their backoff are tenacity's.

Commits. A group's offsets are committed at most every kafka_commit_interval_ms (1 s) while
events keep coming, and at the first empty poll once they stop, instead of after every poll:
a synchronous offset commit is a broker round trip and a write to its offsets log, and the
pipeline group, which must fetch each event at once, made one per event. The rule stays
at-least-once: only offsets whose batch is durable are ever staged, so a crash re-reads at
most one interval of handled events, which every handler absorbs (idempotent on event_id).
Offsets staged before a rebalance are dropped, never committed over a partition that may be
someone else's now; the loop commits what is staged when it stops (docs/perf-events.md,
"Fifth round").
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import psycopg
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition
from kombu.exceptions import OperationalError as BrokerUnavailable
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import OperationalError as DatabaseUnavailable
from sqlalchemy.exc import TimeoutError as PoolTimeout
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from app.core import correlation, heap, metrics
from app.core.envelope import Envelope, PoisonMessage
from app.core.logs import setup_logging
from app.core.settings import get_settings
from events.kafka import make_consumer, make_producer
from events.shutdown import GracefulExit


class Received(NamedTuple):
    """An envelope as it came off Kafka, with the request's correlation id from its headers."""

    envelope: Envelope
    correlation_id: str | None = None


BatchHandler = Callable[[list[Received]], None]
# How long a poll should keep gathering records (seconds, 0 for not at all), asked once per
# poll that found some: see ConsumerLoop.gather.
Gather = Callable[[], float]
log = logging.getLogger("comanda.consumer")
MAX_ATTEMPTS = 8  # tries of a message whose handler keeps failing with a bug
OUTAGE_TRIES = 12  # tries of a batch during an outage before its partitions are rewound
BACKOFF = wait_exponential(multiplier=0.1, max=5)  # 0.1, 0.2, 0.4 ... 5 s
OUTAGES = (
    DatabaseUnavailable,
    PoolTimeout,
    psycopg.OperationalError,
    BrokerUnavailable,
    KafkaError,
    ConnectionError,
    TimeoutError,
)


def at_once_fetch() -> dict:
    """Fetch settings of a group that must see each event at once (the pipeline): the broker
    answers as soon as one record is there; an idle fetch comes back every
    kafka_idle_fetch_wait_ms."""
    return {"fetch_min_bytes": 1, "fetch_max_wait_ms": get_settings().kafka_idle_fetch_wait_ms}


def membership(group_id: str) -> dict:
    """The consumer's group.instance.id when static membership is on: the group and the
    host, so a restarted process on the same host is the same member (one process per
    group and host: a second one would fence the first), and every container of a scaled
    Compose service is its own."""
    if not get_settings().kafka_static_membership:
        return {}
    return {"group_instance_id": f"{group_id}@{socket.gethostname()}"}


def batched_fetch(wait_ms: int) -> dict:
    """Fetch settings of a group off the critical path (feed, projector): the broker holds
    the fetch until batch_fetch_min_bytes have arrived or ``wait_ms`` is over, so one poll,
    one transaction and one offset commit carry tens of events instead of one or two."""
    return {"fetch_min_bytes": get_settings().batch_fetch_min_bytes, "fetch_max_wait_ms": wait_ms}


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


def commit_due(staged_since: float | None, now: float, interval_s: float) -> bool:
    """Pure: commit the staged offsets now? Nothing staged: no. Otherwise once the oldest
    has waited ``interval_s`` (0: at once, after every poll)."""
    return staged_since is not None and now - staged_since >= interval_s


def _correlation_id(message) -> str | None:
    for key, value in message.headers or []:
        if key == "correlation_id":
            return value.decode(errors="replace") or None
    return None


def _next(part: Polled) -> int:
    return part.messages[-1].offset + 1


def _stop(bug_tries: int) -> Callable[[RetryCallState], bool]:
    """Stop after OUTAGE_TRIES while a dependency is down, after ``bug_tries`` on any other
    error (1 for a whole batch: the poll is then replayed message by message)."""

    def stop(state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        limit = OUTAGE_TRIES if exc is not None and is_outage(exc) else bug_tries
        return state.attempt_number >= limit

    return stop


@dataclass
class Polled:
    """One partition's share of a poll, in offset order."""

    tp: TopicPartition
    messages: list = field(default_factory=list)
    envelopes: list[tuple[object, Received]] = field(default_factory=list)
    commit: int | None = None  # offset to commit (next to read)
    rewind: int | None = None  # offset to seek back to (not done yet)


class ConsumerLoop:
    def __init__(
        self,
        group_id: str,
        handler: BatchHandler,
        *,
        consumer=None,
        producer=None,
        sleep: Callable[[float], None] = time.sleep,
        fetch: dict | None = None,
        commit_interval_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        gather: Gather | None = None,
        gather_max: int = 500,
    ):
        self.group_id, self.handler, self.sleep = group_id, handler, sleep
        # A poll that found records asks ``gather`` how long to go on polling before the
        # handler runs, up to ``gather_max`` records: a group whose downstream is behind
        # hands on fewer, larger batches (events/consumers/pipeline.py).
        self.gather, self.gather_max = gather, gather_max
        self.commit_interval_s, self.clock = commit_interval_s, clock
        # Offsets whose batches are durable but not committed yet, since when, and the
        # assignment they were handled under.
        self._staged: dict[TopicPartition, OffsetAndMetadata] = {}
        self._staged_since: float | None = None
        self._staged_assignment: frozenset = frozenset()
        self.consumer = consumer or make_consumer(
            group_id,
            get_settings().orders_topic,
            **(fetch or at_once_fetch()),
            **membership(group_id),
        )
        self.producer = producer or make_producer(client_id=f"comanda-{group_id}-dlq")

    # -- retries -------------------------------------------------------------------------
    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if exc is None:
            return
        if is_outage(exc):
            if state.attempt_number in (1, OUTAGE_TRIES - 1):
                log.warning(
                    "%s waiting for a dependency (try %d): %s: %s",
                    self.group_id,
                    state.attempt_number,
                    type(exc).__name__,
                    exc,
                )
        else:
            log.warning("%s handler failed (try %d): %r", self.group_id, state.attempt_number, exc)

    def _retrying(self, bug_tries: int) -> Retrying:
        return Retrying(
            retry=retry_if_exception(lambda exc: not isinstance(exc, PoisonMessage)),
            stop=_stop(bug_tries),
            wait=BACKOFF,
            sleep=self.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )

    def _run(self, envelopes: list[Received], bug_tries: int) -> BaseException | None:
        """Call the handler with retries; the error it ended on, or None when it succeeded."""
        if not envelopes:
            return None
        correlation.use(envelopes[0].correlation_id if len(envelopes) == 1 else None)
        try:
            self._retrying(bug_tries)(self.handler, envelopes)
        except Exception as exc:  # noqa: BLE001 - the caller decides: rewind or dead-letter
            return exc
        return None

    def _dead_letter(self, message, error: str) -> bool:
        """True once the message is on the dead-letter topic."""
        try:
            self._retrying(bug_tries=3)(dead_letter, self.producer, message, error, self.group_id)
        except Exception as exc:  # noqa: BLE001 - Kafka itself is down: try again later
            log.warning(
                "could not dead-letter %s/%s yet: %r", message.partition, message.offset, exc
            )
            return False
        return True

    # -- one poll ------------------------------------------------------------------------
    def _parse(self, part: Polled) -> None:
        """Split a partition's messages into envelopes; dead-letter the poison in place."""
        for message in part.messages:
            try:
                envelope = Envelope.from_bytes(message.value)
            except PoisonMessage as exc:
                log.warning("poison message at %s/%s: %s", message.partition, message.offset, exc)
                if not self._dead_letter(message, f"PoisonMessage: {exc}"):
                    part.rewind = message.offset  # this and the rest wait for Kafka
                    return
                continue
            part.envelopes.append((message, Received(envelope, _correlation_id(message))))

    def _one_by_one(self, parts: list[Polled]) -> None:
        """Replay the poll message by message: find the one at fault and dead-letter it."""
        for part in parts:
            for message, envelope in part.envelopes:
                error = self._run([envelope], MAX_ATTEMPTS)
                if error is None:
                    continue
                if isinstance(error, PoisonMessage):
                    log.warning(
                        "poison message at %s/%s: %s", message.partition, message.offset, error
                    )
                    reason = f"PoisonMessage: {error}"
                elif is_outage(error):
                    part.rewind = message.offset
                    break
                else:
                    log.error(
                        "giving up on %s/%s after %d attempts: %r",
                        message.partition,
                        message.offset,
                        MAX_ATTEMPTS,
                        error,
                    )
                    reason = f"{type(error).__name__}: {error}"
                if not self._dead_letter(message, reason):
                    part.rewind = message.offset
                    break

    def process(self, records: dict) -> list[Polled]:
        """Handle one poll's records; each partition says what to commit or rewind to."""
        parts = [Polled(tp, list(messages)) for tp, messages in records.items() if messages]
        for part in parts:
            self._parse(part)
        batch = [received for part in parts for _, received in part.envelopes]
        error = self._run(batch, bug_tries=1)
        if error is not None and is_outage(error):
            for part in parts:  # nothing of this batch is durable: read it all again
                if part.envelopes:
                    part.rewind = part.commit = part.envelopes[0][0].offset
                else:  # only poison, dead-lettered (or waiting for Kafka at part.rewind)
                    part.commit = part.rewind if part.rewind is not None else _next(part)
            return parts
        if error is not None:
            log.warning("%s batch of %d failed (%r); one by one", self.group_id, len(batch), error)
            self._one_by_one(parts)
        else:
            # One order-level line per event and group: what `make run` and `stack trace` show.
            for received in batch:
                envelope = received.envelope
                log.info(
                    "order %s: %s handled by %s", envelope.order_id, envelope.type, self.group_id
                )
        for part in parts:
            part.commit = part.rewind if part.rewind is not None else _next(part)
        return parts

    def _gathered(self, records: dict) -> dict:
        """``records`` plus what more polls bring within the time ``gather`` gives."""
        wait_s = self.gather() if self.gather is not None else 0.0
        deadline = self.clock() + wait_s
        count = sum(len(m) for m in records.values())
        while count < self.gather_max and (left := deadline - self.clock()) > 0:
            try:
                more = self.consumer.poll(timeout_ms=max(1, int(left * 1000)))
            except Exception as exc:  # noqa: BLE001 - handled by the next poll_once
                # kafka-python's position is already past ``records``: raising would skip
                # them, and a later commit of newer offsets would lose them. Hand them on;
                # the next poll meets the error where poll_once's retries handle it.
                log.warning("%s: a poll failed while gathering (%r)", self.group_id, exc)
                break
            for tp, messages in more.items():  # the same consumer: offsets go on in order
                records.setdefault(tp, []).extend(messages)
                count += len(messages)
        return records

    def poll_once(self, timeout_ms: int = 500) -> int:
        records = self.consumer.poll(timeout_ms=timeout_ms)
        if records and self.gather is not None:
            records = self._gathered({tp: list(m) for tp, m in records.items()})
        parts = self.process(records) if records else []
        self._stage(
            {
                TopicPartition(p.tp.topic, p.tp.partition): OffsetAndMetadata(p.commit, "", -1)
                for p in parts
                if p.commit is not None and p.commit > p.messages[0].offset
            }
        )
        # Rewinds first: a commit can fail with Kafka itself (the poll is then retried), and a
        # partition left unrewound would read on past the messages it must read again.
        for part in parts:
            if part.rewind is not None:
                self.consumer.seek(part.tp, part.rewind)
        # An empty poll means the group has caught up: nothing to share a commit with, so
        # what is staged goes now (the lag reads 0 within one fetch wait of the last event).
        self._commit_if_due(force=not records)
        return sum(len(p.messages) for p in parts)

    # -- commits -------------------------------------------------------------------------
    def _stage(self, offsets: dict) -> None:
        """Add a poll's offsets (each one's batch already durable) to the staged ones."""
        if self._staged and frozenset(self.consumer.assignment()) != self._staged_assignment:
            # A rebalance since they were handled: their partitions may be someone else's
            # now, and an old offset must not overwrite theirs. Dropped: the events are
            # read again, which the idempotent handlers absorb.
            self._staged, self._staged_since = {}, None
        if offsets and not self._staged:
            self._staged_since = self.clock()
            if self.commit_interval_s > 0:  # at 0 nothing is held across a poll
                self._staged_assignment = frozenset(self.consumer.assignment())
        self._staged.update(offsets)

    def _commit_if_due(self, force: bool = False) -> None:
        if not self._staged:
            return
        if not force and not commit_due(self._staged_since, self.clock(), self.commit_interval_s):
            return
        offsets, self._staged, self._staged_since = self._staged, {}, None
        try:
            self.consumer.commit(offsets)
        except CommitFailedError as exc:
            log.warning("commit failed (rebalance); messages will be redelivered: %s", exc)

    def run(self, stop: GracefulExit) -> None:
        """Poll until asked to stop. A Kafka error that outlasts the retries is raised, and
        main() builds new clients."""
        log.info("consumer %s running", self.group_id)
        polling = Retrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, KafkaError)),
            stop=stop_after_attempt(OUTAGE_TRIES),
            wait=BACKOFF,
            sleep=self.sleep,
            before_sleep=lambda s: log.warning(
                "kafka error in %s: %s; retrying", self.group_id, s.outcome.exception()
            ),
            reraise=True,
        )
        try:
            while not stop.requested:
                polling(self.poll_once)
            with contextlib.suppress(KafkaError):  # what is staged: best effort, else re-read
                self._commit_if_due(force=True)
        finally:
            self.consumer.close()
            self.producer.close(timeout=5)
        log.info("consumer %s stopped", self.group_id)


def main(
    group_id: str,
    handler: BatchHandler,
    fetch: dict | None = None,
    gather: Gather | None = None,
    gather_max: int = 500,
) -> None:
    """Run the group's loop; ``fetch`` is its Kafka fetch settings (at_once_fetch() when
    None, batched_fetch() for a group off the critical path); ``gather``: ConsumerLoop's."""
    setup_logging(group_id)
    metrics.serve()
    heap.freeze_startup_objects()  # no pause of the loop for a full collection (app/core/heap.py)
    stop = GracefulExit()
    # Until Kafka answers at all (the first connect raises), try again with backoff.
    Retrying(
        retry=retry_if_exception(lambda exc: isinstance(exc, KafkaError)),
        wait=wait_exponential(multiplier=0.5, max=10),
        stop=lambda _: stop.requested,
        before_sleep=lambda s: log.warning(
            "%s cannot reach Kafka (%s); retrying", group_id, s.outcome.exception()
        ),
    )(
        lambda: ConsumerLoop(
            group_id,
            handler,
            fetch=fetch,
            commit_interval_s=get_settings().kafka_commit_interval_ms / 1000,
            gather=gather,
            gather_max=gather_max,
        ).run(stop)
    )
