"""The one Celery app. Settings that keep a task alive when a worker dies:
late acks, reject on worker loss, prefetch 1, publisher confirms. Late acks mean a task
may run twice, so every task is idempotent."""

from __future__ import annotations

from celery import Celery
from celery.signals import setup_logging, task_prerun, worker_process_init

from app.core import correlation, logs
from app.core.db import dispose_all
from app.core.settings import get_settings
from app.core.task_queue import TRACE_HEADER, make_celery


def make_app() -> Celery:
    s = get_settings()
    app = make_celery("comanda")
    app.conf.update(
        include=["workers.tasks"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
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
            "purge-published-outbox": {
                "task": "workers.tasks.purge_published_outbox",
                "schedule": 3600.0,
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

quiet.install(app.conf.beat_schedule)
