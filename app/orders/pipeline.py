"""The pipeline steps behind PLACED -> AWAITING_ACCEPTANCE, and the payment follow-ups.

Each step locks the order, checks that it is still the step's turn (so a repeated or late
task does nothing), does its work and commits it with its timeline row and events. The
gateway is passed in: tests may give a fake for the pure decisions.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.core.db import unit_of_work
from app.core.envelope import EventType
from app.core.lifecycle import HOLDS_RESERVATION, KITCHEN_STEPS, Reason, Status
from app.core.models import MenuItem, Order, Payment, Restaurant, utcnow
from app.core.settings import get_settings
from app.orders import stock
from app.orders.changes import lock_order, move, note
from app.orders.commands import stop_order
from app.orders.rules import order_total, total_allowed
from app.payments.gateway import GatewayTimeout, SimulatedGateway

log = logging.getLogger("comanda.pipeline")


class Step(StrEnum):
    VALIDATE = "validate"
    RESERVE = "reserve"
    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    VOID = "void"


STAGE_STEP = {"new": Step.VALIDATE, "validated": Step.RESERVE, "stock_reserved": Step.AUTHORIZE}
CONFIRMED_OR_LATER = frozenset(KITCHEN_STEPS)
DEAD = frozenset({Status.REJECTED, Status.CANCELLED})


def next_step(order: Order) -> Step | None:
    """What the order needs from the workers now, if anything."""
    status = Status(order.status)
    payment = order.payment.status if order.payment else None
    if status == Status.PLACED:
        return STAGE_STEP.get(order.stage)
    if status in CONFIRMED_OR_LATER and payment == "AUTHORIZED":
        return Step.CAPTURE
    if status in DEAD and payment in ("PENDING", "AUTHORIZED"):
        return Step.VOID
    return None


def _push_deadline(order: Order) -> None:
    order.deadline_at = utcnow() + timedelta(seconds=get_settings().pipeline_stuck_seconds)


def validate(order_id: int) -> Step | None:
    with unit_of_work() as session:
        order = lock_order(session, order_id)
        if order.status != Status.PLACED or order.stage != "new":
            return next_step(order)
        restaurant = session.get(Restaurant, order.restaurant_id)
        ids = sorted({line.menu_item_id for line in order.items})
        menu = {
            m.id: m
            for m in session.scalars(
                select(MenuItem).where(
                    MenuItem.id.in_(ids), MenuItem.restaurant_id == order.restaurant_id
                )
            )
        }
        if restaurant is None or len(menu) != len(ids) or order.unknown_items:
            stop_order(session, order, Status.REJECTED, Reason.INVALID_ORDER)
            return next_step(order)
        if not restaurant.is_open or not all(m.available for m in menu.values()):
            stop_order(session, order, Status.REJECTED, Reason.UNAVAILABLE)
            return next_step(order)
        for line in order.items:
            line.name = menu[line.menu_item_id].name
            line.unit_price_cents = menu[line.menu_item_id].price_cents
        total = order_total((line.unit_price_cents, line.quantity) for line in order.items)
        if not total_allowed(total):  # prices rose after intake
            stop_order(session, order, Status.REJECTED, Reason.INVALID_ORDER)
            return next_step(order)
        order.total_cents = total
        order.payment = Payment(
            order_id=order.id,
            idempotency_key=f"order-{order.id}-payment",
            amount_cents=order.total_cents,
            status="PENDING",
        )
        order.stage = "validated"
        _push_deadline(order)
        note(session, order, "validated")
        return next_step(order)


def reserve_stock(order_id: int) -> Step | None:
    with unit_of_work() as session:
        order = lock_order(session, order_id)
        if order.status != Status.PLACED or order.stage != "validated":
            return next_step(order)
        if not stock.reserve(session, order):
            stop_order(session, order, Status.REJECTED, Reason.OUT_OF_STOCK)
            return next_step(order)
        order.stage = "stock_reserved"
        _push_deadline(order)
        note(session, order, "stock_reserved")
        return next_step(order)


def authorize_payment(order_id: int, gateway: SimulatedGateway) -> Step | None:
    """Three short transactions around the gateway call: no row lock is held while the
    gateway is asked, and a cancel that lands meanwhile voids by the same key."""
    with unit_of_work() as session:
        order = lock_order(session, order_id)
        if order.status != Status.PLACED or order.stage != "stock_reserved":
            return next_step(order)
        key, token, amount = order.payment.idempotency_key, order.payment_token, order.total_cents
    try:
        outcome = gateway.authorize(key, token, amount)  # may raise GatewayTransientError
    except GatewayTimeout:
        # Unknown outcome: ask the gateway what happened under our key; never charge again.
        outcome = gateway.lookup(key)
        if outcome.status in ("none", "pending"):
            raise
    with unit_of_work() as session:
        order = lock_order(session, order_id)
        return _record_authorization(session, order, outcome.status)


def _record_authorization(session: Session, order: Order, result: str) -> Step | None:
    payment = order.payment
    if payment.status != "PENDING":
        return next_step(order)  # a repeated task already recorded this outcome
    amount = {"amount_cents": payment.amount_cents}
    if result == "declined":
        payment.status = "DECLINED"
        note(session, order, "payment_declined", publish=[(EventType.PAYMENT_DECLINED, amount)])
        if order.status == Status.PLACED:
            stop_order(session, order, Status.REJECTED, Reason.PAYMENT_DECLINED)
        return next_step(order)
    if result == "voided":
        payment.status = "VOIDED"
        note(session, order, "payment_voided", "voided before authorization completed")
        return next_step(order)
    payment.status = "AUTHORIZED"
    note(session, order, "payment_authorized", publish=[(EventType.PAYMENT_AUTHORIZED, amount)])
    if order.status == Status.PLACED and order.stage == "stock_reserved":
        order.stage = "authorized"
        restaurant = session.get(Restaurant, order.restaurant_id)
        move(session, order, Status.AWAITING_ACCEPTANCE)
        order.deadline_at = utcnow() + timedelta(seconds=restaurant.acceptance_seconds)
    return next_step(order)


def _around_gateway(order_id: int, step: Step, call, record) -> Step | None:
    """If it is still ``step``'s turn, ask the gateway (outside any transaction, by the
    payment's idempotency key), then lock the order again and ``record`` the outcome."""
    with unit_of_work() as session:
        order = lock_order(session, order_id)
        if next_step(order) != step:
            return next_step(order)
        key = order.payment.idempotency_key
    outcome = call(key)
    with unit_of_work() as session:
        order = lock_order(session, order_id)
        record(session, order, order.payment, outcome)
        return next_step(order)


