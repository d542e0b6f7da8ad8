"""payments.order_held follows its order through the app's real paths (migration s8a's
triggers, on the real PostgreSQL, database comanda_test), and the stuck-order sweep finds
the open payment an order that moved on left behind, never that of an order awaiting its
restaurant (docs/perf-sweeps.md, "Eighth round")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from app.core.db import read_only, transaction, unit_of_work
from app.core.lifecycle import PaymentStatus, Status
from app.core.models import Order, Restaurant, utcnow
from app.orders import commands, pipeline, steps, sweeps
from app.payments.gateway import SimulatedGateway
from tests.support.usecases import body, new_kitchen, place

pytestmark = pytest.mark.integration


@pytest.fixture
def kitchen(on_test_db):
    return new_kitchen(stock=1_000, customers=1)


@pytest.fixture
def gateway():
    return SimulatedGateway()


def _row(order_id: int):
    """(order status, payment status, order_held, payment row version) or the order's
    status and three Nones when it has no payment."""
    with read_only() as s:
        return s.execute(
            text(
                "select o.status, p.status, p.order_held, p.xmin::text from orders o"
                " left join payments p on p.order_id = o.id where o.id = :id"
            ),
            {"id": order_id},
        ).one()


def _held(order_id: int) -> bool | None:
    return _row(order_id)[2]


def _set(order_id: int, **columns) -> None:
    with unit_of_work() as s:
        order = s.get(Order, order_id)
        for name, value in columns.items():
            setattr(order, name, value)


def _awaiting(kitchen: dict, gateway: SimulatedGateway, token: str = "tok_ok") -> int:
    """An order through the pipeline's steps as the workers run them, checking the marker
    at each: a payment is inserted at validation (PLACED: held), and stays held as the
    order moves on to AWAITING_ACCEPTANCE."""
    order_id, _ = place(kitchen["customers"][0], body(kitchen, token=token))
    pipeline.validate(order_id)
    assert _row(order_id)[:3] == (Status.PLACED, PaymentStatus.PENDING, True)
    pipeline.reserve_stock(order_id)
    assert _held(order_id) is True
    pipeline.authorize_payment(order_id, gateway)
    return order_id


def _found(order_id: int) -> steps.Step | None:
    return dict(sweeps.stuck_orders(limit=10_000)).get(order_id)


def test_an_accepted_order_leaves_its_payment_to_capture_and_the_sweep_finds_it(kitchen, gateway):
    order_id = _awaiting(kitchen, gateway)
    waiting = _awaiting(kitchen, gateway)
    assert _row(order_id)[:3] == (Status.AWAITING_ACCEPTANCE, PaymentStatus.AUTHORIZED, True)
    with unit_of_work() as s:  # the restaurant's accept; its capture task is lost
        commands.accept_order(s, kitchen["restaurant"], order_id)
    assert _row(order_id)[:3] == (Status.CONFIRMED, PaymentStatus.AUTHORIZED, False)
    long_ago = utcnow() - timedelta(hours=1)
    _set(order_id, updated_at=long_ago)
    _set(waiting, updated_at=long_ago, deadline_at=utcnow() + timedelta(minutes=5))
    found = dict(sweeps.stuck_orders(limit=10_000))
    assert found.get(order_id) == steps.Step.CAPTURE
    assert waiting not in found  # awaiting its restaurant, with an authorized payment
    assert pipeline.capture_payment(order_id, gateway) is None
    assert _row(order_id)[1:3] == (PaymentStatus.CAPTURED, False)
    for target in (Status.PREPARING, Status.READY):  # the kitchen's steps: still not held
        with unit_of_work() as s:
            commands.advance_order(s, kitchen["restaurant"], order_id, target)
        assert _held(order_id) is False


def test_a_cancelled_order_leaves_its_payment_to_void_and_the_sweep_finds_it(kitchen, gateway):
    order_id = _awaiting(kitchen, gateway)
    with unit_of_work() as s:  # the customer cancels; the void task is lost
        commands.cancel_order(s, kitchen["customers"][0], order_id, None)
    assert _row(order_id)[:3] == (Status.CANCELLED, PaymentStatus.AUTHORIZED, False)
    _set(order_id, updated_at=utcnow() - timedelta(hours=1))
    assert _found(order_id) == steps.Step.VOID


def test_an_order_cancelled_while_placed_leaves_a_pending_payment_to_void(kitchen):
    order_id, _ = place(kitchen["customers"][0], body(kitchen))
    pipeline.validate(order_id)
    pipeline.reserve_stock(order_id)  # its authorize task is lost, then the customer cancels
    with unit_of_work() as s:
        commands.cancel_order(s, kitchen["customers"][0], order_id, None)
    assert _row(order_id)[:3] == (Status.CANCELLED, PaymentStatus.PENDING, False)
    _set(order_id, updated_at=utcnow() - timedelta(hours=1))
    assert _found(order_id) == steps.Step.VOID


def test_the_expiry_sweep_and_a_restaurant_rejection_release_the_marker(kitchen, gateway):
    expired, rejected = _awaiting(kitchen, gateway), _awaiting(kitchen, gateway)
    _set(expired, deadline_at=utcnow() - timedelta(seconds=1))
    assert expired in sweeps.expire_unaccepted(batch=100)
    assert _row(expired)[:3] == (Status.CANCELLED, PaymentStatus.AUTHORIZED, False)
    with unit_of_work() as s:
        commands.reject_order(s, kitchen["restaurant"], rejected, "closing early")
    assert _row(rejected)[:3] == (Status.REJECTED, PaymentStatus.AUTHORIZED, False)
    assert pipeline.void_payment(expired, gateway) is None
    assert _row(expired)[1:3] == (PaymentStatus.VOIDED, False)


def test_a_rejection_at_validation_or_payment_leaves_no_open_payment(kitchen, gateway):
    declined = _awaiting(kitchen, gateway, token="tok_decline")
    assert _row(declined)[:3] == (Status.REJECTED, PaymentStatus.DECLINED, False)
    with unit_of_work() as s:
        s.get(Restaurant, kitchen["restaurant"]).is_open = False
    invalid, _ = place(kitchen["customers"][0], body(kitchen))
    pipeline.validate(invalid)  # rejected (unavailable) before any payment exists
    assert _row(invalid)[:3] == (Status.REJECTED, None, None)


def test_a_move_that_keeps_the_order_held_never_touches_its_payment(kitchen):
    """PLACED -> AWAITING_ACCEPTANCE (and any status write that stays on one side) leaves
    the payment row as it was: the trigger's WHEN clause does not even call it."""
    order_id, _ = place(kitchen["customers"][0], body(kitchen))
    pipeline.validate(order_id)
    before = _row(order_id)
    with transaction() as conn:
        conn.execute(
            text("update orders set status = :s where id = :id"),
            {"s": Status.AWAITING_ACCEPTANCE.value, "id": order_id},
        )
    after = _row(order_id)
    assert after[0] == Status.AWAITING_ACCEPTANCE and after[1:] == before[1:]
    with transaction() as conn:  # across the line: the payment row gets a new version
        conn.execute(
            text("update orders set status = :s where id = :id"),
            {"s": Status.CONFIRMED.value, "id": order_id},
        )
    moved = _row(order_id)
    assert moved[2] is False and moved[3] != before[3]
    with transaction() as conn:  # CONFIRMED -> PREPARING: both not held, nothing written
        conn.execute(
            text("update orders set status = :s where id = :id"),
            {"s": Status.PREPARING.value, "id": order_id},
        )
    assert _row(order_id)[1:] == moved[1:]


def test_a_payment_inserted_for_an_order_that_moved_on_is_not_hidden(kitchen):
    """The app inserts payments only for PLACED orders; any other insert (a script, a
    future path) still gets the marker from the order's status."""
    order_id, _ = place(kitchen["customers"][0], body(kitchen))
    with transaction() as conn:
        conn.execute(
            text(
                "update orders set status = 'CANCELLED', reason = 'customer_cancelled'"
                " where id = :id"
            ),
            {"id": order_id},
        )
        conn.execute(
            text(
                "insert into payments (order_id, idempotency_key, amount_cents, status,"
                " updated_at) values (:id, :key, 1000, 'AUTHORIZED', now())"
            ),
            {"id": order_id, "key": f"marker-{order_id}"},
        )
    assert _row(order_id)[:3] == (Status.CANCELLED, PaymentStatus.AUTHORIZED, False)
