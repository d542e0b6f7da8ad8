"""The chaos checker's own logic, on hand-made data (no services): a checker that cannot
fail proves nothing, so each invariant is shown catching what it is meant to catch."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.chaos import invariants as inv
from tests.chaos.kafka_io import GROUPS, Record
from tests.chaos.ledger import ACCEPTED, Action, Attempt, Ledger

pytestmark = pytest.mark.unit
T0 = 1_800_000_000.0


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


def row(seconds: float, status: str, event: str) -> dict:
    return {"at": at(seconds), "status": status, "event": event, "detail": None}


def world(**over) -> inv.World:
    base = dict(
        now=T0 + 1000, orders={}, items={}, payments={}, charges={}, timeline={}, outbox={},
        idem={}, menu={}, feed=set(), projected=set(), proj_orders={}, kafka_orders=[],
        kafka_dlq=[],
    )  # fmt: skip
    base.update(over)
    return inv.World(**base)


def order(oid: int, status: str, reason: str | None = None, token: str = "tok_ok") -> dict:
    return {
        "id": oid, "customer_id": 7, "restaurant_id": 3, "status": status, "reason": reason,
        "stage": "authorized", "deadline_at": None, "total_cents": 1000, "payment_token": token,
    }  # fmt: skip


def attempt(ledger: Ledger, oid: int, *actions: Action, token: str = "tok_ok") -> Attempt:
    body = {"restaurant_id": 3, "items": [{"menu_item_id": 1, "quantity": 1}]}
    a = Attempt(f"k{oid}", 7, 3, body, token, frozenset(), T0)
    a.outcome, a.order_id, a.actions = ACCEPTED, oid, list(actions)
    ledger.attempts[a.key] = a
    ledger.by_order[oid] = a
    return a


def test_moves_and_statuses_during():
    rows = [
        row(0, "PLACED", "placed"),
        row(1, "PLACED", "validated"),
        row(2, "AWAITING_ACCEPTANCE", "awaiting_acceptance"),
        row(5, "CONFIRMED", "accepted"),
    ]
    assert [m[:2] for m in inv.moves(rows)] == [
        (None, "PLACED"), ("PLACED", "AWAITING_ACCEPTANCE"), ("AWAITING_ACCEPTANCE", "CONFIRMED"),
    ]  # fmt: skip
    assert inv.statuses_during(rows, T0 + 3, T0 + 3.5) == {"AWAITING_ACCEPTANCE"}
    assert inv.statuses_during(rows, T0 + 4.5, T0 + 6) == {"AWAITING_ACCEPTANCE", "CONFIRMED"}


def test_refusals_follow_the_contract():
    assert not inv.refused_in("cancel", "AWAITING_ACCEPTANCE")
    assert inv.refused_in("cancel", "CONFIRMED")
    assert inv.refused_in("accept", "PLACED")
    assert not inv.refused_in("READY", "PREPARING")
    assert inv.refused_in("DELIVERED", "PREPARING")


def test_a_cancel_answered_202_must_end_cancelled():
    ledger = Ledger()
    attempt(ledger, 1, Action("cancel", "202", T0 + 3, T0 + 3.1))
    w = world(orders={1: order(1, "CONFIRMED")}, timeline={1: []})
    assert inv.check_consistent(w, ledger).violations
    w = world(orders={1: order(1, "CANCELLED", "customer_cancelled")}, timeline={1: []})
    assert not inv.check_consistent(w, ledger).violations


def test_a_409_while_the_order_was_cancellable_is_caught():
    ledger = Ledger()
    attempt(ledger, 1, Action("cancel", "409", T0 + 3, T0 + 3.1))
    rows = [row(0, "PLACED", "placed"), row(2, "AWAITING_ACCEPTANCE", "awaiting_acceptance")]
    w = world(orders={1: order(1, "AWAITING_ACCEPTANCE")}, timeline={1: rows})
    assert inv.check_action_answers(w, ledger).violations
    rows.append(row(3.05, "CONFIRMED", "accepted"))
    assert not inv.check_action_answers(w, ledger).violations


def test_a_409_past_the_acceptance_deadline_is_the_contract():
    """Accept, reject and cancel refuse an order past its acceptance deadline even while its
    status still reads AWAITING_ACCEPTANCE; before the deadline the same 409 is a violation."""
    ledger = Ledger()
    ledger.restaurants[3] = {"acceptance_seconds": 10}
    rows = [row(0, "PLACED", "placed"), row(2, "AWAITING_ACCEPTANCE", "awaiting_acceptance")]
    w = world(orders={1: order(1, "AWAITING_ACCEPTANCE")}, timeline={1: rows})
    attempt(ledger, 1, Action("accept", "409", T0 + 5, T0 + 5.1))
    assert inv.check_action_answers(w, ledger).violations
    ledger.by_order[1].actions = [Action("accept", "409", T0 + 13, T0 + 13.1)]
    assert not inv.check_action_answers(w, ledger).violations


def test_stock_leaked_by_a_dead_order_is_caught():
    ledger = Ledger()
    ledger.items = {1: {"initial": 10, "restaurant_id": 3, "available": True}}
    lines = {1: [{"menu_item_id": 1, "quantity": 2, "stock_state": "reserved"}]}
    w = world(orders={1: order(1, "CANCELLED", "customer_cancelled")}, items=lines, menu={1: 8})
    conserved, claims = inv.check_stock(w, ledger)
    assert conserved.violations and claims.violations
    lines[1][0]["stock_state"] = "released"
    w = world(orders={1: order(1, "CANCELLED", "customer_cancelled")}, items=lines, menu={1: 10})
    assert not any(c.violations for c in inv.check_stock(w, ledger))


def test_money_checks():
    charge = {"status": "captured", "captures": 1, "authorizations": 1, "amount_cents": 1000}
    w = world(
        orders={1: order(1, "REJECTED", "restaurant_rejected")},
        charges={1: charge}, payments={1: {"status": "CAPTURED", "amount_cents": 1000}},
    )  # fmt: skip
    once, dead_cap, voided, captured = inv.check_payments(w, Ledger())
    assert dead_cap.violations and voided.violations and not once.violations
    charge.update(captures=2)
    w.orders = {1: order(1, "DELIVERED")}
    once, dead_cap, voided, captured = inv.check_payments(w, Ledger())
    assert once.violations and captured.violations


def test_dlq_must_hold_exactly_the_injected_poison():
    ledger = Ledger()
    ledger.poison = [{"kind": "not_json", "partition": 2, "offset": 40, "key": "3"}]

    def letter(group: str, offset: str = "40") -> Record:
        headers = {"origin_topic": "orders", "origin_partition": "2", "origin_offset": offset,
                   "consumer_group": group, "error": "PoisonMessage: not JSON"}  # fmt: skip
        return Record(0, 1, b"3", b"x", headers)

    w = world(kafka_dlq=[letter(g) for g in GROUPS])
    assert not inv.check_dlq(w, ledger).violations
    w = world(kafka_dlq=[letter(g) for g in GROUPS[:2]])
    assert inv.check_dlq(w, ledger).violations  # one group never dead-lettered it
    w = world(kafka_dlq=[*(letter(g) for g in GROUPS), letter(GROUPS[0], "41")])
    assert inv.check_dlq(w, ledger).violations  # a real event in the DLQ


def test_nginx_503_is_an_unknown_outcome_and_the_apps_503_a_refusal():
    """A kitchen step whose API process died after committing: nginx answered 503, the retry
    got 409. The checker must allow that the step happened (CI run of 29 November)."""
    from tests.chaos.api import PROXY_UNAVAILABLE, Reply

    proxy = Reply(503, {"message": PROXY_UNAVAILABLE}, {"Retry-After": "1"})
    app_503 = Reply(503, {"message": "database unavailable; retry shortly"}, {"Retry-After": "1"})
    assert not proxy.known and Action("PREPARING", proxy.label, 0, 0).unknown
    assert app_503.known and not Action("PREPARING", app_503.label, 0, 0).unknown


def test_kept_counts_must_equal_the_tables():
    same = {("status", "PLACED"): 3, ("restaurant", 7): 2}
    fine = world(counts_kept=same, counts_counted=same)
    assert inv.check_kept_counts(fine, Ledger()).violations == []
    drifted = world(
        counts_kept={("status", "PLACED"): 4, ("restaurant", 7): 2},
        counts_counted={("status", "PLACED"): 3, ("restaurant", 8): 1, ("restaurant", 7): 2},
    )
    violations = inv.check_kept_counts(drifted, Ledger()).violations
    assert sorted(violations) == [
        "restaurant 8: kept 0, counted 1",
        "status PLACED: kept 4, counted 3",
    ]
