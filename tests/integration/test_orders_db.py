"""Use cases against the real PostgreSQL (database comanda_test, no workers attached):
concurrency of stock claims and idempotency keys, gateway idempotency, and the rule that
every change writes its timeline row and its event in the same transaction."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from app.core.db import read_only, unit_of_work
from app.core.errors import Conflict
from app.core.lifecycle import Stage, Status
from app.core.models import (
    GatewayCharge,
    MenuItem,
    Order,
    OutboxEvent,
    TimelineEntry,
)
from app.orders import commands, pipeline, sweeps
from app.payments.gateway import GatewayTransientError, SimulatedGateway
from tests.support.usecases import body, new_kitchen, place, someone_waits_for

pytestmark = pytest.mark.integration


@pytest.fixture
def db_shop(on_test_db):
    return new_kitchen(stock=5, customers=12)


def drive(order_id, gateway):
    step = pipeline.Step.VALIDATE
    run = {
        pipeline.Step.VALIDATE: lambda: pipeline.validate(order_id),
        pipeline.Step.RESERVE: lambda: pipeline.reserve_stock(order_id),
        pipeline.Step.AUTHORIZE: lambda: pipeline.authorize_payment(order_id, gateway),
        pipeline.Step.VOID: lambda: pipeline.void_payment(order_id, gateway),
    }
    while step is not None:
        try:
            step = run[step]()
        except GatewayTransientError:
            continue


def test_twelve_concurrent_orders_for_five_units_never_oversell(db_shop):
    gateway = SimulatedGateway()
    ids = [place(c, body(db_shop))[0] for c in db_shop["customers"]]
    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(lambda i: drive(i, gateway), ids))
    with read_only() as s:
        statuses = [s.get(Order, i) for i in ids]
        assert sum(o.status == Status.AWAITING_ACCEPTANCE for o in statuses) == 5
        assert sum(o.reason == "out_of_stock" for o in statuses) == 7
        assert s.get(MenuItem, db_shop["item"]).stock == 0


def test_same_idempotency_key_raced_gives_one_order(db_shop):
    key, customer = uuid.uuid4().hex, db_shop["customers"][0]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: place(customer, body(db_shop), key), range(8)))
    assert len({order_id for order_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with pytest.raises(Conflict):
        place(customer, body(db_shop, quantity=2), key)


def test_repeated_steps_do_nothing_twice(db_shop):
    gateway = SimulatedGateway()
    order_id, _ = place(db_shop["customers"][0], body(db_shop, token="tok_flaky"))
    drive(order_id, gateway)
    for _ in range(3):  # a redelivered task, a re-driven order
        pipeline.validate(order_id)
        pipeline.reserve_stock(order_id)
        pipeline.authorize_payment(order_id, gateway)
    with read_only() as s:
        charge = s.get(GatewayCharge, f"order-{order_id}-payment")
        assert (charge.attempts, charge.authorizations) == (3, 1)
        assert s.get(MenuItem, db_shop["item"]).stock == 4
        events = s.scalars(
            select(OutboxEvent.payload["type"].astext).where(
                OutboxEvent.payload["order_id"].as_integer() == order_id
            )
        ).all()
    assert events == ["order.placed", "payment.authorized", "order.awaiting_acceptance"]


def test_every_status_change_has_its_timeline_row_and_event(db_shop):
    gateway = SimulatedGateway()
    order_id, _ = place(db_shop["customers"][1], body(db_shop))
    drive(order_id, gateway)
    with unit_of_work() as s:
        commands.accept_order(s, db_shop["restaurant"], order_id)
    for step in (Status.PREPARING, Status.READY, Status.DISPATCHED, Status.DELIVERED):
        with unit_of_work() as s:
            commands.advance_order(s, db_shop["restaurant"], order_id, step)
    pipeline.capture_payment(order_id, gateway)
    with read_only() as s:
        order = s.get(Order, order_id)
        status, paid = order.status, order.payment.status
        moves = [t.event for t in order.timeline]
        kinds = s.scalars(
            select(OutboxEvent.payload["type"].astext)
            .where(OutboxEvent.payload["order_id"].as_integer() == order_id)
            .order_by(OutboxEvent.id)
        ).all()
        rows = s.scalar(
            select(func.count())
            .select_from(TimelineEntry)
            .where(TimelineEntry.order_id == order_id)
        )
    assert status == Status.DELIVERED and paid == "CAPTURED"
    assert moves[-6:-1] == ["accepted", "preparing", "ready", "dispatched", "delivered"]
    assert kinds.count("order.status_changed") == 4 and kinds.count("order.accepted") == 1
    assert kinds.count("payment.captured") == 1 and rows == len(moves)


def test_tenant_scoping_is_in_the_query(db_shop):
    order_id, _ = place(db_shop["customers"][2], body(db_shop))
    from app.core.errors import NotFound

    with pytest.raises(NotFound), unit_of_work() as s:
        commands.accept_order(s, db_shop["restaurant"] + 100000, order_id)
    with pytest.raises(NotFound), unit_of_work() as s:
        commands.cancel_order(s, db_shop["customers"][3], order_id, None)


def test_a_lost_gateway_reply_is_resolved_by_lookup_never_a_second_charge(db_shop):
    gateway = SimulatedGateway()
    order_id, _ = place(db_shop["customers"][4], body(db_shop, token="tok_timeout"))
    drive(order_id, gateway)
    with read_only() as s:
        assert s.get(Order, order_id).status == Status.AWAITING_ACCEPTANCE
        charge = s.get(GatewayCharge, f"order-{order_id}-payment")
        assert (charge.status, charge.attempts, charge.authorizations) == ("authorized", 1, 1)


def test_a_step_that_fails_for_good_ends_the_order_with_a_reason(db_shop):
    gateway = SimulatedGateway()
    order_id, _ = place(db_shop["customers"][5], body(db_shop, quantity=2, token="tok_flaky"))
    pipeline.validate(order_id)
    pipeline.reserve_stock(order_id)
    with pytest.raises(GatewayTransientError):
        pipeline.authorize_payment(order_id, gateway)
    assert pipeline.give_up(order_id, pipeline.Step.AUTHORIZE, "retries exhausted")
    assert not pipeline.give_up(order_id, pipeline.Step.AUTHORIZE, "again")  # idempotent
    assert pipeline.void_payment(order_id, gateway) is None
    with read_only() as s:
        order = s.get(Order, order_id)
        assert (order.status, order.reason, order.payment.status) == (
            Status.REJECTED,
            "payment_declined",
            "VOIDED",
        )
        assert s.get(MenuItem, db_shop["item"]).stock == 5
        assert s.get(GatewayCharge, f"order-{order_id}-payment").status == "voided"


def _age(order_id: int, **columns) -> None:
    with unit_of_work() as s:
        order = s.get(Order, order_id)
        for name, value in columns.items():
            setattr(order, name, value)


def test_the_sweep_finds_each_kind_of_lost_step(db_shop):
    from datetime import timedelta

    from app.core.models import utcnow

    gateway, past = SimulatedGateway(), utcnow() - timedelta(hours=1)
    lost_reserve, _ = place(db_shop["customers"][6], body(db_shop))
    pipeline.validate(lost_reserve)  # ...and the reserve_stock task was lost
    to_capture, _ = place(db_shop["customers"][7], body(db_shop))
    drive(to_capture, gateway)
    with unit_of_work() as s:
        commands.accept_order(s, db_shop["restaurant"], to_capture)  # ...capture task lost
    to_void, _ = place(db_shop["customers"][8], body(db_shop))
    drive(to_void, gateway)
    with unit_of_work() as s:
        commands.cancel_order(s, db_shop["customers"][8], to_void, None)  # ...void task lost
    fresh, _ = place(db_shop["customers"][9], body(db_shop))  # within its deadline: left alone
    _age(lost_reserve, deadline_at=past)
    _age(to_capture, updated_at=past)
    _age(to_void, updated_at=past)
    due = dict(sweeps.stuck_orders(limit=10_000))
    assert due.get(lost_reserve) == pipeline.Step.RESERVE
    assert due.get(to_capture) == pipeline.Step.CAPTURE
    assert due.get(to_void) == pipeline.Step.VOID
    assert fresh not in due
    # re-driving pushed the PLACED order's deadline forward, and backs off
    assert lost_reserve not in dict(sweeps.stuck_orders(limit=10_000))


def test_acceptance_timeout_cancels_and_releases(db_shop):
    from datetime import timedelta

    from app.core.models import utcnow

    gateway = SimulatedGateway()
    order_id, _ = place(db_shop["customers"][10], body(db_shop, quantity=2))
    drive(order_id, gateway)
    _age(order_id, deadline_at=utcnow() - timedelta(seconds=1))
    assert order_id in sweeps.expire_unaccepted()
    assert pipeline.void_payment(order_id, gateway) is None
    with read_only() as s:
        order = s.get(Order, order_id)
        assert (order.status, order.reason, order.payment.status) == (
            Status.CANCELLED,
            "acceptance_timeout",
            "VOIDED",
        )
        assert s.get(MenuItem, db_shop["item"]).stock == 5
    assert order_id not in sweeps.expire_unaccepted()


def test_a_cancel_that_waited_for_a_reserve_sees_and_releases_its_stock(db_shop):
    """Found by the chaos harness: a cancel blocked on the order's row lock while
    reserve_stock committed must release the stock that reserve took.

    The reserve commits only once PostgreSQL shows the cancel's backend blocked by the
    reserve's (pg_blocking_pids), so the race this test is about always happens."""
    import threading

    from sqlalchemy import text

    from app.orders import stock
    from app.orders.changes import lock_order, note
    from tests.conftest import wait_until

    customer = db_shop["customers"][11]
    order_id, _ = place(customer, body(db_shop, quantity=2))
    pipeline.validate(order_id)
    reserved, outcome = threading.Event(), {}

    def reserve_then_wait_for_the_cancel():
        with unit_of_work() as s:
            pid = s.scalar(text("select pg_backend_pid()"))
            order = lock_order(s, order_id)
            assert stock.reserve(s, order)
            order.stage = Stage.STOCK_RESERVED
            note(s, order, "stock_reserved")
            reserved.set()
            outcome["cancel_waited"] = wait_until(
                lambda: someone_waits_for(pid),
                timeout=20,
                message="the cancel blocked on the row lock",
            )

    def cancel():
        reserved.wait(10)
        with unit_of_work() as s:
            order = commands.cancel_order(s, customer, order_id, None)
            outcome["states"] = [line.stock_state for line in order.items]

    threads = [
        threading.Thread(target=reserve_then_wait_for_the_cancel),
        threading.Thread(target=cancel),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcome.get("cancel_waited") is True
    assert outcome["states"] == ["released"]
    with read_only() as s:
        assert s.get(MenuItem, db_shop["item"]).stock == 5
