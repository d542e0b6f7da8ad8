"""Send a batch of Celery tasks, then wait once for RabbitMQ to confirm all of them.

Celery's producer with publisher confirms (app/core/task_queue.py) waits for each message's
confirm before sending the next: one broker round trip per task. Here the tasks go out
back to back on one channel in confirm mode and the confirms are collected afterwards
(app/core/confirms.py), so a poll of N events costs one wait, not N. The guarantee is the
same: `send` returns only when RabbitMQ confirmed every task of the batch, and raises
otherwise (a nack, a timeout, a lost connection), so the caller commits nothing it was
not sure of. The messages are Celery's own (send_task: same headers, same signals).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable

from celery import Celery
from kombu.exceptions import OperationalError

from app.core import correlation
from app.core.confirms import Unconfirmed

CONFIRM_TIMEOUT = 30.0  # seconds for RabbitMQ to confirm a batch (it takes ms when healthy)


class NotConfirmed(OperationalError):
    """RabbitMQ refused (nack) or did not confirm a publish in time: the broker's trouble,
    so the consumer treats it like an outage and sends the batch again."""


class BatchPublisher:
    """One connection and channel, kept between batches; dropped after any error."""

    def __init__(self, app: Celery, confirm_timeout: float = CONFIRM_TIMEOUT) -> None:
        self.app, self.confirm_timeout = app, confirm_timeout
        self._connection = self._producer = None
        self._unconfirmed = Unconfirmed()

    def _open(self):
        connection = self.app.connection_for_write()
        try:
            with connection._reraise_as_library_errors():
                # Fail fast: the consumer loop (events/consumers/base.py) waits out an
                # outage with its own backoff, and re-sends the batch.
                connection.ensure_connection(max_retries=1, interval_start=0)
                channel = connection.channel()
                channel.confirm_select()
        except BaseException:
            with contextlib.suppress(Exception):
                connection.close()
            raise
        # py-amqp's confirm-mode publish waits for the confirm; publish without waiting,
        # the confirms are collected in send().
        channel.basic_publish = channel._basic_publish
        self._unconfirmed = Unconfirmed()
        channel.events["basic_ack"].add(self._unconfirmed.ack)
        channel.events["basic_nack"].add(self._unconfirmed.nack)
        self._connection, self._producer = connection, self.app.amqp.Producer(channel)
        return connection

    def close(self) -> None:
        connection, self._connection, self._producer = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # already broken: nothing more to do with it
                connection.close()

    def send(self, tasks: Iterable[tuple[str, list, str | None]]) -> int:
        """Publish (task name, args, correlation id) each; return how many, once RabbitMQ
        confirmed all of them. Raises kombu's OperationalError (or NotConfirmed) otherwise."""
        tasks = list(tasks)
        if self._connection is not None:
            try:
                return self._send(tasks)
            except OperationalError:
                # A kept connection may have died while idle (RabbitMQ drops one that
                # missed its heartbeats): one more try on a fresh one before giving up.
                # Re-sending what may already be queued is safe: the tasks are idempotent.
                pass
        return self._send(tasks)

    def waiting(self, queue: str) -> int:
        """Messages in ``queue`` that no consumer has taken yet (a passive declare, one round
        trip on the kept channel). Raises kombu's OperationalError like send(), or amqp's
        NotFound for a queue RabbitMQ does not have."""
        connection = self._connection or self._open()
        try:
            with connection._reraise_as_library_errors():
                return self._producer.channel.queue_declare(queue=queue, passive=True).message_count
        except BaseException:
            self.close()  # a missing queue closes the channel: start the next on a fresh one
            raise

    def _send(self, tasks: list[tuple[str, list, str | None]]) -> int:
        connection = self._connection or self._open()
        try:
            with connection._reraise_as_library_errors():
                count = self._publish_all(tasks)
                self._wait_for_confirms(connection)
        except BaseException:
            self.close()  # unknown state: the next batch starts on a fresh channel
            raise
        return count

    def _publish_all(self, tasks) -> int:
        count = 0
        for name, args, correlation_id in tasks:
            correlation.use(correlation_id)  # task_queue's publish signal stamps it
            # retry=False: a failure surfaces here, not on a channel Celery replaced.
            # add_to_parent=False: no worker task is the parent here (Celery would look one
            # up for every send); argsrepr: what saferepr gives for a list of ids, without
            # its walk (the header is the same).
            self.app.send_task(
                name,
                args=args,
                producer=self._producer,
                retry=False,
                add_to_parent=False,
                argsrepr=repr(args),
                kwargsrepr="{}",
            )
            self._unconfirmed.published()
            count += 1
        return count

    def _wait_for_confirms(self, connection) -> None:
        deadline = time.monotonic() + self.confirm_timeout
        while not self._unconfirmed.settled():
            left = deadline - time.monotonic()
            if left <= 0:
                raise NotConfirmed(f"{len(self._unconfirmed.waiting)} publishes not confirmed")
            try:
                connection.drain_events(timeout=left)
            except TimeoutError:
                continue  # the loop raises NotConfirmed once the deadline passed
        if self._unconfirmed.nacked:
            raise NotConfirmed(f"RabbitMQ refused {self._unconfirmed.nacked} publishes")
