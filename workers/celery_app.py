"""The one Celery app. Settings that keep a task alive when a worker dies:
late acks, reject on worker loss, prefetch 1, publisher confirms. Late acks mean a task
may run twice, so every task is idempotent."""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from app.core.settings import get_settings


def make_celery() -> Celery:
    s = get_settings()
    app = Celery(
        "comanda", broker=s.celery_broker_url, include=["workers.tasks", "workers.pruning"]
    )
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"confirm_publish": True},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_heartbeat=10,
        task_default_queue="comanda",
        task_queues=[Queue("comanda", durable=True)],
        task_default_delivery_mode="persistent",
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend="rpc://",
        result_persistent=False,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_hijack_root_logger=False,
        timezone="UTC",
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


app = make_celery()
