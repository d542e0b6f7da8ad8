"""The one Celery app. Settings that keep a task alive when a worker dies:
late acks, reject on worker loss, publisher confirms. Late acks mean a task may run twice,
so every task is idempotent, and a larger prefetch is safe: what a dead worker held unacked
goes back to RabbitMQ. What the profile showed about these settings: docs/perf-pipeline.md."""

from __future__ import annotations

from celery import Celery
from celery.signals import (
    setup_logging,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_ready,
)

from app.core import correlation, heap, logs
from app.core.db import dispose_all, tune_for_worker
from app.core.settings import get_settings
from app.core.task_queue import STEP_TASKS, TRACE_HEADER, make_celery


def make_app() -> Celery:
    s = get_settings()
    app = make_celery("comanda")
    app.conf.update(
        include=["workers.tasks", "workers.pruning"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Prefetch 1 per thread left half the threads idle under a backlog: each waited for
        # an ack to reach RabbitMQ and the next message to come back through the consumer
        # thread (docs/perf-pipeline.md). A few per thread keep the pool fed.
        worker_prefetch_multiplier=s.worker_prefetch_multiplier,
        worker_send_task_events=s.worker_task_events,
        # No task has a rate limit; without this the worker still checks a token bucket
        # for every message it receives.
        worker_disable_rate_limits=True,
        result_backend="rpc://",
        result_persistent=False,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        beat_schedule={
            "expire-unaccepted-orders": {
                "task": "workers.tasks.expire_unaccepted_orders",
                "schedule": s.sweep_interval_seconds,
            },
            "redrive-stuck-orders": {
                "task": "workers.tasks.redrive_stuck_orders",
                "schedule": max(s.sweep_interval_seconds, 5.0),
            },
            "purge-login-failures": {
                "task": "workers.tasks.purge_login_failures",
                "schedule": 600.0,
            },
            # Retention (workers/pruning.py): bounded batches, every prune_interval_seconds.
            "prune-published-outbox": {
                "task": "workers.pruning.prune_published_outbox",
                "schedule": float(s.prune_interval_seconds),
            },
            "prune-acknowledged-feed": {
                "task": "workers.pruning.prune_acknowledged_feed",
                "schedule": float(s.prune_interval_seconds),
            },
        },
    )
    return app


# Connected, this signal stops Celery from configuring logging itself: the worker and beat
# log the way every other process does (app/core/logs.py: JSON in production, with the
# correlation id), instead of Celery's formats patched after the fact.
@setup_logging.connect
def _logging(**_: object) -> None:
    logs.setup_logging("celery")


@worker_init.connect
def _tune_pools(sender=None, **_: object) -> None:
    # No ping per checkout, a pooled connection per thread, generic plans (app/core/db.py).
    # Only the worker: beat, Flower and tests that import this module keep the defaults.
    tune_for_worker(int(getattr(sender, "concurrency", 0) or 0))


@worker_ready.connect
def _freeze_startup_objects(**_: object) -> None:
    # The worker's full garbage collections stopped every thread for ~0.1 s (app/core/heap.py).
    heap.freeze_startup_objects()


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    dispose_all()  # never share pooled connections across forked pool children


@task_prerun.connect
def _restore_correlation(task=None, **_: object) -> None:
    correlation.use(getattr(task.request, TRACE_HEADER, None))


app = make_app()
app.set_current()  # the worker's own app is the process default (tasks, beat)

# Connect the metric signal handlers in every process that loads the app (worker and beat),
# and keep the sweeps' routine lines out of the logs.
from workers import metrics as _metrics  # noqa: E402, F401
from workers import quiet  # noqa: E402

quiet.install(app.conf.beat_schedule, set(STEP_TASKS))
