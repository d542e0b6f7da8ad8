"""Thin tasks: each takes a batch of order ids, runs one step, and queues whatever comes next.

Transient failures (gateway timeouts, a database or broker blip) are retried with
exponential backoff; the step functions are idempotent, so a retry or a redelivery
after a worker crash never does a step twice.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery import Task
from sqlalchemy import delete
from sqlalchemy.exc import OperationalError

from app.core.db import unit_of_work
from app.core.models import OutboxEvent, utcnow
from app.core.settings import get_settings
from app.orders import pipeline, sweeps
from app.orders.pipeline import Step
from app.payments.gateway import GatewayTransientError, SimulatedGateway, latency_ms
from workers import publishing
from workers.celery_app import app

log = logging.getLogger("comanda.tasks")


class PipelineTask(Task):
    """A step task over a batch of orders. When it fails for good (retries exhausted, or an
    error no retry can fix), a batch is split into one task per order, so one order's
    trouble never stops the others; a single order is then stopped with a reason instead
    of being left hanging."""

    step: Step | None = None
    # No "received" line per message (workers/strategy.py); the "succeeded" line stays.
    Strategy = "workers.strategy:quiet"

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # noqa: ARG002
        if self.step is None or not args:
            return
        order_ids, traces = batch(*args[:2])
        if len(order_ids) > 1:
            log.warning(
                "%s failed for a batch of %d orders: %r; one task each now",
                self.name,
                len(order_ids),
                exc,
            )
            for order_id in order_ids:
                follow_all({order_id: self.step}, traces)
            return
        log.error("%s gave up on order %s: %r", self.name, order_ids[0], exc)
        pipeline.give_up(order_ids[0], self.step)  # counted by workers/metrics.py


RETRY = dict(
    autoretry_for=(GatewayTransientError, OperationalError),
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=10,
)
gateway = SimulatedGateway()


def batch(
    order_ids: int | list[int], traces: list[str | None] | None = None
) -> tuple[list[int], dict[int, str | None]]:
    """A step task's arguments: the order ids (one id, as tasks queued before batches
    carried) and their correlation ids, as a list and an id -> correlation id map."""
    ids = [order_ids] if isinstance(order_ids, int) else [int(i) for i in order_ids]
    return ids, dict(zip(ids, traces, strict=False)) if traces else {}


def follow_all(after: dict[int, Step | None], traces: dict[int, str | None]) -> None:
    """Queue what each order needs next: one task per step and chunk (workers/publishing.py)."""
    s = get_settings()
    for step, ids in publishing.plan(after, s.step_batch_max, latency_ms()):
        task = STEP_TASKS[step]
        args = publishing.arguments(ids, traces)
        # .delay(*args), minus work Celery repeats per message (workers/publishing.py).
        task.apply_async(args, **publishing.for_step(task.name, args))


@app.task(base=PipelineTask, step=Step.VALIDATE, **RETRY)
def validate_order(order_ids, traces=None) -> None:
    ids, by_id = batch(order_ids, traces)
    follow_all(pipeline.validate_many(ids, by_id), by_id)


@app.task(base=PipelineTask, step=Step.RESERVE, **RETRY)
def reserve_stock(order_ids, traces=None) -> None:
    ids, by_id = batch(order_ids, traces)
    follow_all(pipeline.reserve_many(ids, by_id), by_id)


@app.task(base=PipelineTask, step=Step.AUTHORIZE, **RETRY)
def authorize_payment(order_ids, traces=None) -> None:
    ids, by_id = batch(order_ids, traces)
    follow_all(pipeline.authorize_many(ids, gateway, by_id), by_id)


@app.task(base=PipelineTask, step=Step.CAPTURE, **RETRY)
def capture_payment(order_ids, traces=None) -> None:
    ids, by_id = batch(order_ids, traces)
    follow_all({i: pipeline.capture_payment(i, gateway) for i in ids}, by_id)


@app.task(base=PipelineTask, step=Step.VOID, **RETRY)
def void_payment(order_ids, traces=None) -> None:
    ids, by_id = batch(order_ids, traces)
    follow_all({i: pipeline.void_payment(i, gateway) for i in ids}, by_id)


STEP_TASKS = {
    Step.VALIDATE: validate_order,
    Step.RESERVE: reserve_stock,
    Step.AUTHORIZE: authorize_payment,
    Step.CAPTURE: capture_payment,
    Step.VOID: void_payment,
}


@app.task(**RETRY)
def expire_unaccepted_orders() -> int:
    """Cancel (acceptance_timeout) orders nobody accepted in time; the void follows the
    order.cancelled event like any other cancel."""
    expired = sweeps.expire_unaccepted()
    if expired:
        log.info("acceptance timeout cancelled %d orders (%s...)", len(expired), expired[:20])
    return len(expired)


@app.task(**RETRY)
def redrive_stuck_orders() -> int:
    """Re-queue the next step of orders whose step got lost (a crash between a commit and
    the publish of the next task, a lost message)."""
    due = sweeps.stuck_orders()
    for order_id, step in due:
        log.warning("re-driving order %s: %s", order_id, step)
    follow_all(dict(due), {})
    return len(due)


@app.task(**RETRY)
def purge_published_outbox(keep_hours: int = 24) -> int:
    with unit_of_work() as session:
        result = session.execute(
            delete(OutboxEvent).where(
                OutboxEvent.published_at < utcnow() - timedelta(hours=keep_hours)
            )
        )
        return result.rowcount


@app.task(**RETRY)
def purge_login_failures() -> int:
    from roles import throttle

    with unit_of_work() as session:
        return throttle.purge(session)


@app.task(ignore_result=False)
def ping(value: str, seconds: float = 0) -> str:
    """Round-trip check used by the wiring tests; ``seconds`` (at most 10) makes it slow."""
    time.sleep(min(max(seconds, 0), 10))
    return f"pong:{value}"


# The retention tasks beat schedules live in their own module; importing it registers them
# wherever the pipeline's tasks are (the worker, and whoever reads app.tasks).
from workers import pruning  # noqa: E402, F401
