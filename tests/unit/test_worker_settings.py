"""The worker's throughput settings (docs/perf-pipeline.md): prefetch, task events kept off
against Flower's requests, the steps' "received" lines dropped, the ping kept."""

import logging
from types import SimpleNamespace

import pytest
from celery.worker import control

from app.core import task_queue
from app.core.settings import Settings, get_settings, use_settings
from workers.celery_app import app
from workers.quiet import Chatter

pytestmark = pytest.mark.unit


def test_late_acks_with_a_prefetch_of_a_few_per_thread():
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == get_settings().worker_prefetch_multiplier
    assert Settings().worker_prefetch_multiplier == 4
    assert Settings().worker_task_events is False
    assert app.conf.worker_send_task_events is False


def test_every_step_task_is_a_worker_task():
    assert set(task_queue.STEP_TASKS) <= set(app.tasks)


def _flower_asks(events: bool) -> dict:
    before = get_settings()
    use_settings(Settings(worker_task_events=events))
    dispatcher = SimpleNamespace(groups={"worker"})
    try:
        reply = control.Panel.data["enable_events"](
            SimpleNamespace(consumer=SimpleNamespace(event_dispatcher=dispatcher))
        )
    finally:
        use_settings(before)
    return reply, dispatcher.groups


def test_flower_cannot_turn_task_events_on_unless_asked_for():
    reply, groups = _flower_asks(events=False)
    assert "task" not in groups and "ok" in reply
    reply, groups = _flower_asks(events=True)
    assert "task" in groups


def _celery_line(task: str, level: int = logging.INFO) -> logging.LogRecord:
    args = ({"id": "x", "name": task, "args": "(1,)", "kwargs": "{}", "eta": None},)
    return logging.LogRecord(
        "celery.worker.strategy", level, __file__, 1, "Task %(name)s[%(id)s] received", args, None
    )


def test_the_steps_received_lines_are_dropped_not_the_pings():
    chatter = Chatter(set(task_queue.STEP_TASKS))
    assert not chatter.filter(_celery_line(task_queue.VALIDATE_ORDER))
    assert chatter.filter(_celery_line("workers.tasks.ping"))
    assert chatter.filter(_celery_line(task_queue.VALIDATE_ORDER, logging.WARNING))
    received = logging.getLogger("celery.worker.strategy")
    assert any(
        isinstance(f, Chatter) and task_queue.VALIDATE_ORDER in f.task_names
        for f in received.filters
    )
