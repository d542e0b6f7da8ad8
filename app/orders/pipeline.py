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

from collections.abc import Callable
from datetime import timedelta

from app.core.db import autocommit, transaction
from app.core.models import utcnow
from app.core.settings import get_settings
from app.orders import facts, steps, stock
from app.orders.changes import write
from app.orders.steps import Step, next_step
from app.payments.gateway import GatewayTimeout, Outcome, SimulatedGateway

__all__ = [
    "Step",
    "authorize_payment",
    "capture_payment",
    "give_up",
    "next_step",
    "reserve_stock",
    "validate",
    "void_payment",
]


def _stuck() -> timedelta:
    return timedelta(seconds=get_settings().pipeline_stuck_seconds)


def validate(order_id: int) -> Step | None:
    with transaction() as conn:
        order, shop = facts.load_with_shop(conn, order_id)
        if order is None or next_step(order) != Step.VALIDATE:
            return next_step(order) if order else None
        draft = steps.validate(order, shop, utcnow(), _stuck())
        write(conn, [draft])
        return next_step(draft.order)


def reserve_stock(order_id: int) -> Step | None:
    with transaction() as conn:
        order = facts.load(conn, order_id)
        if order is None:
            return None
        wanted = steps.stock_wanted(order)
        if wanted is None:
            return next_step(order)
        draft = steps.reserved(order, stock.take(conn, wanted), utcnow(), _stuck())
        write(conn, [draft])
        return next_step(draft.order)


def authorize_payment(order_id: int, gateway: SimulatedGateway) -> Step | None:
    """One unlocked read (no transaction), the gateway call (no transaction open, no row
    locked), then one transaction recording the outcome and, when authorized, the move to
    AWAITING_ACCEPTANCE. A cancel that lands meanwhile voids by the same key."""
    with autocommit() as conn:
        call = facts.payment_call(conn, order_id)
    if call is None or call.step != Step.AUTHORIZE:
        return call.step if call else None
    key = call.idempotency_key
    try:
        outcome = gateway.authorize(key, call.token, call.amount_cents)  # may raise transient
    except GatewayTimeout:
        # Unknown outcome: ask the gateway what happened under our key; never charge again.
        outcome = gateway.lookup(key)
        if outcome.status in ("none", "pending"):
            raise
    with transaction() as conn:
        order = facts.load(conn, order_id)
        acceptance = timedelta(seconds=call.acceptance_seconds)
        draft = steps.authorized(order, outcome.status, utcnow(), acceptance)
        write(conn, [draft])
        return next_step(draft.order)


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
