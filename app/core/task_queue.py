"""The Celery wire, as both sides must agree on it: the broker connection with publisher
confirms, the one durable queue, the names of the tasks that other processes send, and the
header the correlation id travels in.

The workers' app (workers/celery_app.py) is this client plus the worker and beat settings;
the pipeline consumer (events/consumers/pipeline.py) sends by task name through its own
client, so the Kafka side never imports the workers.
"""

from __future__ import annotations

from celery import Celery
from celery.signals import before_task_publish
from kombu import Queue

from app.core import correlation
from app.core.settings import get_settings

QUEUE = "comanda"
# Celery's own "correlation_id" is the task id, so ours travels under another name.
TRACE_HEADER = "comanda_trace"

# Tasks sent by name from outside workers/ (tests/unit checks they are registered there).
VALIDATE_ORDER = "workers.tasks.validate_order"
CAPTURE_PAYMENT = "workers.tasks.capture_payment"
VOID_PAYMENT = "workers.tasks.void_payment"
# Every step task, one per pipeline step (the workers quiet their routine log lines).
STEP_TASKS = (
    VALIDATE_ORDER,
    "workers.tasks.reserve_stock",
    "workers.tasks.authorize_payment",
    CAPTURE_PAYMENT,
    VOID_PAYMENT,
)


def make_celery(name: str = "comanda") -> Celery:
    """A Celery app that can send: nothing connects until the first send."""
    app = Celery(name, broker=get_settings().celery_broker_url, set_as_current=False)
    app.conf.update(
        broker_transport_options={"confirm_publish": True},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_heartbeat=10,
        task_default_queue=QUEUE,
        task_queues=[Queue(QUEUE, durable=True)],
        task_default_delivery_mode="persistent",
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        timezone="UTC",
    )
    return app


@before_task_publish.connect
def _stamp_correlation(headers: dict | None = None, **_: object) -> None:
    value = correlation.current()
    if value and headers is not None:
        headers.setdefault(TRACE_HEADER, value)
