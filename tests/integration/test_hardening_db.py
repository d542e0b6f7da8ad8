"""Issue 8 against the real PostgreSQL (database comanda_test, no workers attached, so
every step below runs when the test says and no sweep races it): ids a client names must
exist when the order is taken, money is 64-bit with a bound, a step that fails for good
leaves a code and not its error, and the acceptance deadline holds in the same
transaction as accept, reject and cancel."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError

from app.core.db import read_only, unit_of_work
from app.core.errors import BadRequest, Conflict
from app.core.lifecycle import Status
from app.core.models import MenuItem, Order, Restaurant, TimelineEntry, User, utcnow
from app.orders import commands, pipeline, sweeps
from app.orders.rules import MAX_ORDER_TOTAL_CENTS
from app.payments.gateway import SimulatedGateway

pytestmark = pytest.mark.integration

# What must never be in a timeline, an event or a reply.
LEAKS = ("error", "sql", "psycopg", "sqlalchemy", "traceback", "exception", "update ", "select ")


@pytest.fixture
def shop(on_test_db):
    with unit_of_work() as s:
        restaurant = Restaurant(name=f"h-{uuid.uuid4().hex[:6]}", cuisine="", is_open=True)
        restaurant.acceptance_seconds = 300
        s.add(restaurant)
        s.flush()
        item = MenuItem(
            restaurant_id=restaurant.id, name="x", price_cents=1000, stock=500, available=True
        )
        customer = User(email=f"{uuid.uuid4().hex}@t.io", password_hash="x", name="c")
        customer.role = "customer"
        s.add_all([item, customer])
        s.flush()
        return {"restaurant": restaurant.id, "item": item.id, "customer": customer.id}


def order_body(restaurant_id, lines):
    return {
        "restaurant_id": restaurant_id,
        "delivery_address": "a",
        "items": [{"menu_item_id": i, "quantity": q, "notes": None} for i, q in lines],
        "payment": {"method": "card", "token": "tok_ok"},
    }


def place(shop, lines, restaurant_id=None):
    with unit_of_work() as s:
        body = order_body(restaurant_id or shop["restaurant"], lines)
        order, _ = commands.place_order(s, shop["customer"], body, None)
        return order.id


def unused_id(table: str) -> int:
    """An id the table's sequence hands out now, so it can never be created by anyone else."""
    with unit_of_work() as s:
        return s.execute(text(f"select nextval(pg_get_serial_sequence('{table}', 'id'))")).scalar()


@dataclass
class Seen:
    status: str
    reason: str | None
    stage: str
    total_cents: int | None
    payment: str | None


def loaded(order_id):
    """The order's state as plain values, and its timeline as (event, detail) pairs."""
    with read_only() as s:
        o = s.get(Order, order_id)
        seen = Seen(o.status, o.reason, o.stage, o.total_cents, o.payment and o.payment.status)
        timeline = s.query(TimelineEntry).filter_by(order_id=order_id).all()
        return seen, [(t.event, t.detail) for t in timeline]


def assert_clean(timeline):
    for event, detail in timeline:
        assert not any(word in (detail or "").lower() for word in LEAKS), (event, detail)


# ------------------------------------------------------------------ ids a client names


def test_an_unknown_restaurant_is_refused_at_intake(shop):
    missing = unused_id("restaurants")
    with pytest.raises(BadRequest) as info:
        place(shop, [(shop["item"], 1)], restaurant_id=missing)
    assert set(info.value.errors) == {"restaurant_id"}
    with read_only() as s:
        assert s.query(Order).filter_by(restaurant_id=missing).count() == 0


def test_the_database_refuses_an_order_naming_no_restaurant(shop):
    with pytest.raises(IntegrityError), unit_of_work() as s:
        s.add(
            Order(
                customer_id=shop["customer"],
                restaurant_id=unused_id("restaurants"),
                status="PLACED",
                delivery_address="a",
                payment_method="card",
                payment_token="tok_ok",
            )
        )
        s.flush()


def test_a_menu_item_created_after_the_order_does_not_make_it_valid(shop):
    """Issue 8's planted order, for menu items: the id did not exist when the order was
    taken; an item that gets it later must not be what the order buys."""
    later = unused_id("menu_items")
    order_id = place(shop, [(later, 1)])
    with unit_of_work() as s:
        s.add(
            MenuItem(
                id=later,
                restaurant_id=shop["restaurant"],
                name="planted",
                price_cents=1,
                stock=10,
                available=True,
            )
        )
    pipeline.validate(order_id)
    order, timeline = loaded(order_id)
    assert (order.status, order.reason) == (Status.REJECTED, "invalid_order")
    with read_only() as s:
        assert s.get(MenuItem, later).stock == 10


