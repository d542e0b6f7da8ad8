"""The Celery wire, as both sides must agree on it: the broker connection with publisher
confirms, the durable queues and which task goes to which (TASK_ROUTES), the names of the
tasks that other processes send, and the header the correlation id travels in.

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

# Two queues, one worker program each: a bulkhead (issue 9 item 6, docs/perf-storm.md).
# QUEUE holds the order steps a customer waits on (validate, reserve, authorize) and the
# sweeps; FOLLOWUPS_QUEUE the payment follow-ups after a decision (capture, void: a 2-minute
# target, no one waiting) and the retention tasks. A storm of 5,000 cancels queues 5,000
# voids on FOLLOWUPS_QUEUE, where the steps of a new order never wait behind them.
QUEUE = "comanda"
FOLLOWUPS_QUEUE = "comanda.followups"
QUEUES = (QUEUE, FOLLOWUPS_QUEUE)
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
# Celery's task_routes, in the one client every sender builds (make_celery): the workers'
# own .delay() (a step queueing the next, the redrive sweep) and the pipeline consumer's
# send_task by name route the same way. Whatever is not listed goes to QUEUE.
#  - The acceptance and stuck-order sweeps stay on QUEUE: they have deadlines, and the
#    follow-ups queue is exactly the one a storm fills (the acceptance sweep's own cancels
#    queue its voids there), so a sweep sent there would wait behind the storm it is
#    clearing. QUEUE stays short by design, so beat's next pass starts within a task or two.
#  - Pruning and the login-failure purge go with the follow-ups: no deadline worth a
#    thread of the steps' worker, and a long prune batch never holds one a new order needs.
TASK_ROUTES: dict[str, dict[str, str]] = {
    CAPTURE_PAYMENT: {"queue": FOLLOWUPS_QUEUE},
    VOID_PAYMENT: {"queue": FOLLOWUPS_QUEUE},
    "workers.pruning.*": {"queue": FOLLOWUPS_QUEUE},
    "workers.tasks.purge_*": {"queue": FOLLOWUPS_QUEUE},
}


def make_celery(name: str = "comanda") -> Celery:
    """A Celery app that can send: nothing connects until the first send."""
    app = Celery(name, broker=get_settings().celery_broker_url, set_as_current=False)
    app.conf.update(
        broker_transport_options={"confirm_publish": True},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_heartbeat=10,
        task_default_queue=QUEUE,
        task_queues=[Queue(name, durable=True) for name in QUEUES],
        task_routes=TASK_ROUTES,
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
