"""The pipeline steps behind PLACED -> AWAITING_ACCEPTANCE, and the payment follow-ups: the
thin shell around app/orders/steps.py.

Each step loads the order as plain data (locked, one transaction), asks the pure decision
what to do, and writes the draft it returns (changes.write: the status move through the
lifecycle table, its timeline row and its outbox event, in that same transaction). A repeated
or late task finds it is no longer its step's turn and changes nothing. The gateway is called
outside any transaction, by the payment's idempotency key; it is passed in so tests may
give their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

from app.core.db import autocommit, transaction
from app.core.models import utcnow
from app.core.settings import get_settings
from app.orders import facts, steps, stock
from app.orders.changes import write
from app.orders.steps import PaymentCall, Step, next_step
from app.payments.gateway import GatewayTimeout, Outcome, SimulatedGateway

__all__ = [
    "After",
    "Step",
    "authorize_many",
    "authorize_payment",
    "capture_payment",
    "give_up",
    "next_step",
    "reserve_many",
    "reserve_stock",
    "validate",
    "validate_many",
    "void_payment",
]


def _stuck() -> timedelta:
    return timedelta(seconds=get_settings().pipeline_stuck_seconds)


# Each step takes a batch of orders (one task carries the orders of a Kafka poll or of the
# step before, docs/PERFORMANCE.md "Sixth round"): one transaction, the orders locked in id
# order, each decided on its own by the pure step, all written in one statement. An order
# that is no longer the step's turn is left as it is, and says what it needs next. The
# single-order forms are the batch of one. ``traces`` maps an order to its request's
# correlation id, which its events carry.
Traces = Mapping[int, str | None] | None
After = dict[int, Step | None]  # order id -> what it needs next (None: nothing, or no order)


def validate(order_id: int) -> Step | None:
    return validate_many([order_id])[order_id]


def validate_many(order_ids: Sequence[int], traces: Traces = None) -> After:
    after: After = dict.fromkeys(order_ids)
    with transaction() as conn:
        loaded = facts.load_many_with_shop(conn, order_ids)
        now, stuck, drafts = utcnow(), _stuck(), []
        for order, shop in loaded.values():
            if next_step(order) != Step.VALIDATE:
                after[order.id] = next_step(order)
                continue
            drafts.append(steps.validate(order, shop, now, stuck))
        write(conn, drafts, traces)
    after.update((d.order.id, next_step(d.order)) for d in drafts)
    return after


def reserve_stock(order_id: int) -> Step | None:
    return reserve_many([order_id])[order_id]


def reserve_many(order_ids: Sequence[int], traces: Traces = None) -> After:
    after: After = dict.fromkeys(order_ids)
    with transaction() as conn:
        claims = []
        for order in facts.load_many(conn, order_ids).values():
            wanted = steps.stock_wanted(order)
            if wanted is None:
                after[order.id] = next_step(order)
            else:
                claims.append((order, wanted))
        granted = stock.take_many(conn, [(order.id, wanted) for order, wanted in claims])
        now, stuck = utcnow(), _stuck()
        drafts = [steps.reserved(order, granted[order.id], now, stuck) for order, _ in claims]
        write(conn, drafts, traces)
    after.update((d.order.id, next_step(d.order)) for d in drafts)
    return after


def authorize_payment(order_id: int, gateway: SimulatedGateway) -> Step | None:
    return authorize_many([order_id], gateway)[order_id]


def authorize_many(
    order_ids: Sequence[int], gateway: SimulatedGateway, traces: Traces = None
) -> After:
    """One unlocked read (no transaction), the gateway's calls (no transaction open, no row
    locked), then one transaction recording the outcomes and, when authorized, the moves to
    AWAITING_ACCEPTANCE. A cancel that lands meanwhile voids by the same key. A call that
    fails for now does not hold back the others: their outcomes are recorded, then the
    error is raised so the task retries, and the retry finds only that order still due."""
    after: After = dict.fromkeys(order_ids)
    with autocommit() as conn:
        calls = facts.payment_calls(conn, order_ids)
    outcomes: dict[int, tuple[PaymentCall, str]] = {}
    failed: Exception | None = None
    for call in calls.values():
        if call.step != Step.AUTHORIZE:
            after[call.order_id] = call.step
            continue
        try:
            outcomes[call.order_id] = (call, _authorize(gateway, call))
        except Exception as exc:  # transient: retried by the task; others: the task fails
            failed = failed or exc
    if outcomes:
        with transaction() as conn:
            loaded = facts.load_many(conn, list(outcomes))
            now, drafts = utcnow(), []
            for order in loaded.values():
                call, status = outcomes[order.id]
                acceptance = timedelta(seconds=call.acceptance_seconds)
                drafts.append(steps.authorized(order, status, now, acceptance))
            write(conn, drafts, traces)
        after.update((d.order.id, next_step(d.order)) for d in drafts)
    if failed is not None:
        raise failed
    return after


def _authorize(gateway: SimulatedGateway, call: PaymentCall) -> str:
    """The gateway's answer to one authorization, by the payment's idempotency key."""
    key = call.idempotency_key
    try:
        return gateway.authorize(key, call.token, call.amount_cents).status  # may raise
    except GatewayTimeout:
        # Unknown outcome: ask the gateway what happened under our key; never charge again.
        outcome = gateway.lookup(key)
        if outcome.status in ("none", "pending"):
            raise
        return outcome.status


def _around_gateway(
    order_id: int, step: Step, call: Callable[[str], Outcome], decide
) -> Step | None:
    """If it is still ``step``'s turn (one unlocked read), ask the gateway (outside any
    transaction), then lock the order and record the outcome."""
    with autocommit() as conn:
        before = facts.payment_call(conn, order_id)
    if before is None or before.step != step:
        return before.step if before else None
    outcome = call(before.idempotency_key)
    with transaction() as conn:
        order = facts.load(conn, order_id)
        draft = decide(order, outcome, utcnow())
        write(conn, [draft])
        return next_step(draft.order)


def capture_payment(order_id: int, gateway: SimulatedGateway) -> Step | None:
    return _around_gateway(
        order_id,
        Step.CAPTURE,
        gateway.capture,
        lambda o, out, now: steps.captured(o, out.status, now),
    )


def void_payment(order_id: int, gateway: SimulatedGateway) -> Step | None:
    return _around_gateway(
        order_id, Step.VOID, gateway.void, lambda o, out, now: steps.voided(o, out.previous, now)
    )


def give_up(order_id: int, step: Step, error: str | None = None) -> bool:  # noqa: ARG001
    """A step failed for good: end the order with a reason rather than leave it hanging.
    Returns True when the order was stopped. ``error`` is for the caller's log only: no
    exception text goes into a timeline or an event."""
    with transaction() as conn:
        order = facts.load(conn, order_id)
        if order is None:
            return False
        draft = steps.give_up(order, step, utcnow())
        write(conn, [draft])
        return draft.changed
