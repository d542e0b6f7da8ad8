"""The sweeps against the real PostgreSQL (database comanda_test, no workers attached):
open bugs 3 and 4 of tests/chaos/README.md, deterministically, and an acceptance-deadline
storm at a bounded size."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from app.core.db import read_only, transaction, unit_of_work
from app.core.lifecycle import PaymentStatus, Stage, Status
from app.core.models import MenuItem, Order, OutboxEvent, utcnow
from app.orders import commands, facts, pipeline, steps, sweeps
from app.payments.gateway import SimulatedGateway
from tests.conftest import wait_until
from tests.support.usecases import body, new_kitchen, place, someone_waits_for

pytestmark = pytest.mark.integration


@pytest.fixture
def kitchen(on_test_db):
    """A restaurant with plenty of stock and a few customers."""
    return new_kitchen(stock=10_000, customers=4)


def _set(order_id: int, **columns) -> None:
    with unit_of_work() as s:
        order = s.get(Order, order_id)
        for name, value in columns.items():
            setattr(order, name, value)


def test_bug3_the_sweep_never_overwrites_an_acceptance_deadline(kitchen):
    """The sweep locks its candidate; the worker's move to AWAITING_ACCEPTANCE waits for the
    sweep's commit and then sets the restaurant's deadline, which stays."""
    gateway = SimulatedGateway()
    order_id, _ = place(kitchen["customers"][0], body(kitchen))
    pipeline.validate(order_id)
    pipeline.reserve_stock(order_id)
    _set(order_id, deadline_at=utcnow() - timedelta(seconds=1))  # its authorize task was lost
    moved = {}

    with transaction() as conn:
        # The sweep's pass, held open (what took a second under overload in the chaos run).
        me = conn.execute(text("select pg_backend_pid()")).scalar()
        due = sweeps.stuck_orders_in(conn, limit=10_000)
        assert (order_id, steps.Step.AUTHORIZE) in due
        worker = threading.Thread(
            target=lambda: moved.setdefault("next", pipeline.authorize_payment(order_id, gateway))
        )
        worker.start()
        # The worker's recording transaction is now blocked on the sweep's row lock.
        wait_until(
            lambda: someone_waits_for(me), timeout=30, interval=0.05, message="the worker blocked"
        )
    worker.join(30)
    with read_only() as s:
        order = s.get(Order, order_id)
        assert order.status == Status.AWAITING_ACCEPTANCE
        left = (order.deadline_at - utcnow()).total_seconds()
        assert 250 < left <= 300  # the restaurant's 300 s, not the sweep's 30 s


def test_bug3_the_sweep_skips_an_order_a_worker_holds(kitchen):
    order_id, _ = place(kitchen["customers"][1], body(kitchen))
    pipeline.validate(order_id)
    _set(order_id, deadline_at=utcnow() - timedelta(seconds=1))
    with transaction() as conn:
        facts.load(conn, order_id)  # a worker holds the order
        assert order_id not in dict(sweeps.stuck_orders(limit=10_000))
    assert order_id in dict(sweeps.stuck_orders(limit=10_000))  # next pass, once released


def test_bug4_a_stuck_order_is_redriven_with_backoff_not_on_every_pass(kitchen):
    gateway = SimulatedGateway()
    order_id, _ = place(kitchen["customers"][2], body(kitchen))
    pipeline.validate(order_id)
    pipeline.reserve_stock(order_id)
    pipeline.authorize_payment(order_id, gateway)
    with unit_of_work() as s:
        commands.accept_order(s, kitchen["restaurant"], order_id)  # ...its capture task lost
    _set(order_id, updated_at=utcnow() - timedelta(hours=1))
    assert dict(sweeps.stuck_orders(limit=10_000)).get(order_id) == steps.Step.CAPTURE
    for _ in range(5):  # the following passes leave it alone
        assert order_id not in dict(sweeps.stuck_orders(limit=10_000))
    with read_only() as s:
        order = s.get(Order, order_id)
        assert order.redrive_count == 1
        first_wait = order.next_redrive_at - utcnow()
    assert timedelta(seconds=10) < first_wait <= steps.REDRIVE_BASE
    _set(order_id, next_redrive_at=utcnow() - timedelta(seconds=1))  # its backoff has passed
    assert dict(sweeps.stuck_orders(limit=10_000)).get(order_id) == steps.Step.CAPTURE
    with read_only() as s:
        order = s.get(Order, order_id)
        assert order.redrive_count == 2
        assert order.next_redrive_at - utcnow() > first_wait  # and it waits longer now
    assert pipeline.capture_payment(order_id, gateway) is None
    _set(order_id, next_redrive_at=utcnow() - timedelta(seconds=1))
    assert order_id not in dict(sweeps.stuck_orders(limit=10_000))  # nothing left to do


def test_a_storm_of_expired_acceptance_deadlines_is_cleared_in_one_pass(kitchen):
    """A bounded storm: 240 orders past their acceptance deadline are cancelled by one
    sweep pass (in batches of 100), their stock given back, one order.cancelled event each,
    while orders placed meanwhile go through the pipeline untouched."""
    gateway, storm, customer = SimulatedGateway(), 240, kitchen["customers"][3]
    ids = []
    for _ in range(storm):
        order_id, _ = place(customer, body(kitchen))
        for step in (pipeline.validate, pipeline.reserve_stock):
            step(order_id)
        pipeline.authorize_payment(order_id, gateway)
        ids.append(order_id)
    with unit_of_work() as s:
        s.execute(
            Order.__table__.update()
            .where(Order.id.in_(ids))
            .values(deadline_at=utcnow() - timedelta(seconds=1))
        )
        stock_before = s.get(MenuItem, kitchen["item"]).stock
    fresh: list[int] = []

    def keep_ordering() -> None:
        for _ in range(10):
            order_id, _ = place(customer, body(kitchen))
            pipeline.validate(order_id)
            pipeline.reserve_stock(order_id)
            pipeline.authorize_payment(order_id, gateway)
            fresh.append(order_id)

    flowing = threading.Thread(target=keep_ordering)
    flowing.start()
    expired = sweeps.expire_unaccepted(batch=100)
    flowing.join(60)
    assert set(ids) <= set(expired)
    assert not set(fresh) & set(expired)
    with read_only() as s:
        statuses = dict(s.execute(select(Order.id, Order.status).where(Order.id.in_(ids))).all())
        assert set(statuses.values()) == {Status.CANCELLED}
        assert s.get(MenuItem, kitchen["item"]).stock == stock_before + storm - len(fresh)
        cancelled = s.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(
                OutboxEvent.payload["type"].astext == "order.cancelled",
                OutboxEvent.payload["order_id"].as_integer().in_(ids),
            )
        )
        assert cancelled == storm
        fresh_statuses = s.scalars(select(Order.status).where(Order.id.in_(fresh))).all()
        assert set(fresh_statuses) == {Status.AWAITING_ACCEPTANCE}
    for order_id in ids:  # the voids the order.cancelled events ask for
        assert pipeline.void_payment(order_id, gateway) is None
    with read_only() as s:
        payments = s.execute(
            select(Order.stage, func.count()).where(Order.id.in_(ids)).group_by(Order.stage)
        ).all()
        assert payments == [(Stage.AUTHORIZED, storm)]
        voided = s.scalar(
            text("select count(*) from payments where order_id = any(:ids) and status = :s"),
            {"ids": ids, "s": PaymentStatus.VOIDED.value},
        )
        assert voided == storm
