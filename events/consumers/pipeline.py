"""Hands order events to the Celery workers (the pipeline and payment follow-ups).

The Celery publish is confirmed by RabbitMQ before the offset is committed; the tasks are
idempotent, so a redelivered event only re-runs a step that then does nothing.
"""

from __future__ import annotations

from app.core.envelope import Envelope, EventType
from events.consumers.base import main

GROUP = "comanda-pipeline"


def handle(envelope: Envelope) -> None:
    from workers import tasks

    follow_up = {
        EventType.ORDER_PLACED: tasks.validate_order,
        EventType.ORDER_ACCEPTED: tasks.capture_payment,
        EventType.ORDER_REJECTED: tasks.void_payment,
        EventType.ORDER_CANCELLED: tasks.void_payment,
    }.get(envelope.type)
    if follow_up is not None:
        follow_up.delay(envelope.order_id)


if __name__ == "__main__":
    main(GROUP, handle)
