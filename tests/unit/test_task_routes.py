"""The bulkhead's routes (app/core/task_queue.py TASK_ROUTES), read through Celery's own router:
the order steps and the sweeps on the steps' queue, the payment follow-ups and retention on
theirs, for the workers' app and for the pipeline consumer's sending client alike, and each
worker program consuming exactly its queue."""

import shlex

import pytest

from app.core import task_queue
from events.consumers.pipeline import FOLLOW_UP, _celery
from stack import procs
from stack.config import Config
from workers.tasks import app

pytestmark = pytest.mark.unit

ORDER_STEPS = ("validate_order", "reserve_stock", "authorize_payment")
FOLLOWUPS = (task_queue.CAPTURE_PAYMENT, task_queue.VOID_PAYMENT)


def queue_of(celery_app, name: str) -> str:
    return celery_app.amqp.router.route({}, name)["queue"].name


@pytest.mark.parametrize("sender", [app, _celery()], ids=["workers", "pipeline-consumer"])
def test_every_step_task_is_routed_to_its_queue(sender):
    for name in task_queue.STEP_TASKS:
        want = task_queue.FOLLOWUPS_QUEUE if name in FOLLOWUPS else task_queue.QUEUE
        assert queue_of(sender, name) == want, name
    assert {f"workers.tasks.{step}" for step in ORDER_STEPS} | set(FOLLOWUPS) == set(
        task_queue.STEP_TASKS
    )


def test_what_the_pipeline_consumer_sends_after_a_decision_goes_to_the_followups():
    for name in set(FOLLOW_UP.values()) - {task_queue.VALIDATE_ORDER}:
        assert queue_of(_celery(), name) == task_queue.FOLLOWUPS_QUEUE
    assert queue_of(_celery(), task_queue.VALIDATE_ORDER) == task_queue.QUEUE


def test_the_sweeps_stay_on_the_steps_queue_and_retention_goes_to_the_followups():
    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    sweeps = {"workers.tasks.expire_unaccepted_orders", "workers.tasks.redrive_stuck_orders"}
    assert sweeps <= schedule
    for name in schedule:
        want = task_queue.QUEUE if name in sweeps else task_queue.FOLLOWUPS_QUEUE
        assert queue_of(app, name) == want, name


def test_every_routed_queue_is_declared_durable():
    declared = {q.name: q for q in app.conf.task_queues}
    assert set(declared) == set(task_queue.QUEUES)
    assert all(q.durable for q in declared.values())
    for name in app.tasks:
        if not name.startswith("celery."):
            assert queue_of(app, name) in declared, name


def test_each_worker_program_consumes_exactly_its_own_queue():
    progs = procs.programs(Config(api_processes=1))

    def queues(program: str) -> str:
        argv = shlex.split(progs[program])
        return argv[argv.index("-Q") + 1]

    assert queues("worker") == task_queue.QUEUE
    assert queues("worker-followups") == task_queue.FOLLOWUPS_QUEUE


def test_only_work_no_one_waits_on_runs_at_a_lower_cpu_priority(monkeypatch) -> None:
    monkeypatch.delenv("COMANDA_BACKGROUND_NICE", raising=False)
    progs = procs.programs(Config(api_processes=1))
    niced = {name for name, command in progs.items() if command.startswith("nice ")}
    assert niced == {"projector", "worker-followups"}  # never the API, relay, pipeline, steps
    assert progs["worker-followups"].startswith("nice -n 10 ")
    monkeypatch.setenv("COMANDA_BACKGROUND_NICE", "0")
    assert procs.programs(Config(api_processes=1))["projector"].startswith("nice -n 0 ")
