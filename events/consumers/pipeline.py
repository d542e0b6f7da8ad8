"""Hands order events to the Celery workers (the pipeline and payment follow-ups).

Tasks are sent by name (app/core/task_queue.py), so this consumer needs no worker code.
A poll's tasks are published over one producer (one channel, publisher confirms on); the
batch returns, and its offsets are committed, only after RabbitMQ confirmed every publish.
The tasks are idempotent, so a redelivered event only re-runs a step that then does nothing.
"""

from __future__ import annotations

from functools import cache

from celery import Celery

from app.core import correlation, task_queue
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


def follow_up(envelope: Envelope) -> str | None:
    """The task an event asks for, if any (pure)."""
    return FOLLOW_UP.get(envelope.type)


def handle(batch: list[Received]) -> None:
    todo = [(follow_up(r.envelope), r.envelope.order_id, r.correlation_id) for r in batch]
    todo = [item for item in todo if item[0] is not None]
    if not todo:
        return
    app = _celery()
    with app.producer_or_acquire() as producer:
        for name, order_id, correlation_id in todo:
            correlation.use(correlation_id)  # task_queue's publish signal stamps it
            app.send_task(name, args=[order_id], producer=producer)


if __name__ == "__main__":
    main(GROUP, handle)
