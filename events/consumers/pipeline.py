"""Hands order events to the Celery workers (the pipeline and payment follow-ups).

Tasks are sent by name (app/core/task_queue.py), so this consumer needs no worker code.
The Celery publish is confirmed by RabbitMQ before the offset is committed; the tasks are
idempotent, so a redelivered event only re-runs a step that then does nothing.
"""

from __future__ import annotations

from functools import cache

from celery import Celery

from app.core import task_queue
from app.core.envelope import Envelope, EventType
from events.consumers.base import main

GROUP = "comanda-pipeline"

FOLLOW_UP = {
    EventType.ORDER_PLACED: task_queue.VALIDATE_ORDER,
    EventType.ORDER_ACCEPTED: task_queue.CAPTURE_PAYMENT,
    EventType.ORDER_REJECTED: task_queue.VOID_PAYMENT,
    EventType.ORDER_CANCELLED: task_queue.VOID_PAYMENT,
}


@cache
def _celery() -> Celery:
    return task_queue.make_celery("comanda-pipeline")


def handle(envelope: Envelope) -> None:
    task = FOLLOW_UP.get(envelope.type)
    if task is not None:
        _celery().send_task(task, args=[envelope.order_id])


if __name__ == "__main__":
    main(GROUP, handle)
