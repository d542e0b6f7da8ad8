"""The order lifecycle: the one table of allowed moves.

Pure: standard library only. The API, the Celery tasks and the Kafka consumers all
change an order's status through ``transition()``; nothing else may.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class Status(StrEnum):
    PLACED = "PLACED"
    AWAITING_ACCEPTANCE = "AWAITING_ACCEPTANCE"
    CONFIRMED = "CONFIRMED"
    PREPARING = "PREPARING"
    READY = "READY"
    DISPATCHED = "DISPATCHED"
    DELIVERED = "DELIVERED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


class Reason(StrEnum):
    INVALID_ORDER = "invalid_order"
    UNAVAILABLE = "unavailable"
    OUT_OF_STOCK = "out_of_stock"
    PAYMENT_DECLINED = "payment_declined"
    RESTAURANT_REJECTED = "restaurant_rejected"
    CUSTOMER_CANCELLED = "customer_cancelled"
    ACCEPTANCE_TIMEOUT = "acceptance_timeout"


S, R = Status, Reason

# (from, to) -> the reasons that move may carry; an empty set means "no reason".
ALLOWED: dict[tuple[Status, Status], frozenset[Reason]] = {
    (S.PLACED, S.AWAITING_ACCEPTANCE): frozenset(),
    (S.AWAITING_ACCEPTANCE, S.CONFIRMED): frozenset(),
    (S.CONFIRMED, S.PREPARING): frozenset(),
    (S.PREPARING, S.READY): frozenset(),
    (S.READY, S.DISPATCHED): frozenset(),
    (S.DISPATCHED, S.DELIVERED): frozenset(),
    (S.PLACED, S.REJECTED): frozenset(
        {R.INVALID_ORDER, R.UNAVAILABLE, R.OUT_OF_STOCK, R.PAYMENT_DECLINED}
    ),
    (S.AWAITING_ACCEPTANCE, S.REJECTED): frozenset({R.RESTAURANT_REJECTED}),
    (S.PLACED, S.CANCELLED): frozenset({R.CUSTOMER_CANCELLED, R.ACCEPTANCE_TIMEOUT}),
    (S.AWAITING_ACCEPTANCE, S.CANCELLED): frozenset({R.CUSTOMER_CANCELLED, R.ACCEPTANCE_TIMEOUT}),
}

TERMINAL = frozenset({S.DELIVERED, S.REJECTED, S.CANCELLED})

# The steps a restaurant moves an order through after confirming it, in order.
KITCHEN_STEPS = (S.CONFIRMED, S.PREPARING, S.READY, S.DISPATCHED, S.DELIVERED)

# Statuses in which the order still holds reserved stock and an uncaptured payment.
HOLDS_RESERVATION = frozenset({S.PLACED, S.AWAITING_ACCEPTANCE})


class InvalidTransition(Exception):
    """The move is not in the table (or carries the wrong reason)."""

    def __init__(self, current: Status, target: Status, reason: Reason | None = None):
        self.current, self.target, self.reason = current, target, reason
        why = f" ({reason})" if reason else ""
        super().__init__(f"cannot move an order from {current} to {target}{why}")


def can_transition(current: Status, target: Status, reason: Reason | None = None) -> bool:
    reasons = ALLOWED.get((Status(current), Status(target)))
    if reasons is None:
        return False
    if not reasons:
        return reason is None
    return reason is not None and Reason(reason) in reasons


def transition(current: Status, target: Status, reason: Reason | None = None) -> Status:
    """Return ``target`` if the table allows the move, else raise InvalidTransition."""
    if not can_transition(current, target, reason):
        raise InvalidTransition(Status(current), Status(target), reason)
    return Status(target)


def next_kitchen_step(current: Status) -> Status | None:
    """The one status a restaurant may move a confirmed order to next."""
    if current in KITCHEN_STEPS[:-1]:
        return KITCHEN_STEPS[KITCHEN_STEPS.index(current) + 1]
    return None


def is_cancellable(current: Status) -> bool:
    return can_transition(current, S.CANCELLED, R.CUSTOMER_CANCELLED)


# --- The other state machines of an order -------------------------------------------------
# Each is a set of allowed (from, to) moves and a move function like ``transition()``: the
# pipeline stage (progress while PLACED), the payment row's status and a line's claim on stock.


class InvalidMove(Exception):
    """A move of the stage, payment or stock machine that its table does not allow."""

    def __init__(self, machine: str, current: str, target: str):
        self.machine, self.current, self.target = machine, current, target
        super().__init__(f"cannot move {machine} from {current} to {target}")


class Stage(StrEnum):
    """Pipeline progress of a PLACED order: one step task moves it one place on."""

    NEW = "new"
    VALIDATED = "validated"
    STOCK_RESERVED = "stock_reserved"
    AUTHORIZED = "authorized"


STAGE_MOVES: frozenset[tuple[Stage, Stage]] = frozenset(
    {
        (Stage.NEW, Stage.VALIDATED),
        (Stage.VALIDATED, Stage.STOCK_RESERVED),
        (Stage.STOCK_RESERVED, Stage.AUTHORIZED),
    }
)


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    DECLINED = "DECLINED"
    VOIDED = "VOIDED"


P = PaymentStatus
PAYMENT_MOVES: frozenset[tuple[PaymentStatus, PaymentStatus]] = frozenset(
    {
        (P.PENDING, P.AUTHORIZED),
        (P.PENDING, P.DECLINED),
        (P.PENDING, P.VOIDED),  # the order died before the authorization was recorded
        (P.AUTHORIZED, P.CAPTURED),
        (P.AUTHORIZED, P.VOIDED),
    }
)
# A payment that may still move money: a dead order voids it, a confirmed one captures it.
PAYMENT_OPEN = frozenset({P.PENDING, P.AUTHORIZED})


class StockState(StrEnum):
    """A line's claim on ``menu_items.stock``."""

    NONE = "none"
    RESERVED = "reserved"
    RELEASED = "released"
    SOLD = "sold"


