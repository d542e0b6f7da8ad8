"""How a step task queues the next step: Celery's own publish, with two of its documented
``apply_async`` options that drop work Celery would otherwise repeat on every message.

- ``argsrepr``/``kwargsrepr`` given: Celery builds both with ``saferepr`` for every message
  (the text Flower and the "received" line show). A step's only argument is an order id, so
  the text is known: ``(42,)`` and ``{}``, the same strings saferepr makes.
- ``declare=[]`` when the next step's queue is one this worker consumes itself. By default a
  publish "maybe declares" its queue: the declaration is cached per connection, but the
  queue is still copied and bound to the channel, behind a retry wrapper, on every publish
  (a fifth of a publish's CPU; docs/perf-celery.md, fifth round). A queue this worker
  consumes was declared by its own consumer when it started and is declared again on every
  reconnection, so the message cannot go unroutable for want of it. Anything else (the
  follow-ups queue, a process that is not a worker) keeps Celery's declare.

Same message, same confirm wait, same acks: tests/integration/test_wiring.py and the
unit tests check the message Celery builds is unchanged.
"""

from __future__ import annotations

from celery.signals import worker_ready

from app.core.task_queue import QUEUE, TASK_ROUTES

# Queues this process's worker consumes (filled when its consumer is ready; empty elsewhere).
_consumed: set[str] = set()


def queue_of(task_name: str) -> str:
    """The queue a step task is routed to (TASK_ROUTES names every step outside QUEUE)."""
    return TASK_ROUTES.get(task_name, {}).get("queue", QUEUE)


def options(order_id: int, queue: str, consumed: set[str] | frozenset[str]) -> dict:
    """apply_async options for a step task of one order sent to ``queue``."""
    opts: dict = {"argsrepr": f"({order_id!r},)", "kwargsrepr": "{}"}
    if queue in consumed:
        opts["declare"] = []
    return opts


def for_step(task_name: str, order_id: int) -> dict:
    return options(order_id, queue_of(task_name), _consumed)


@worker_ready.connect
def _remember_consumed(sender=None, **_: object) -> None:
    task_consumer = getattr(sender, "task_consumer", None)
    _consumed.update(q.name for q in getattr(task_consumer, "queues", ()))