# ------------------------------------------------------------------ money


def test_a_total_above_the_bound_is_refused_at_intake(shop):
    with unit_of_work() as s:
        s.execute(update(MenuItem).where(MenuItem.id == shop["item"]).values(price_cents=10**7))
    with pytest.raises(BadRequest) as info:
        place(shop, [(shop["item"], 99)] * 3)  # the 2,970,000,000 cents
    assert "items" in info.value.errors


def test_the_bound_itself_is_accepted(shop):
    with unit_of_work() as s:
        price = MAX_ORDER_TOTAL_CENTS // 100
        s.execute(update(MenuItem).where(MenuItem.id == shop["item"]).values(price_cents=price))
    order_id = place(shop, [(shop["item"], 50), (shop["item"], 50)])
    pipeline.validate(order_id)
    order, _ = loaded(order_id)
    assert order.total_cents == MAX_ORDER_TOTAL_CENTS and order.stage == "validated"


def test_prices_raised_past_32_bits_after_intake_reject_the_order_cleanly(shop):
    """The issue's crash: the total overflowed a 32-bit column and the database error
    text went into the timeline. Now: 64-bit sums, the bound, a clean invalid_order."""
    order_id = place(shop, [(shop["item"], 99)] * 3)
    with unit_of_work() as s:
        s.execute(update(MenuItem).where(MenuItem.id == shop["item"]).values(price_cents=10**7))
    pipeline.validate(order_id)
    order, timeline = loaded(order_id)
    assert (order.status, order.reason) == (Status.REJECTED, "invalid_order")
    assert_clean(timeline)


def test_money_columns_are_64_bit(on_test_db):
    with read_only() as s:
        types = dict(
            s.execute(
                text(
                    "select table_name || '.' || column_name, data_type"
                    " from information_schema.columns where column_name like '%\\_cents'"
                )
            ).all()
        )
    assert types and set(types.values()) == {"bigint"}, types


def test_a_step_that_fails_for_good_leaves_a_code_not_its_error(shop):
    order_id = place(shop, [(shop["item"], 1)])
    error = "DataError: (psycopg.errors.NumericValueOutOfRange) [SQL: UPDATE orders SET ...]"
    assert pipeline.give_up(order_id, pipeline.Step.VALIDATE, error)
    order, timeline = loaded(order_id)
    assert (order.status, order.reason) == (Status.REJECTED, "invalid_order")
    assert ("rejected", "validate failed permanently") in timeline
    assert_clean(timeline)
    with read_only() as s:
        payloads = s.execute(
            text("select payload::text from outbox where payload->>'order_id' = :o"),
            {"o": str(order_id)},
        ).scalars()
        for payload in payloads:
            assert "psycopg" not in payload and "SQL" not in payload, payload


# ------------------------------------------------------------------ the acceptance deadline


def awaiting(shop):
    order_id = place(shop, [(shop["item"], 1)])
    gateway = SimulatedGateway()
    step = pipeline.validate(order_id)
    step = pipeline.reserve_stock(order_id)
    step = pipeline.authorize_payment(order_id, gateway)
    assert step is None
    return order_id


def past_deadline(order_id):
    with unit_of_work() as s:
        s.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(deadline_at=utcnow() - timedelta(seconds=1))
        )


@pytest.mark.parametrize("action", ["accept", "reject", "cancel"])
def test_past_the_acceptance_deadline_accept_reject_and_cancel_are_409(shop, action):
    """Issue 8: an accept 3 s after a 2 s deadline got 202 and captured the payment,
    because only the sweep looked at the deadline. Nothing sweeps comanda_test, so here
    the command alone must refuse."""
    order_id = awaiting(shop)
    past_deadline(order_id)
    run = {
        "accept": lambda s: commands.accept_order(s, shop["restaurant"], order_id),
        "reject": lambda s: commands.reject_order(s, shop["restaurant"], order_id, "late"),
        "cancel": lambda s: commands.cancel_order(s, shop["customer"], order_id, None),
    }[action]
    with pytest.raises(Conflict, match="deadline"), unit_of_work() as s:
        run(s)
    order, _ = loaded(order_id)
    assert order.status == Status.AWAITING_ACCEPTANCE and order.payment == "AUTHORIZED"
    assert order_id in sweeps.expire_unaccepted()  # and the sweep still ends it as a timeout
    assert loaded(order_id)[0].reason == "acceptance_timeout"


def test_before_the_deadline_accept_still_works(shop):
    order_id = awaiting(shop)
    with unit_of_work() as s:
        commands.accept_order(s, shop["restaurant"], order_id)
    assert loaded(order_id)[0].status == Status.CONFIRMED
