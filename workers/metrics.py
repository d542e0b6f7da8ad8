"""Celery's signals feed the metrics: step duration and outcome, retries, give-ups and sweep
actions. The tasks themselves stay free of instrumentation.

The worker's pool children record into the multiprocess dir; the worker's main process serves
the sum (worker_init), beat serves its own (beat_init).
"""

from __future__ import annotations

import os
import time
from functools import cache

from celery.signals import (
    beat_init,
    celeryd_init,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    worker_init,
    worker_process_shutdown,
)

from app.core import metrics

# The periodic sweeps return how many orders they acted on.
SWEEPS = {
    "workers.tasks.expire_unaccepted_orders": "acceptance_timeout",
    "workers.tasks.redrive_stuck_orders": "redrive",
}
_started: dict[str, float] = {}


def short(task_name: str) -> str:
    return task_name.rsplit(".", 1)[-1]


def step_of(task) -> str | None:
    step = getattr(task, "step", None)
    return str(getattr(step, "value", step)) if step is not None else None


def outcome_of(state: str | None) -> str:
    return {"SUCCESS": "success", "RETRY": "retry", "FAILURE": "failure"}.get(state or "", "other")


# A labelled child is looked up (and its label values checked) on every .labels() call;
# the label sets here are few and fixed, so each is looked up once per process.
@cache
def _task_duration(task: str, outcome: str):
    return metrics.TASK_DURATION.labels(task, outcome)


@cache
def _step_duration(step: str, outcome: str):
    return metrics.STEP_DURATION.labels(step, outcome)


@celeryd_init.connect
def _fresh_dir(**_: object) -> None:
    metrics.fresh_multiproc_dir()


@worker_init.connect
@beat_init.connect
def _serve(**_: object) -> None:
    metrics.serve()


@worker_process_shutdown.connect
def _child_gone(**_: object) -> None:
    metrics.process_dead(os.getpid())


@task_prerun.connect
def _start_clock(task_id=None, **_: object) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


def orders_in(args) -> int:
    """How many orders a step task's arguments carry (one id, or a batch of ids)."""
    first = args[0] if args else None
    return len(first) if isinstance(first, list | tuple) else 1


@cache
def _step_orders(step: str):
    return metrics.STEP_ORDERS.labels(step)


@task_postrun.connect
def _record(task_id=None, task=None, state=None, retval=None, args=None, **_: object) -> None:
    began = _started.pop(task_id, None)
    if task is None or began is None:
        return
    seconds, outcome = time.perf_counter() - began, outcome_of(state)
    _task_duration(short(task.name), outcome).observe(seconds)
    step = step_of(task)
    if step is not None:
        _step_duration(step, outcome).observe(seconds)
        _step_orders(step).observe(orders_in(args))
    sweep = SWEEPS.get(task.name)
    if sweep and outcome == "success" and isinstance(retval, int) and retval > 0:
        metrics.SWEEP_ACTIONS.labels(sweep).inc(retval)


@task_retry.connect
def _retried(sender=None, reason=None, **_: object) -> None:
    if sender is not None:
        metrics.TASK_RETRIES.labels(short(sender.name), type(reason).__name__).inc()


@task_failure.connect
def _gave_up(sender=None, **_: object) -> None:
    if sender is not None:
        metrics.TASK_GIVE_UPS.labels(short(sender.name)).inc()
