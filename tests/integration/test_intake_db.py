"""The intake's two statements (app/orders/intake.py) on the real PostgreSQL, on an
autocommit connection as the API runs them (app/api/connection.py): what was written is
what the reply says, the Idempotency-Key race, and the key's 24-hour window."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from app.core.db import get_engine, read_only
from app.core.errors import BadRequest, Conflict
from app.core.models import IdempotencyKey, Order, OrderItem, OutboxEvent, TimelineEntry
from app.orders import commands
from app.orders.view import order_view
from tests.support.usecases import body, new_kitchen

pytestmark = pytest.mark.integration


@pytest.fixture
def kitchen(on_test_db):
    return new_kitchen(stock=50, customers=2)


def place(customer_id, payload, key=None):
    """As the API does: the two statements on an autocommit connection, no transaction."""
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return commands.place(conn, customer_id, payload, key)


def counts(order_id):
    with read_only() as s:
        return {
            model.__name__: s.scalar(
                select(func.count()).select_from(model).where(model.order_id == order_id)
            )
            for model in (OrderItem, TimelineEntry, IdempotencyKey)
        } | {
            "OutboxEvent": s.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.payload["order_id"].as_integer() == order_id)
            )
        }


def test_the_reply_is_the_order_as_written(kitchen):
    payload = body(kitchen, quantity=3)
    payload["items"].append({"menu_item_id": kitchen["item"], "quantity": 1, "notes": "sem sal"})
    view, created = place(kitchen["customers"][0], payload)
    assert created
    with read_only() as s:
        assert order_view(s.get(Order, view["id"])) == view
        event = s.scalars(
            select(OutboxEvent).where(OutboxEvent.payload["order_id"].as_integer() == view["id"])
        ).one()
        assert event.payload["type"] == "order.placed"
        assert event.key == str(kitchen["restaurant"])
        payload = event.payload
    summary = {k: v for k, v in view.items() if k not in ("timeline", "acceptance_deadline")}
    assert payload["data"] == {"version": 1, "order": summary}
    assert counts(view["id"]) == {
        "OrderItem": 2,
        "TimelineEntry": 1,
        "IdempotencyKey": 0,
        "OutboxEvent": 1,
    }


def test_a_refused_body_writes_nothing(kitchen):
    with read_only() as s:
        before = s.scalar(select(func.count()).select_from(Order))
    payload = {**body(kitchen), "restaurant_id": 2**31 - 1}
    with pytest.raises(BadRequest):
        place(kitchen["customers"][0], payload, key=uuid.uuid4().hex)
    with read_only() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == before


def test_same_key_raced_on_autocommit_connections_gives_one_order(kitchen):
    key, customer = uuid.uuid4().hex, kitchen["customers"][0]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: place(customer, body(kitchen), key), range(8)))
    assert len({view["id"] for view, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert all(view == results[0][0] for view, _ in results)
    assert counts(results[0][0]["id"])["IdempotencyKey"] == 1
    with pytest.raises(Conflict):
        place(customer, body(kitchen, quantity=2), key)


def test_the_same_key_of_another_customer_is_another_order(kitchen):
    key = uuid.uuid4().hex
    first, _ = place(kitchen["customers"][0], body(kitchen), key)
    second, created = place(kitchen["customers"][1], body(kitchen), key)
    assert created and second["id"] != first["id"]


def test_a_key_past_its_window_is_taken_over_by_a_new_order(kitchen):
    key, customer = uuid.uuid4().hex, kitchen["customers"][0]
    first, _ = place(customer, body(kitchen), key)
    with get_engine().begin() as conn:
        conn.execute(
            text(
                "update idempotency_keys set created_at = created_at - interval '25 hours'"
                " where customer_id = :c and key = :k"
            ),
            {"c": customer, "k": key},
        )
    # Another body would be a 409 within the window; past it, it is a new order.
    second, created = place(customer, body(kitchen, quantity=2), key)
    assert created and second["id"] != first["id"]
    again, created = place(customer, body(kitchen, quantity=2), key)
    assert not created and again["id"] == second["id"]
