"""The worker's throughput settings (docs/perf-pipeline.md): prefetch, task events kept off
unless asked for (Flower does not turn them on), the steps' "received" lines dropped."""

import logging

import pytest

import workers.tasks  # noqa: F401  (registers the step tasks, as the worker does)
from app.core import task_queue
from app.core.settings import Settings, get_settings
from stack import monitoring
from stack.config import Config
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


def test_flower_does_not_turn_task_events_on_unless_asked_for(monkeypatch):
    monkeypatch.delenv("COMANDA_WORKER_TASK_EVENTS", raising=False)
    assert monitoring.program_env(Config(), "flower")["FLOWER_ENABLE_EVENTS"] == "false"
    monkeypatch.setenv("COMANDA_WORKER_TASK_EVENTS", "true")
    assert monitoring.program_env(Config(), "flower")["FLOWER_ENABLE_EVENTS"] == "true"


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


def test_the_worker_keeps_one_pooled_connection_per_thread_and_plans_generically(monkeypatch):
    from app.core import db

    monkeypatch.setattr(db, "_pool_size", 5)
    monkeypatch.setattr(db, "_pre_ping", True)
    monkeypatch.setattr(db, "_options", "")
    monkeypatch.setattr(db, "_prepare_threshold", None)
    monkeypatch.setattr(db, "_engines", {})
    url = "postgresql+psycopg://u:p@127.0.0.1:1/x"
    # any other process: PostgreSQL's and psycopg's defaults
    assert db._connect_args() == {"connect_timeout": 3}

    class Worker:
        concurrency = 8

    from workers.celery_app import _tune_pools

    _tune_pools(sender=Worker())
    engine = db.get_engine(url)
    assert engine.pool.size() == 8 and not engine.pool._pre_ping
    assert db.autocommit_engine(url).pool.size() == 8
    # new connections ask for generic plans (tests/integration/test_worker_plans.py reads it back)
    assert db._connect_args()["options"] == "-c plan_cache_mode=force_generic_plan"
    # ...and psycopg prepares a statement on its second run on a connection
    assert db._connect_args()["prepare_threshold"] == 1
    db.tune_for_worker(2)  # never below the default
    assert db._pool_size == 8


def test_the_step_tasks_receive_without_building_a_received_line(monkeypatch):
    from workers import strategy

    for name in task_queue.STEP_TASKS:
        assert app.tasks[name].Strategy == "workers.strategy:quiet"
    assert app.tasks["workers.tasks.ping"].Strategy == "celery.worker.strategy:default"
    seen = {}
    monkeypatch.setattr(strategy, "default", lambda *args, **kwargs: seen.update(kwargs))
    strategy.quiet(app.tasks[task_queue.VALIDATE_ORDER], app, object())
    assert seen["info"]("Task %(name)s received", {"name": "x"}) is None
    assert seen["info"] is not logging.getLogger("celery.worker.strategy").info
