"""The pipeline's decisions, pure: plain data in, a Draft (what to write and publish) and the
next step out. app/orders/pipeline.py loads the facts, calls these, writes the draft.

Each decision first checks that it is still its step's turn, so a repeated or late task
changes nothing and only says what the order needs next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from app.core.envelope import EventType
from app.core.lifecycle import (
    HOLDS_RESERVATION,
    KITCHEN_STEPS,
    PAYMENT_OPEN,
    PaymentStatus,
    Reason,
    Stage,
    Status,
    StockState,
    past_acceptance_deadline,
)
from app.orders.draft import Draft, OrderFacts, Pay, held_stock
from app.orders.rules import order_total, total_allowed


class Step(StrEnum):
    VALIDATE = "validate"
    RESERVE = "reserve"
    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    VOID = "void"


# The steps that call the payment gateway, and so wait on its latency once per order.
GATEWAY_STEPS = frozenset({Step.AUTHORIZE, Step.CAPTURE, Step.VOID})

# While PLACED, the stage says which step is due.
STAGE_STEP = {
    Stage.NEW: Step.VALIDATE,
    Stage.VALIDATED: Step.RESERVE,
    Stage.STOCK_RESERVED: Step.AUTHORIZE,
}
CONFIRMED_OR_LATER = frozenset(KITCHEN_STEPS)
DEAD = frozenset({Status.REJECTED, Status.CANCELLED})


def next_step(order: OrderFacts) -> Step | None:
    """What the order needs from the workers now, if anything."""
    payment = order.payment.status if order.payment else None
    return step_for(Status(order.status), Stage(order.stage), payment)


def step_for(status: Status, stage: Stage, payment: PaymentStatus | None) -> Step | None:
    if status == Status.PLACED:
        return STAGE_STEP.get(stage)
    if status in CONFIRMED_OR_LATER and payment == PaymentStatus.AUTHORIZED:
        return Step.CAPTURE
    if status in DEAD and payment in PAYMENT_OPEN:
        return Step.VOID
    return None


@dataclass(frozen=True)
class PaymentCall:
    """What a gateway step reads, unlocked, before its call: whose turn it is, the payment's
    key, and for the authorization the card token, the amount and the restaurant's time to
    accept. The outcome is recorded under the order's lock, by a decision that checks the
    turn again (a cancel may land during the call)."""

    order_id: int
    status: Status
    stage: Stage
    payment: PaymentStatus | None
    idempotency_key: str | None
    token: str
    amount_cents: int | None
    acceptance_seconds: int

    @property
    def step(self) -> Step | None:
        return step_for(self.status, self.stage, self.payment)


@dataclass(frozen=True)
class MenuEntry:
    id: int
    name: str
    price_cents: int
    available: bool


@dataclass(frozen=True)
class Shop:
    """The restaurant as validation sees it, with the menu items the order names (of this
    restaurant only)."""

    is_open: bool
    menu: dict[int, MenuEntry]


def payment_key(order_id: int) -> str:
    return f"order-{order_id}-payment"


def validate(order: OrderFacts, shop: Shop | None, now: datetime, stuck: timedelta) -> Draft:
    """Check the lines against the menu; price them and open the payment, or reject."""
    draft = Draft(order, now)
    if next_step(order) != Step.VALIDATE:
        return draft
    wanted = {line.menu_item_id for line in order.items}
    # unknown_items: a line named an item the restaurant did not have at intake; one with
    # that id made since must not make the order valid (issue 8).
    if shop is None or not wanted <= shop.menu.keys() or order.unknown_items:
        draft.stop(Status.REJECTED, Reason.INVALID_ORDER)
        return draft
    if not shop.is_open or not all(shop.menu[i].available for i in wanted):
        draft.stop(Status.REJECTED, Reason.UNAVAILABLE)
        return draft
    lines = tuple(
        replace(
            line,
            name=shop.menu[line.menu_item_id].name,
            unit_price_cents=shop.menu[line.menu_item_id].price_cents,
        )
        for line in order.items
    )
    total = order_total((line.unit_price_cents, line.quantity) for line in lines)
    if not total_allowed(total):  # prices rose after intake
        draft.stop(Status.REJECTED, Reason.INVALID_ORDER)
        return draft
    draft.set(
        items=lines,
        total_cents=total,
        payment=Pay(payment_key(order.id), total, PaymentStatus.PENDING),
        deadline_at=now + stuck,
    )
    draft.new_payment = True
    draft.set_stage(Stage.VALIDATED)
    draft.note("validated")
    return draft


def stock_wanted(order: OrderFacts) -> list[tuple[int, int]] | None:
    """(menu item, units) to take, in lock order; None when it is not the reserve step's turn."""
    if next_step(order) != Step.RESERVE:
        return None
    return held_stock(order.items, StockState.NONE)


