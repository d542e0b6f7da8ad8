"""How a step queues the next (workers/publishing.py): Celery's message unchanged, the
queue's declaration skipped only for a queue the worker consumes itself."""

import pytest
from celery.utils.saferepr import saferepr

from app.core import task_queue
from workers import publishing

pytestmark = pytest.mark.unit


ARGS = ([987654321, 12], ["c0ffee", None])


@pytest.mark.parametrize("args", [ARGS, ([42], None), (7,)])
def test_the_reprs_given_are_the_ones_celery_would_build(args):
    opts = publishing.options(args, task_queue.QUEUE, set())
    assert opts["argsrepr"] == saferepr(args, 1024)
    assert opts["kwargsrepr"] == saferepr({}, 1024)


def test_declare_is_skipped_only_for_a_queue_the_worker_consumes():
    own = {task_queue.QUEUE}
    assert publishing.options(ARGS, task_queue.QUEUE, own)["declare"] == []
    assert "declare" not in publishing.options(ARGS, task_queue.FOLLOWUPS_QUEUE, own)
    # Not a worker (or before its consumer is ready): Celery's declare, as by default.
    assert "declare" not in publishing.options(ARGS, task_queue.QUEUE, set())


@pytest.mark.parametrize("name", task_queue.STEP_TASKS)
def test_queue_of_agrees_with_celerys_router(name):
    app = task_queue.make_celery("routing-check")
    assert publishing.queue_of(name) == app.amqp.router.route({}, name)["queue"].name


def test_the_message_is_the_one_celery_builds_without_the_options():
    app = task_queue.make_celery("message-check")
    opts = publishing.options(ARGS, task_queue.QUEUE, set())
    plain = app.amqp.as_task_v2("tid", task_queue.VALIDATE_ORDER, args=ARGS, kwargs={})
    given = app.amqp.as_task_v2(
        "tid",
        task_queue.VALIDATE_ORDER,
        args=ARGS,
        kwargs={},
        argsrepr=opts["argsrepr"],
        kwargsrepr=opts["kwargsrepr"],
    )
    assert given.headers == plain.headers
    assert given.body == plain.body