def capture_payment(order_id: int, gateway: SimulatedGateway) -> Step | None:
    def record(session: Session, order: Order, payment: Payment, outcome) -> None:
        if payment.status == "AUTHORIZED" and outcome.status == "captured":
            payment.status = "CAPTURED"
            amount = {"amount_cents": payment.amount_cents}
            note(session, order, "payment_captured", publish=[(EventType.PAYMENT_CAPTURED, amount)])

    return _around_gateway(order_id, Step.CAPTURE, gateway.capture, record)


def void_payment(order_id: int, gateway: SimulatedGateway) -> Step | None:
    def record(session: Session, order: Order, payment: Payment, outcome) -> None:
        if payment.status in ("PENDING", "AUTHORIZED"):
            payment.status = "VOIDED"
            amount = {"amount_cents": payment.amount_cents}
            had_money = outcome.previous in ("authorized", "captured")
            publish = [(EventType.PAYMENT_VOIDED, amount)] if had_money else []
            note(session, order, "payment_voided", publish=publish)

    return _around_gateway(order_id, Step.VOID, gateway.void, record)


def stuck_orders(session: Session, limit: int = 200) -> list[tuple[int, Step]]:
    """Orders past their pipeline deadline, or with a payment left to capture or void."""
    now = utcnow()
    grace = now - timedelta(seconds=get_settings().pipeline_stuck_seconds)
    candidates = session.scalars(
        select(Order)
        .outerjoin(Payment)
        .where(
            or_(
                (Order.status == Status.PLACED) & (Order.deadline_at < now),
                # confirmed with a payment to capture, or dead with one to void
                Order.status.notin_(HOLDS_RESERVATION)
                & Payment.status.in_(["PENDING", "AUTHORIZED"])
                & (Order.updated_at < grace),
            )
        )
        .order_by(Order.id)
        .limit(limit)
    ).all()
    due = []
    for order in candidates:
        step = next_step(order)
        if step is not None:
            due.append((order.id, step))
            if order.status == Status.PLACED:
                _push_deadline(order)
    return due


def give_up(order_id: int, step: Step, error: str = "") -> bool:
    """A step failed for good: end the order with a reason rather than leave it hanging.
    Returns True when the order was stopped. The timeline (and so the event, the feed and
    the API) gets a fixed code, ``<step>_failed``; ``error`` goes only to the log."""
    with unit_of_work() as session:
        order = lock_order(session, order_id)
        if order.status != Status.PLACED or next_step(order) != step:
            return False
        reason = Reason.PAYMENT_DECLINED if step == Step.AUTHORIZE else Reason.INVALID_ORDER
        log.error("order %s: %s failed permanently: %s", order_id, step, error)
        stop_order(session, order, Status.REJECTED, reason, failure_code(step))
        return True


def failure_code(step: Step) -> str:
    """What a timeline says about a step that failed for good: a code, never the error."""
    return f"{step}_failed"
