"""The bulkhead (app/core/task_queue.py TASK_ROUTES) against the stack's real RabbitMQ and its
two supervised workers: a backlog of payment voids, queued before a new order, does not stand
in front of that order's steps.

The follow-ups worker is told to stop consuming its queue for the test (Celery's own
cancel_consumer, undone by add_consumer), so the backlog is certain to still be there when the
order arrives: the assertion is on order (the order reached AWAITING_ACCEPTANCE while every
void sent before it was still queued), never on a time. With one shared queue, the order's
validate, reserve and authorize would each have waited behind the voids.
"""

from __future__ import annotations

import pytest
from kombu import Connection

from app.core.task_queue import FOLLOWUPS_QUEUE, VOID_PAYMENT, make_celery
from seeds.client import order_body
from tests.conftest import wait_until
from tests.support.client import expect

pytestmark = pytest.mark.integration

BACKLOG = 300
# Ids no order has: void_payment finds no payment to void and does nothing (idempotent).
NO_SUCH_ORDERS = range(-1, -BACKLOG - 1, -1)


def depth(broker_url: str, queue: str) -> int:
    with Connection(broker_url, connect_timeout=5) as conn:
        return conn.default_channel.queue_declare(queue=queue, passive=True).message_count


def test_a_void_backlog_does_not_delay_a_new_orders_steps(
    make_restaurant, make_customer, celery_broker_url
):
    restaurant, customer = make_restaurant(), make_customer()
    celery = make_celery("bulkhead-test")
    pongs = celery.control.ping(timeout=5)
    paused = [name for pong in pongs for name in pong if name.startswith("followups@")]
    assert paused, f"no follow-ups worker answered: {pongs}"
    done = celery.control.cancel_consumer(
        FOLLOWUPS_QUEUE, destination=paused, reply=True, timeout=5
    )
    assert len(done) == len(paused), done
    try:
        with celery.producer_or_acquire() as producer:
            for order_id in NO_SUCH_ORDERS:
                celery.send_task(VOID_PAYMENT, args=[order_id], producer=producer)
        assert depth(celery_broker_url, FOLLOWUPS_QUEUE) >= BACKLOG

        body = order_body(restaurant.id, [(restaurant.item_id(), 1)])
        order = expect(customer.post("orders", json=body), 202).json()
        wait_until(
            lambda: customer.get(f"orders/{order['id']}").json()["status"] == "AWAITING_ACCEPTANCE",
            timeout=60,
            interval=0.3,
            message=f"order {order['id']} AWAITING_ACCEPTANCE",
        )
        # Validate, reserve and authorize all ran; every void sent before the order waits.
        assert depth(celery_broker_url, FOLLOWUPS_QUEUE) >= BACKLOG
    finally:
        celery.control.add_consumer(FOLLOWUPS_QUEUE, destination=paused, reply=True, timeout=5)
    # And the follow-ups worker, consuming again, drains the backlog it was holding back.
    wait_until(
        lambda: depth(celery_broker_url, FOLLOWUPS_QUEUE) == 0,
        timeout=120,
        interval=1,
        message="the follow-ups queue drained",
    )
