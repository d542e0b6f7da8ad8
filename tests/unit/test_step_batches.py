"""Step tasks over batches of orders, the pure parts: the stock a batch's claims get
(steps.allocate), how the orders a batch moved on are grouped and chunked into the next
tasks (workers/publishing.py), what the pipeline consumer hands on for a poll, and how a
task reads its arguments (one id, as tasks queued before batches carried, or a batch)."""

from __future__ import annotations

import pytest

from app.core import task_queue
from app.core.envelope import Envelope, EventType
from app.orders.steps import Step, allocate
from events.consumers.base import Received
from events.consumers.pipeline import tasks_for
from workers import publishing
from workers.tasks import batch

pytestmark = pytest.mark.unit


def test_each_claim_takes_all_its_units_or_none_in_turn():
    granted, taken = allocate(
        {1: 5, 2: 1, 3: 9},
        [
            (10, [(1, 2), (2, 1)]),  # served: item 2 is now empty
            (11, [(1, 1), (2, 1)]),  # item 2 cannot serve it, so it takes nothing of item 1
            (12, [(1, 3)]),  # the units order 11 did not take serve this one
            (13, [(1, 1)]),  # nothing left of item 1
            (14, [(4, 1)]),  # an item the stock does not have serves nobody
            (15, []),  # nothing to take: served
        ],
    )
    assert granted == {10: True, 11: False, 12: True, 13: False, 14: False, 15: True}
    assert taken == {1: 5, 2: 1}


def test_nothing_granted_takes_nothing():
    assert allocate({1: 0}, [(1, [(1, 1)])]) == ({1: False}, {})


def test_orders_moved_on_are_grouped_by_their_next_step_and_chunked():
    after = {5: Step.RESERVE, 1: Step.RESERVE, 3: None, 2: Step.RESERVE, 4: Step.AUTHORIZE}
    assert list(publishing.plan(after, batch_max=2, gateway_latency_ms=0)) == [
        (Step.RESERVE, [1, 2]),
        (Step.RESERVE, [5]),
        (Step.AUTHORIZE, [4]),
    ]


@pytest.mark.parametrize(
    ("step", "latency", "size"),
    [
        (Step.VALIDATE, 100, 32),  # no gateway: the whole chunk, whatever its latency
        (Step.RESERVE, 0, 32),
        (Step.AUTHORIZE, 0, 32),  # a gateway that answers at once: batches too
        (Step.AUTHORIZE, 100, 1),  # a real card network: one order a task
        (Step.CAPTURE, 10, 5),  # 50 ms of waiting a task
        (Step.VOID, 1, 32),  # never past the batch's maximum
    ],
)
def test_gateway_steps_take_what_fits_in_their_wait(step, latency, size):
    assert publishing.chunk_size(step, 32, latency) == size


def test_a_tasks_arguments_are_its_ids_and_their_request_ids():
    assert publishing.arguments([1, 2], {1: "a"}) == ([1, 2], ["a", None])
    assert publishing.arguments([1, 2], {}) == ([1, 2], None)


def test_a_task_reads_one_id_or_a_batch():
    assert batch(7) == ([7], {})
    assert batch([7, 8], ["a", None]) == ([7, 8], {7: "a", 8: None})
    assert batch([7, 8], None) == ([7, 8], {})


def received(kind: EventType, order_id: int, trace: str | None = None) -> Received:
    envelope = Envelope(type=kind, order_id=order_id, restaurant_id=1, customer_id=1, data={})
    return Received(envelope, trace)


def test_a_poll_hands_on_one_task_per_kind_and_chunk():
    poll = [
        received(EventType.ORDER_PLACED, 1, "t1"),
        received(EventType.ORDER_CANCELLED, 2),
        received(EventType.ORDER_AWAITING_ACCEPTANCE, 3),  # needs no worker
        received(EventType.ORDER_PLACED, 4),
        received(EventType.ORDER_PLACED, 5, "t5"),
        received(EventType.ORDER_REJECTED, 6),
    ]
    assert tasks_for(poll, batch_max=2) == [
        (task_queue.VALIDATE_ORDER, [[1, 4], ["t1", None]], "t1"),
        (task_queue.VALIDATE_ORDER, [[5], ["t5"]], "t5"),
        (task_queue.VOID_PAYMENT, [[2, 6], None], None),
    ]
    assert tasks_for(poll[2:3], batch_max=2) == []


def test_a_batch_that_failed_for_good_goes_on_as_one_task_per_order(monkeypatch):
    from workers import tasks

    queued, stopped = [], []
    monkeypatch.setattr(tasks, "follow_all", lambda after, traces: queued.append((after, traces)))
    monkeypatch.setattr(tasks.pipeline, "give_up", lambda order_id, step: stopped.append(order_id))
    task = tasks.reserve_stock
    task.on_failure(RuntimeError("boom"), "tid", ([3, 4], ["t3", None]), {}, None)
    assert queued == [
        ({3: Step.RESERVE}, {3: "t3", 4: None}),
        ({4: Step.RESERVE}, {3: "t3", 4: None}),
    ]
    assert stopped == []  # nobody stopped for a batch's failure...
    task.on_failure(RuntimeError("boom"), "tid", ([4], None), {}, None)
    assert stopped == [4]  # ...only an order that failed on its own
    task.on_failure(RuntimeError("boom"), "tid", (5,), {}, None)  # a task queued before batches
    assert stopped == [4, 5]


def test_the_orders_a_step_task_carried_are_counted():
    from workers.metrics import orders_in

    assert orders_in(([3, 4, 5], None)) == 3
    assert orders_in((7,)) == 1  # a task queued before batches
    assert orders_in(()) == 1
