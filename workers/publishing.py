"""How a step queues the next one: the orders a batch moved on, grouped by the step each now
needs, in chunks (one task per chunk), with Celery's own publish and two of its documented
``apply_async`` options that drop work Celery would otherwise repeat on every message.

- Chunks: a step task carries up to ``step_batch_max`` orders (one transaction and one
  message for all of them). A gateway step waits on the gateway once per order, so while
  the gateway is slow its chunks shrink to what fits in ``GATEWAY_WAIT_MS`` (one order per
  task at the 100 ms of a real card network): waiting orders spread over the pool's threads
  instead of queueing behind each other in one.
- ``argsrepr``/``kwargsrepr`` given: Celery builds both with ``saferepr`` for every message
  (the text Flower and the "received" line show). A step's arguments are lists of order ids
  and correlation ids, whose repr is the same text saferepr makes for them.
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

from collections.abc import Iterator, Mapping, Sequence

from celery.signals import worker_ready

from app.core.task_queue import QUEUE, TASK_ROUTES
from app.orders.steps import GATEWAY_STEPS, Step

# The longest a gateway step's task should wait on the gateway, summed over its orders.
GATEWAY_WAIT_MS = 50

# Queues this process's worker consumes (filled when its consumer is ready; empty elsewhere).
_consumed: set[str] = set()


def queue_of(task_name: str) -> str:
    """The queue a step task is routed to (TASK_ROUTES names every step outside QUEUE)."""
    return TASK_ROUTES.get(task_name, {}).get("queue", QUEUE)


def chunk_size(step: Step, batch_max: int, gateway_latency_ms: int) -> int:
    """Orders per task of ``step``: batch_max, or for a gateway step what fits in
    GATEWAY_WAIT_MS of the gateway's latency (at least one)."""
    if step in GATEWAY_STEPS and gateway_latency_ms > 0:
        return max(1, min(batch_max, GATEWAY_WAIT_MS // gateway_latency_ms))
    return max(1, batch_max)


def plan(
    after: Mapping[int, Step | None], batch_max: int, gateway_latency_ms: int
) -> Iterator[tuple[Step, list[int]]]:
    """The tasks to queue after a batch: (step, order ids) per chunk, the orders grouped by
    the step each needs next (orders needing nothing left out), in id order."""
    by_step: dict[Step, list[int]] = {}
    for order_id, step in sorted(after.items()):
        if step is not None:
            by_step.setdefault(step, []).append(order_id)
    for step, ids in by_step.items():
        size = chunk_size(step, batch_max, gateway_latency_ms)
        for start in range(0, len(ids), size):
            yield step, ids[start : start + size]


def arguments(order_ids: Sequence[int], traces: Mapping[int, str | None]) -> tuple:
    """A step task's positional arguments: the order ids, and their correlation ids in the
    same order (None when none of them has one)."""
    ids = list(order_ids)
    found = [traces.get(i) for i in ids]
    return (ids, found if any(found) else None)


def options(args: tuple, queue: str, consumed: set[str] | frozenset[str]) -> dict:
    """apply_async options for a step task with ``args`` sent to ``queue``."""
    opts: dict = {"argsrepr": repr(args), "kwargsrepr": "{}"}
    if queue in consumed:
        opts["declare"] = []
    return opts


def for_step(task_name: str, args: tuple) -> dict:
    return options(args, queue_of(task_name), _consumed)


@worker_ready.connect
def _remember_consumed(sender=None, **_: object) -> None:
    task_consumer = getattr(sender, "task_consumer", None)
    _consumed.update(q.name for q in getattr(task_consumer, "queues", ()))
