"""Hands order events to the Celery workers (the pipeline and payment follow-ups).

A poll's tasks are published over one producer (one channel, publisher confirms on); the
batch returns, and its offsets are committed, only after RabbitMQ confirmed every publish.
The tasks are idempotent, so a redelivered event only re-runs a step that then does nothing.
"""

from __future__ import annotations

from app.core import correlation
from app.core.envelope import Envelope, EventType
from events.consumers.base import Received, main

GROUP = "comanda-pipeline"
# The task each event hands on (the events not listed need no worker).
FOLLOW_UP: dict[EventType, str] = {
    EventType.ORDER_PLACED: "workers.tasks.validate_order",
    EventType.ORDER_ACCEPTED: "workers.tasks.capture_payment",
    EventType.ORDER_REJECTED: "workers.tasks.void_payment",
    EventType.ORDER_CANCELLED: "workers.tasks.void_payment",
}


def follow_up(envelope: Envelope) -> str | None:
    """The task an event asks for, if any (pure)."""
    return FOLLOW_UP.get(envelope.type)


def handle(batch: list[Received]) -> None:
    # workers.tasks registers the tasks and the signal that stamps the correlation id.
    from workers import tasks

    todo = [(follow_up(r.envelope), r.envelope.order_id, r.correlation_id) for r in batch]
    todo = [item for item in todo if item[0] is not None]
    if not todo:
        return
    app = tasks.app
    with app.producer_or_acquire() as producer:
        for name, order_id, correlation_id in todo:
            correlation.use(correlation_id)
            app.tasks[name].apply_async((order_id,), producer=producer)


if __name__ == "__main__":
    main(GROUP, handle)
