"""Hands order events to the Celery workers (the pipeline and payment follow-ups).

Tasks are sent by name (app/core/task_queue.py), so this consumer needs no worker code.
A poll's tasks are published back to back on one channel in confirm mode, then the confirms
are awaited once for all of them (app/core/batch_publish.py): the batch returns, and its
offsets are committed, only after RabbitMQ confirmed every publish; any error raises, so
nothing is committed and the batch is sent again.
The tasks are idempotent, so a redelivered event only re-runs a step that then does nothing.
"""

from __future__ import annotations

from functools import cache

from celery import Celery

from app.core import task_queue
from app.core.batch_publish import BatchPublisher
from app.core.envelope import Envelope, EventType
from events.consumers.base import Received, main

GROUP = "comanda-pipeline"
# The task each event hands on (the events not listed need no worker).
FOLLOW_UP: dict[EventType, str] = {
    EventType.ORDER_PLACED: task_queue.VALIDATE_ORDER,
    EventType.ORDER_ACCEPTED: task_queue.CAPTURE_PAYMENT,
    EventType.ORDER_REJECTED: task_queue.VOID_PAYMENT,
    EventType.ORDER_CANCELLED: task_queue.VOID_PAYMENT,
}


@cache
def _celery() -> Celery:
    return task_queue.make_celery("comanda-pipeline")


@cache
def _publisher() -> BatchPublisher:
    return BatchPublisher(_celery())


def follow_up(envelope: Envelope) -> str | None:
    """The task an event asks for, if any (pure)."""
    return FOLLOW_UP.get(envelope.type)


def handle(batch: list[Received]) -> None:
    todo = [(follow_up(r.envelope), [r.envelope.order_id], r.correlation_id) for r in batch]
    todo = [item for item in todo if item[0] is not None]
    if todo:
        _publisher().send(todo)


if __name__ == "__main__":
    main(GROUP, handle)
