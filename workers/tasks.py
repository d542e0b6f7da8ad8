"""Thin tasks: each takes an order id, runs one step, and queues whatever comes next.

Transient failures (gateway timeouts, a database or broker blip) are retried with
exponential backoff; the step functions are idempotent, so a retry or a redelivery
after a worker crash never does a step twice.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery import Task
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    before_task_publish,
    task_prerun,
    worker_process_init,
)
from sqlalchemy import delete
from sqlalchemy.exc import OperationalError

from app.core import correlation
from app.core.db import dispose_all, unit_of_work
from app.core.models import OutboxEvent, utcnow
from app.orders import commands, pipeline
from app.orders.pipeline import Step
from app.payments.gateway import GatewayTransientError, SimulatedGateway
from workers.celery_app import app

log = logging.getLogger("comanda.tasks")


class PipelineTask(Task):
    """A step task: when it fails for good (retries exhausted, or an error no retry can
    fix), the order is stopped with a reason instead of being left hanging."""

    step: Step | None = None

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # noqa: ARG002
        order_id = args[0] if args else kwargs.get("order_id")
        if self.step is None or order_id is None:
            return
        log.error("%s gave up on order %s: %r", self.name, order_id, exc)
        pipeline.give_up(order_id, self.step, f"{type(exc).__name__}: {exc}")


RETRY = dict(
    autoretry_for=(GatewayTransientError, OperationalError),
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=10,
)
gateway = SimulatedGateway()


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    dispose_all()  # never share pooled connections across forked pool children


# Celery's own "correlation_id" is the task id, so ours travels under another name.
TRACE_HEADER = "comanda_trace"


@before_task_publish.connect
def _stamp_correlation(headers: dict | None = None, **_: object) -> None:
    value = correlation.current()
    if value and headers is not None:
        headers.setdefault(TRACE_HEADER, value)


@task_prerun.connect
def _restore_correlation(task=None, **_: object) -> None:
    correlation.use(getattr(task.request, TRACE_HEADER, None))


@after_setup_logger.connect
@after_setup_task_logger.connect
def _log_correlation(logger=None, **_: object) -> None:
    for handler in logger.handlers if logger else []:
        handler.addFilter(correlation.LogFilter())
        if handler.formatter is not None and "correlation_id" not in (handler.formatter._fmt or ""):
            handler.formatter._fmt = handler.formatter._fmt.replace(
                "%(message)s", "[%(correlation_id)s] %(message)s"
            )
            handler.formatter._style._fmt = handler.formatter._fmt


def follow(step: Step | None, order_id: int) -> None:
    if step is not None:
        STEP_TASKS[step].delay(order_id)


@app.task(base=PipelineTask, step=Step.VALIDATE, **RETRY)
def validate_order(order_id: int) -> None:
    follow(pipeline.validate(order_id), order_id)


@app.task(base=PipelineTask, step=Step.RESERVE, **RETRY)
def reserve_stock(order_id: int) -> None:
    follow(pipeline.reserve_stock(order_id), order_id)


@app.task(base=PipelineTask, step=Step.AUTHORIZE, **RETRY)
def authorize_payment(order_id: int) -> None:
    follow(pipeline.authorize_payment(order_id, gateway), order_id)


@app.task(base=PipelineTask, step=Step.CAPTURE, **RETRY)
def capture_payment(order_id: int) -> None:
    follow(pipeline.capture_payment(order_id, gateway), order_id)


@app.task(base=PipelineTask, step=Step.VOID, **RETRY)
def void_payment(order_id: int) -> None:
    follow(pipeline.void_payment(order_id, gateway), order_id)


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
    with unit_of_work() as session:
        expired = commands.expire_unaccepted(session)
    if expired:
        log.info("acceptance timeout cancelled orders %s", expired)
    return len(expired)


@app.task(**RETRY)
def redrive_stuck_orders() -> int:
    """Re-queue the next step of orders whose step got lost (a crash between a commit and
    the publish of the next task, a lost message)."""
    with unit_of_work() as session:
        due = pipeline.stuck_orders(session)
    for order_id, step in due:
        log.warning("re-driving order %s: %s", order_id, step)
        follow(step, order_id)
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
