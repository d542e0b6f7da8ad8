"""The restaurant feed's rule (app.orders.feed) and the pipeline consumer's hand-off."""

from __future__ import annotations

import pytest

from app.core.envelope import Envelope, EventType
from app.orders.feed import feed_rows
from events.consumers.pipeline import follow_up

pytestmark = pytest.mark.unit


def envelope(kind: EventType = EventType.ORDER_PLACED) -> Envelope:
    return Envelope(type=kind, order_id=9, restaurant_id=4, customer_id=2, data={"x": 1})


def test_each_event_becomes_one_row_of_its_restaurant():
    a, b = envelope(), envelope(EventType.ORDER_ACCEPTED)
    rows = feed_rows([a, b, a])
    assert [r["event_id"] for r in rows] == [a.event_id, b.event_id]
    assert rows[1] == {
        "event_id": b.event_id,
        "restaurant_id": 4,
        "type": "order.accepted",
        "order_id": 9,
        "occurred_at": b.occurred_at,
        "data": {"x": 1},
    }


@pytest.mark.parametrize(
    ("kind", "task"),
    [
        (EventType.ORDER_PLACED, "workers.tasks.validate_order"),
        (EventType.ORDER_ACCEPTED, "workers.tasks.capture_payment"),
        (EventType.ORDER_REJECTED, "workers.tasks.void_payment"),
        (EventType.ORDER_CANCELLED, "workers.tasks.void_payment"),
        (EventType.ORDER_AWAITING_ACCEPTANCE, None),
        (EventType.PAYMENT_CAPTURED, None),
    ],
)
def test_the_pipeline_hands_on_only_the_events_that_need_a_worker(kind, task):
    assert follow_up(envelope(kind)) == task