STOCK_MOVES: frozenset[tuple[StockState, StockState]] = frozenset(
    {
        (StockState.NONE, StockState.RESERVED),
        (StockState.RESERVED, StockState.RELEASED),
        (StockState.RESERVED, StockState.SOLD),
    }
)


def can_advance_stage(current: Stage, target: Stage) -> bool:
    return (Stage(current), Stage(target)) in STAGE_MOVES


def advance_stage(current: Stage, target: Stage) -> Stage:
    """Return ``target`` if the stage table allows the move, else raise InvalidMove."""
    if not can_advance_stage(current, target):
        raise InvalidMove("stage", str(current), str(target))
    return Stage(target)


def can_move_payment(current: PaymentStatus, target: PaymentStatus) -> bool:
    return (PaymentStatus(current), PaymentStatus(target)) in PAYMENT_MOVES


def move_payment(current: PaymentStatus, target: PaymentStatus) -> PaymentStatus:
    """Return ``target`` if the payment table allows the move, else raise InvalidMove."""
    if not can_move_payment(current, target):
        raise InvalidMove("payment", str(current), str(target))
    return PaymentStatus(target)


def can_move_stock(current: StockState, target: StockState) -> bool:
    return (StockState(current), StockState(target)) in STOCK_MOVES


def move_stock(current: StockState, target: StockState) -> StockState:
    """Return ``target`` if the stock table allows the move, else raise InvalidMove."""
    if not can_move_stock(current, target):
        raise InvalidMove("stock_state", str(current), str(target))
    return StockState(target)


def past_acceptance_deadline(status: str, deadline_at: datetime | None, now: datetime) -> bool:
    """Whether an order awaiting acceptance has run out of time. Accept, reject and cancel
    answer 409 once it has (app/orders/commands.py), in the transaction that holds the
    order's lock, so a late accept cannot capture a payment the sweep is about to void;
    the sweep's query (expire_unaccepted) then cancels it with acceptance_timeout using the
    same comparison. Other statuses' deadlines are the pipeline's, not the restaurant's."""
    return Status(status) == S.AWAITING_ACCEPTANCE and deadline_at is not None and deadline_at < now
