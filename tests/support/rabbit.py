"""A private RabbitMQ queue for a test, and a Celery app that sends every task to it: the
stack's routes would send a void to the real follow-ups queue, where the stack's worker
would run it against a real order. The queue holds at most ROOM messages and refuses the
rest (x-overflow=reject-publish), so a test can make RabbitMQ nack a publish. The fixture
that makes and deletes one is ``queue`` (tests/integration/conftest.py)."""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from app.core import task_queue

ROOM = 3  # the private queue holds at most this many messages, and refuses the rest


def private_app(queue: str) -> Celery:
    app = task_queue.make_celery(f"confirms-{queue}")
    app.conf.task_default_queue = queue
    app.conf.task_routes = None
    app.conf.task_queues = [
        Queue(queue, queue_arguments={"x-max-length": ROOM, "x-overflow": "reject-publish"})
    ]
    return app