def allocate(
    stock: Mapping[int, int], claims: Sequence[tuple[int, Sequence[tuple[int, int]]]]
) -> tuple[dict[int, bool], dict[int, int]]:
    """A batch's stock claims against what each menu item has (``stock``, menu item ->
    units, read under lock): each claim, ``(order id, [(menu item, units)])`` in the order
    given, takes every line's units or none, as one order's claim does, so an order that
    cannot be served leaves its units to the ones after it. An item missing from ``stock``
    serves nobody. Returns whether each order got its stock, and the units taken per item."""
    left = dict(stock)
    granted: dict[int, bool] = {}
    taken: dict[int, int] = {}
    for order_id, wanted in claims:
        ok = all(left.get(item, 0) >= units for item, units in wanted)
        granted[order_id] = ok
        if ok:
            for item, units in wanted:
                left[item] -= units
                taken[item] = taken.get(item, 0) + units
    return granted, {item: units for item, units in taken.items() if units}


def reserved(order: OrderFacts, taken: bool, now: datetime, stuck: timedelta) -> Draft:
    """After the all-or-nothing stock claim: move on, or reject out_of_stock."""
    draft = Draft(order, now)
    if next_step(order) != Step.RESERVE:
        return draft
    if not taken:
        draft.stop(Status.REJECTED, Reason.OUT_OF_STOCK)
        return draft
    draft.set_lines(StockState.NONE, StockState.RESERVED)
    draft.set_stage(Stage.STOCK_RESERVED)
    draft.set(deadline_at=now + stuck)
    draft.note("stock_reserved")
    return draft


def authorized(order: OrderFacts, result: str, now: datetime, acceptance: timedelta) -> Draft:
    """Record the gateway's answer to the authorization (``authorized``, ``declined`` or
    ``voided``) and, when authorized in time, move the order to AWAITING_ACCEPTANCE in the
    same transaction (the status move is folded into the payment step: see
    docs/PERFORMANCE.md)."""
    draft = Draft(order, now)
    pay = order.payment
    if pay is None or pay.status != PaymentStatus.PENDING:
        return draft  # a repeated task already recorded this outcome
    amount = {"amount_cents": pay.amount_cents}
    if result == "declined":
        draft.set_payment(PaymentStatus.DECLINED)
        draft.note("payment_declined", publish=[(EventType.PAYMENT_DECLINED, amount)])
        if order.status == Status.PLACED:
            draft.stop(Status.REJECTED, Reason.PAYMENT_DECLINED)
        return draft
    if result == "voided":
        draft.set_payment(PaymentStatus.VOIDED)
        draft.note("payment_voided", "voided before authorization completed")
        return draft
    draft.set_payment(PaymentStatus.AUTHORIZED)
    draft.note("payment_authorized", publish=[(EventType.PAYMENT_AUTHORIZED, amount)])
    if order.status == Status.PLACED and order.stage == Stage.STOCK_RESERVED:
        draft.set_stage(Stage.AUTHORIZED)
        draft.move(Status.AWAITING_ACCEPTANCE)
        draft.set(deadline_at=now + acceptance)
    return draft


