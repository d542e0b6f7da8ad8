"""Hands order events to the Celery workers (the pipeline and payment follow-ups).

Tasks are sent by name (app/core/task_queue.py), so this consumer needs no worker code. A
poll's orders that need the same task go as one task (a batch: workers/tasks.py).
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
from app.core.envelope import Envelope, EventType, parse_iso
from app.core.settings import get_settings
from events.consumers.backpressure import Backpressure, latency_ms
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


def tasks_for(batch: list[Received], batch_max: int) -> list[tuple[str, list, str | None]]:
    """What a poll hands on (pure): (task, args, correlation id) per task, the orders that
    need the same task together, in chunks of ``batch_max``, in the poll's order. A task's
    args are its order ids and their correlation ids (workers/tasks.py); its own header
    carries its first order's."""
    by_task: dict[str, list[Received]] = {}
    for received in batch:
        name = follow_up(received.envelope)
        if name is not None:
            by_task.setdefault(name, []).append(received)
    todo = []
    for name, found in by_task.items():
        for start in range(0, len(found), batch_max):
            chunk = found[start : start + batch_max]
            traces = [r.correlation_id for r in chunk]
            ids = [r.envelope.order_id for r in chunk]
            todo.append((name, [ids, traces if any(traces) else None], chunk[0].correlation_id))
    return todo


def took_ms(envelope: Envelope) -> float | None:
    """How long (ms) the order took from PLACED to AWAITING_ACCEPTANCE, if ``envelope`` is
    that move and says when the order was placed (pure). Only a hint for the gather: an
    event without a readable time is not this consumer's to refuse."""
    if envelope.type != EventType.ORDER_AWAITING_ACCEPTANCE:
        return None
    try:
        return latency_ms(parse_iso(envelope.data["order"]["created_at"]), envelope.occurred_at)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def through(batch: list[Received]) -> list[float]:
    """How long (ms) each order of ``batch`` that reached AWAITING_ACCEPTANCE took (pure)."""
    return [ms for r in batch if (ms := took_ms(r.envelope)) is not None]


@cache
def backpressure() -> Backpressure:
    """When this group's polls gather (events/consumers/backpressure.py)."""
    s = get_settings()
    return Backpressure(
        lambda: _publisher().waiting(task_queue.QUEUE), s.pipeline_gather_ms, s.pipeline_slow_ms
    )


def handle(batch: list[Received]) -> None:
    backpressure().observe(through(batch))
    todo = tasks_for(batch, get_settings().step_batch_max)
    if todo:
        _publisher().send(todo)


if __name__ == "__main__":
    # Up to a full task of new orders per poll: each order has about three events here.
    main(GROUP, handle, gather=backpressure(), gather_max=3 * get_settings().step_batch_max)
