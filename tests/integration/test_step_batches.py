"""The pipeline steps over a batch of orders (database comanda_test, no workers attached):
each order decided on its own, all written in one transaction, and the batch costing the
round trips of one order, whatever its size."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.db import read_only
from app.core.lifecycle import Stage, Status
from app.core.models import MenuItem, Order, OutboxEvent
from app.orders import pipeline
from app.orders.steps import Step
from app.payments.gateway import GatewayTransientError, SimulatedGateway
from tests.integration.test_step_round_trips import counting
from tests.support.usecases import body, new_kitchen, place

pytestmark = pytest.mark.integration


def orders(ids: list[int]) -> dict[int, Order]:
    with read_only() as s:
        found = {o.id: o for o in s.scalars(select(Order).where(Order.id.in_(ids)))}
        for o in found.values():
            s.expunge(o)
        return found


def round_trips(run) -> int:
    with counting() as seen:
        run()
    return sum(seen.values())


def test_a_batch_costs_the_round_trips_of_one_order(on_test_db):
    kitchen = new_kitchen(stock=100, customers=6)
    one = [place(kitchen["customers"][0], body(kitchen))[0]]
    many = [place(c, body(kitchen))[0] for c in kitchen["customers"][1:]]
    gateway = SimulatedGateway()
    pipeline.validate_many([place(kitchen["customers"][0], body(kitchen))[0]])  # warm the pool
    steps = [
        lambda ids: pipeline.validate_many(ids),
        lambda ids: pipeline.reserve_many(ids),
    ]
    for step in steps:
        alone, batch = round_trips(lambda s=step: s(one)), round_trips(lambda s=step: s(many))
        # A batch of one takes the single-order statements ("=" instead of ANY) and the
        # stock claim of one order in one statement; a batch locks its items first.
        assert batch <= alone + 1, (alone, batch)
    # The gateway's own statement is one per order (a call each); the rest is shared.
    alone = round_trips(lambda: pipeline.authorize_many(one, gateway))
    batch = round_trips(lambda: pipeline.authorize_many(many, gateway))
    assert batch - len(many) <= alone - 1, (alone, batch)
    after = orders(one + many)
    assert {o.status for o in after.values()} == {Status.AWAITING_ACCEPTANCE.value}


def test_each_order_of_a_batch_is_decided_on_its_own(on_test_db):
    kitchen = new_kitchen(stock=100, customers=4)
    closed = new_kitchen(stock=100, customers=0)
    ids = [place(c, body(kitchen))[0] for c in kitchen["customers"][:3]]
    elsewhere = place(kitchen["customers"][3], body(closed))[0]
    from app.core.db import unit_of_work
    from app.core.models import Restaurant

    with unit_of_work() as s:
        s.get(Restaurant, closed["restaurant"]).is_open = False
    assert pipeline.validate(ids[0]) == Step.RESERVE  # validated already: not its turn now
    after = pipeline.validate_many([*ids, elsewhere, 10**9])
    assert after == {
        ids[0]: Step.RESERVE,  # says what it needs next, and is left as it was
        ids[1]: Step.RESERVE,
        ids[2]: Step.RESERVE,
        elsewhere: None,  # rejected: the restaurant closed
        10**9: None,  # no such order
    }
    found = orders([*ids, elsewhere])
    assert [found[i].stage for i in ids] == [Stage.VALIDATED.value] * 3
    assert found[elsewhere].status == Status.REJECTED.value
    assert found[elsewhere].reason == "unavailable"


def test_a_batch_serves_its_orders_in_turn_from_the_stock_there_is(on_test_db):
    kitchen = new_kitchen(stock=5, customers=4)
    other = new_kitchen(stock=5, customers=0)
    two, three, two_more = (
        place(c, body(kitchen, quantity=q))[0]
        for c, q in zip(kitchen["customers"], (2, 4, 2), strict=False)
    )
    elsewhere = place(kitchen["customers"][3], body(other, quantity=5))[0]
    ids = [two, three, two_more, elsewhere]
    pipeline.validate_many(ids)
    after = pipeline.reserve_many(ids)
    # 5 units: the first order takes 2; 4 more cannot be served, so that order is rejected
    # and leaves its units to the next, which takes 2. The other kitchen's dish is apart.
    assert after == {
        two: Step.AUTHORIZE,
        three: Step.VOID,
        two_more: Step.AUTHORIZE,
        elsewhere: Step.AUTHORIZE,
    }
    found = orders(ids)
    assert found[three].status == Status.REJECTED.value
    assert found[three].reason == "out_of_stock"
    with read_only() as s:
        assert s.get(MenuItem, kitchen["item"]).stock == 1
        assert s.get(MenuItem, other["item"]).stock == 0
    assert pipeline.reserve_many(ids) == {
        two: Step.AUTHORIZE,
        three: Step.VOID,
        two_more: Step.AUTHORIZE,
        elsewhere: Step.AUTHORIZE,
    }
    with read_only() as s:  # a repeated batch takes nothing twice
        assert s.get(MenuItem, kitchen["item"]).stock == 1


def test_a_gateway_failure_holds_back_only_its_own_order(on_test_db):
    kitchen = new_kitchen(stock=10, customers=3)
    ok = [place(c, body(kitchen))[0] for c in kitchen["customers"][:2]]
    flaky = place(kitchen["customers"][2], body(kitchen, token="tok_flaky"))[0]
    ids = [ok[0], flaky, ok[1]]
    pipeline.validate_many(ids)
    pipeline.reserve_many(ids)
    gateway = SimulatedGateway()
    with pytest.raises(GatewayTransientError):  # the task retries on this
        pipeline.authorize_many(ids, gateway)
    found = orders(ids)
    assert [found[i].status for i in ok] == [Status.AWAITING_ACCEPTANCE.value] * 2
    assert found[flaky].status == Status.PLACED.value
    with pytest.raises(GatewayTransientError):  # tok_flaky fails twice, then authorizes
        pipeline.authorize_many(ids, gateway)
    assert pipeline.authorize_many(ids, gateway) == dict.fromkeys(ids)
    assert orders(ids)[flaky].status == Status.AWAITING_ACCEPTANCE.value


def test_each_event_of_a_batch_carries_its_own_request_id(on_test_db):
    kitchen = new_kitchen(stock=10, customers=2)
    ids = [place(c, body(kitchen))[0] for c in kitchen["customers"]]
    traces = {ids[0]: "trace-of-the-first-order", ids[1]: "trace-of-the-second-order"}
    pipeline.validate_many(ids, traces)
    pipeline.reserve_many(ids, traces)
    pipeline.authorize_many(ids, SimulatedGateway(), traces)
    with read_only() as s:
        rows = s.execute(
            select(OutboxEvent.payload["order_id"].as_integer(), OutboxEvent.headers)
            .where(OutboxEvent.payload["order_id"].as_integer().in_(ids))
            .where(OutboxEvent.payload["type"].as_string() != "order.placed")
        ).all()
    assert len(rows) >= 4, rows  # payment.authorized and order.awaiting_acceptance, each
    assert all(headers["correlation_id"] == traces[order_id] for order_id, headers in rows)