def captured(order: OrderFacts, result: str, now: datetime) -> Draft:
    draft = Draft(order, now)
    pay = order.payment
    if pay is not None and pay.status == PaymentStatus.AUTHORIZED and result == "captured":
        draft.set_payment(PaymentStatus.CAPTURED)
        amount = {"amount_cents": pay.amount_cents}
        draft.note("payment_captured", publish=[(EventType.PAYMENT_CAPTURED, amount)])
    return draft


def voided(order: OrderFacts, previous: str, now: datetime) -> Draft:
    """``previous``: what the gateway held before the void (money only if authorized or
    captured; then a payment.voided event tells the customer)."""
    draft = Draft(order, now)
    pay = order.payment
    if pay is not None and pay.status in PAYMENT_OPEN:
        draft.set_payment(PaymentStatus.VOIDED)
        amount = {"amount_cents": pay.amount_cents}
        had_money = previous in ("authorized", "captured")
        draft.note(
            "payment_voided", publish=[(EventType.PAYMENT_VOIDED, amount)] if had_money else []
        )
    return draft


def give_up(order: OrderFacts, step: Step, now: datetime) -> Draft:
    """A step failed for good: end the order with a reason rather than leave it hanging.
    The detail names the step only (never an exception's text)."""
    draft = Draft(order, now)
    if order.status != Status.PLACED or next_step(order) != step:
        return draft
    reason = Reason.PAYMENT_DECLINED if step == Step.AUTHORIZE else Reason.INVALID_ORDER
    draft.stop(Status.REJECTED, reason, f"{step} failed permanently")
    return draft


def expire(order: OrderFacts, now: datetime) -> Draft:
    """The acceptance sweep: cancel an order nobody accepted before its deadline."""
    draft = Draft(order, now)
    if past_acceptance_deadline(order.status, order.deadline_at, now):
        draft.stop(Status.CANCELLED, Reason.ACCEPTANCE_TIMEOUT)
    return draft


# --- The stuck-order sweep ------------------------------------------------------------------

REDRIVE_BASE = timedelta(seconds=15)
REDRIVE_MAX = timedelta(minutes=5)


def redrive_backoff(count: int) -> timedelta:
    """Wait before the next re-drive of an order already re-driven ``count`` times."""
    return min(REDRIVE_BASE * (2 ** min(count, 10)), REDRIVE_MAX)


@dataclass(frozen=True)
class StuckCandidate:
    id: int
    status: Status
    stage: Stage
    payment: PaymentStatus | None
    deadline_at: datetime | None
    updated_at: datetime
    redrive_count: int
    next_redrive_at: datetime | None


@dataclass(frozen=True)
class Redrive:
    order_id: int
    step: Step
    redrive_count: int
    next_redrive_at: datetime
    deadline_at: datetime | None  # the pushed pipeline deadline (PLACED only), else unchanged


def redrive(c: StuckCandidate, now: datetime, stuck: timedelta) -> Redrive | None:
    """Whether to re-queue a (locked) order's next step now, and when the next re-drive
    may come. Only a PLACED order's pipeline deadline is pushed: an acceptance deadline is
    never touched."""
    if c.next_redrive_at is not None and c.next_redrive_at > now:
        return None
    step = step_for(c.status, c.stage, c.payment)
    if step is None:
        return None
    if c.status == Status.PLACED:
        if c.deadline_at is None or c.deadline_at >= now:
            return None
        deadline = now + stuck
    else:
        if c.status in HOLDS_RESERVATION or c.updated_at >= now - stuck:
            return None
        deadline = None
    return Redrive(
        c.id, step, c.redrive_count + 1, now + redrive_backoff(c.redrive_count), deadline
    )
