"""The Celery wire: what the pipeline consumer sends by name exists in the workers."""

import pytest

from app.core import task_queue
from events.consumers.pipeline import FOLLOW_UP
from workers.tasks import app

pytestmark = pytest.mark.unit


def test_every_task_sent_by_name_is_a_worker_task():
    assert set(FOLLOW_UP.values()) <= set(app.tasks)


def test_the_workers_use_the_shared_wire():
    assert app.conf.task_default_queue == task_queue.QUEUE
    assert app.conf.broker_transport_options == {"confirm_publish": True}
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks
