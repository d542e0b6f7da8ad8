"""The pipeline's decisions (app/orders/steps.py) over plain data: no service needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.lifecycle import InvalidTransition, PaymentStatus, Reason, Stage, Status, StockState
from app.orders import steps
from app.orders.draft import Draft, Line, OrderFacts, Pay
from app.orders.steps import MenuEntry, Shop, Step

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
STUCK = timedelta(seconds=30)
P, S = PaymentStatus, Status


def order(
    status=S.PLACED, stage=Stage.NEW, payment=None, stock=StockState.NONE, quantity=2, **kw
) -> OrderFacts:
    return OrderFacts(
        id=7,
        customer_id=3,
        restaurant_id=1,
        status=status,
        stage=stage,
        delivery_address="Rua A, 1",
        payment_token="tok_ok",
        created_at=NOW - timedelta(seconds=5),
        updated_at=NOW - timedelta(seconds=5),
        version=1,
        items=(
            Line(1, 10, quantity, stock_state=stock),
            Line(2, 11, 1, stock_state=stock),
            Line(3, 10, 1, stock_state=stock),
        ),
        payment=Pay("order-7-payment", 5000, payment) if payment else None,
        **kw,
    )


SHOP = Shop(
    is_open=True,
    menu={10: MenuEntry(10, "Feijoada", 1500, True), 11: MenuEntry(11, "Suco", 500, True)},
)


def events(draft: Draft) -> list[str]:
    return [str(e.type) for e in draft.events]


def timeline(draft: Draft) -> list[str]:
    return [t.event for t in draft.timeline]


# --- next step ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "stage", "payment", "step"),
    [
        (S.PLACED, Stage.NEW, None, Step.VALIDATE),
        (S.PLACED, Stage.VALIDATED, P.PENDING, Step.RESERVE),
        (S.PLACED, Stage.STOCK_RESERVED, P.PENDING, Step.AUTHORIZE),
        (S.AWAITING_ACCEPTANCE, Stage.AUTHORIZED, P.AUTHORIZED, None),
        (S.CONFIRMED, Stage.AUTHORIZED, P.AUTHORIZED, Step.CAPTURE),
        (S.DELIVERED, Stage.AUTHORIZED, P.AUTHORIZED, Step.CAPTURE),
        (S.CONFIRMED, Stage.AUTHORIZED, P.CAPTURED, None),
        (S.CANCELLED, Stage.AUTHORIZED, P.AUTHORIZED, Step.VOID),
        (S.REJECTED, Stage.STOCK_RESERVED, P.PENDING, Step.VOID),
        (S.REJECTED, Stage.NEW, None, None),
        (S.REJECTED, Stage.STOCK_RESERVED, P.DECLINED, None),
        (S.CANCELLED, Stage.AUTHORIZED, P.VOIDED, None),
    ],
)
def test_next_step(status, stage, payment, step):
    assert steps.step_for(status, stage, payment) == step


# --- validate -------------------------------------------------------------------------------


def test_validate_prices_the_lines_and_opens_the_payment():
    draft = steps.validate(order(), SHOP, NOW, STUCK)
    after = draft.order
    assert after.stage == Stage.VALIDATED and after.status == S.PLACED
    assert [(line.name, line.unit_price_cents) for line in after.items] == [
        ("Feijoada", 1500),
        ("Suco", 500),
        ("Feijoada", 1500),
    ]
    assert after.total_cents == 2 * 1500 + 500 + 1500
    assert after.payment == Pay("order-7-payment", 5000, P.PENDING) and draft.new_payment
    assert after.deadline_at == NOW + STUCK
    assert timeline(draft) == ["validated"] and draft.events == []
    assert after.version == 2 and steps.next_step(after) == Step.RESERVE


def test_validate_rejects_an_unknown_restaurant_or_item():
    assert steps.validate(order(), None, NOW, STUCK).order.reason == Reason.INVALID_ORDER
    short = Shop(True, {10: SHOP.menu[10]})
    draft = steps.validate(order(), short, NOW, STUCK)
    assert (draft.order.status, draft.order.reason) == (S.REJECTED, "invalid_order")
    assert timeline(draft) == ["rejected"] and events(draft) == ["order.rejected"]
    assert draft.order.deadline_at is None and draft.released == []


def test_validate_rejects_a_closed_restaurant_or_unavailable_item():
    closed = Shop(False, SHOP.menu)
    assert steps.validate(order(), closed, NOW, STUCK).order.reason == "unavailable"
    off = Shop(True, {**SHOP.menu, 11: MenuEntry(11, "Suco", 500, False)})
    assert steps.validate(order(), off, NOW, STUCK).order.reason == "unavailable"


def test_validate_when_it_is_not_its_turn_changes_nothing():
    for facts in (order(stage=Stage.VALIDATED, payment=P.PENDING), order(status=S.CANCELLED)):
        draft = steps.validate(facts, SHOP, NOW, STUCK)
        assert not draft.changed and draft.timeline == []


# --- reserve --------------------------------------------------------------------------------


def test_stock_wanted_sums_lines_per_item_in_lock_order():
    assert steps.stock_wanted(order(stage=Stage.VALIDATED, payment=P.PENDING)) == [(10, 3), (11, 1)]
    assert steps.stock_wanted(order()) is None  # not validated yet


def test_reserved_marks_the_lines_and_moves_on():
    draft = steps.reserved(order(stage=Stage.VALIDATED, payment=P.PENDING), True, NOW, STUCK)
    assert {line.stock_state for line in draft.order.items} == {StockState.RESERVED}
    assert draft.order.stage == Stage.STOCK_RESERVED and timeline(draft) == ["stock_reserved"]
    assert steps.next_step(draft.order) == Step.AUTHORIZE


def test_out_of_stock_rejects_with_nothing_to_release():
    draft = steps.reserved(order(stage=Stage.VALIDATED, payment=P.PENDING), False, NOW, STUCK)
    assert (draft.order.status, draft.order.reason) == (S.REJECTED, "out_of_stock")
    assert draft.released == [] and steps.next_step(draft.order) == Step.VOID


# --- authorize ------------------------------------------------------------------------------

RESERVED = dict(stage=Stage.STOCK_RESERVED, payment=P.PENDING, stock=StockState.RESERVED)


def test_authorized_moves_to_awaiting_acceptance_in_the_same_draft():
    draft = steps.authorized(order(**RESERVED), "authorized", NOW, timedelta(seconds=300))
    after = draft.order
    assert (after.status, after.stage, after.payment.status) == (
        S.AWAITING_ACCEPTANCE,
        Stage.AUTHORIZED,
        P.AUTHORIZED,
    )
    assert after.deadline_at == NOW + timedelta(seconds=300)
    assert timeline(draft) == ["payment_authorized", "awaiting_acceptance"]
    assert events(draft) == ["payment.authorized", "order.awaiting_acceptance"]
    moved = draft.events[1].data
    assert (moved["from"], moved["to"], moved["version"]) == ("PLACED", "AWAITING_ACCEPTANCE", 3)
    assert moved["order"]["status"] == "AWAITING_ACCEPTANCE"
    assert moved["order"]["payment"]["status"] == "AUTHORIZED"


def test_declined_rejects_and_releases_the_stock():
    draft = steps.authorized(order(**RESERVED), "declined", NOW, timedelta(seconds=300))
    assert (draft.order.status, draft.order.reason) == (S.REJECTED, "payment_declined")
    assert draft.order.payment.status == P.DECLINED
    assert timeline(draft) == ["payment_declined", "rejected", "stock_released"]
    assert events(draft) == ["payment.declined", "order.rejected"]
    assert draft.released == [(10, 3), (11, 1)]
    assert {line.stock_state for line in draft.order.items} == {StockState.RELEASED}
    assert steps.next_step(draft.order) is None


def test_an_authorization_for_an_order_cancelled_meanwhile_is_recorded_not_moved():
    dead = order(status=S.CANCELLED, **{**RESERVED, "stock": StockState.RELEASED})
    draft = steps.authorized(dead, "authorized", NOW, timedelta(seconds=300))
    assert draft.order.status == S.CANCELLED and draft.order.payment.status == P.AUTHORIZED
    assert steps.next_step(draft.order) == Step.VOID


def test_voided_before_authorization_and_repeats():
    draft = steps.authorized(order(**RESERVED), "voided", NOW, timedelta(seconds=300))
    assert draft.order.payment.status == P.VOIDED and events(draft) == []
    again = steps.authorized(draft.order, "authorized", NOW, timedelta(seconds=300))
    assert not again.changed  # a repeated task: the outcome is already recorded


# --- capture, void, give up, expire ---------------------------------------------------------

AUTH = dict(stage=Stage.AUTHORIZED, payment=P.AUTHORIZED, stock=StockState.SOLD)


def test_capture_once():
    draft = steps.captured(order(status=S.CONFIRMED, **AUTH), "captured", NOW)
    assert draft.order.payment.status == P.CAPTURED and events(draft) == ["payment.captured"]
    assert not steps.captured(draft.order, "captured", NOW).changed


def test_void_publishes_only_when_money_was_held():
    dead = order(status=S.CANCELLED, **{**AUTH, "stock": StockState.RELEASED})
    assert events(steps.voided(dead, "authorized", NOW)) == ["payment.voided"]
    pending = order(status=S.REJECTED, stage=Stage.STOCK_RESERVED, payment=P.PENDING)
    draft = steps.voided(pending, "none", NOW)
    assert draft.order.payment.status == P.VOIDED and events(draft) == []
    assert timeline(draft) == ["payment_voided"]
    assert not steps.voided(draft.order, "voided", NOW).changed


def test_give_up_names_the_step_never_the_error():
    draft = steps.give_up(order(**RESERVED), Step.AUTHORIZE, NOW)
    assert (draft.order.status, draft.order.reason) == (S.REJECTED, "payment_declined")
    assert draft.timeline[0].detail == "authorize failed permanently"
    assert not steps.give_up(order(**RESERVED), Step.VALIDATE, NOW).changed  # not its turn
    assert steps.give_up(order(), Step.VALIDATE, NOW).order.reason == "invalid_order"


def test_expire_cancels_only_past_the_deadline():
    held = {**AUTH, "stock": StockState.RESERVED}
    late = order(status=S.AWAITING_ACCEPTANCE, deadline_at=NOW - timedelta(seconds=1), **held)
    draft = steps.expire(late, NOW)
    assert (draft.order.status, draft.order.reason) == (S.CANCELLED, "acceptance_timeout")
    assert draft.released == [(10, 3), (11, 1)] and events(draft) == ["order.cancelled"]
    assert timeline(draft) == ["cancelled", "stock_released"] and draft.order.deadline_at is None
    on_time = order(status=S.AWAITING_ACCEPTANCE, deadline_at=NOW + timedelta(seconds=1), **AUTH)
    assert not steps.expire(on_time, NOW).changed


def test_a_draft_refuses_a_move_the_table_forbids():
    with pytest.raises(InvalidTransition):
        Draft(order(status=S.DELIVERED), NOW).move(S.CONFIRMED)


# --- the stuck-order sweep ------------------------------------------------------------------


def candidate(**kw) -> steps.StuckCandidate:
    base = dict(
        id=7,
        status=S.PLACED,
        stage=Stage.VALIDATED,
        payment=P.PENDING,
        deadline_at=NOW - timedelta(seconds=1),
        updated_at=NOW - timedelta(minutes=5),
        redrive_count=0,
        next_redrive_at=None,
    )
    return steps.StuckCandidate(**{**base, **kw})


def test_a_stuck_placed_order_is_redriven_and_its_pipeline_deadline_pushed():
    plan = steps.redrive(candidate(), NOW, STUCK)
    assert plan == steps.Redrive(7, Step.RESERVE, 1, NOW + steps.REDRIVE_BASE, NOW + STUCK)


def test_an_acceptance_deadline_is_never_touched():
    plan = steps.redrive(candidate(status=S.CONFIRMED, payment=P.AUTHORIZED), NOW, STUCK)
    assert plan.step == Step.CAPTURE and plan.deadline_at is None
    awaiting = candidate(status=S.AWAITING_ACCEPTANCE, payment=P.AUTHORIZED)
    assert steps.redrive(awaiting, NOW, STUCK) is None


def test_redrive_backs_off_and_never_comes_before_its_time():
    assert steps.redrive(candidate(next_redrive_at=NOW + timedelta(seconds=1)), NOW, STUCK) is None
    delays = [
        steps.redrive(candidate(redrive_count=n), NOW, STUCK).next_redrive_at - NOW
        for n in range(8)
    ]
    assert delays[:3] == [timedelta(seconds=15), timedelta(seconds=30), timedelta(seconds=60)]
    assert delays == sorted(delays) and delays[-1] == steps.REDRIVE_MAX


def test_nothing_to_redrive():
    assert steps.redrive(candidate(deadline_at=NOW + timedelta(seconds=5)), NOW, STUCK) is None
    recent = candidate(status=S.CANCELLED, updated_at=NOW - timedelta(seconds=5))
    assert steps.redrive(recent, NOW, STUCK) is None
    settled = candidate(status=S.CANCELLED, payment=P.VOIDED)
    assert steps.redrive(settled, NOW, STUCK) is None
    assert steps.redrive(candidate(status=S.CANCELLED), NOW, STUCK).step == Step.VOID
