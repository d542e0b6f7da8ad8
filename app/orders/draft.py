"""An order change as plain data: the same rules as app/orders/changes.py (the lifecycle
table, one timeline row per step, the event of each move), computed without a database.

The pipeline steps and the sweeps build a ``Draft`` from an ``OrderFacts`` snapshot; their
shell writes it (``changes.write``) in one transaction. Pure: no I/O here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from app.core.envelope import EventType
from app.core.lifecycle import (
    PaymentStatus,
    Reason,
    Stage,
    Status,
    StockState,
    advance_stage,
    move_payment,
    move_stock,
    transition,
)
from app.orders.view import order_summary

# The event each status move publishes.
STATUS_EVENT: dict[Status, EventType] = {
    Status.AWAITING_ACCEPTANCE: EventType.ORDER_AWAITING_ACCEPTANCE,
    Status.CONFIRMED: EventType.ORDER_ACCEPTED,
    Status.PREPARING: EventType.ORDER_STATUS_CHANGED,
    Status.READY: EventType.ORDER_STATUS_CHANGED,
    Status.DISPATCHED: EventType.ORDER_STATUS_CHANGED,
    Status.DELIVERED: EventType.ORDER_STATUS_CHANGED,
    Status.REJECTED: EventType.ORDER_REJECTED,
    Status.CANCELLED: EventType.ORDER_CANCELLED,
}

TIMELINE_NAME: dict[Status, str] = {
    Status.AWAITING_ACCEPTANCE: "awaiting_acceptance",
    Status.CONFIRMED: "accepted",
    Status.PREPARING: "preparing",
    Status.READY: "ready",
    Status.DISPATCHED: "dispatched",
    Status.DELIVERED: "delivered",
    Status.REJECTED: "rejected",
    Status.CANCELLED: "cancelled",
}


@dataclass(frozen=True)
class Line:
    id: int
    menu_item_id: int
    quantity: int
    notes: str | None = None
    name: str | None = None
    unit_price_cents: int | None = None
    stock_state: StockState = StockState.NONE


@dataclass(frozen=True)
class Pay:
    idempotency_key: str
    amount_cents: int
    status: PaymentStatus = PaymentStatus.PENDING


@dataclass(frozen=True)
class OrderFacts:
    """What the steps know of an order (field names as the ORM's, so view.order_summary
    renders both)."""

    id: int
    customer_id: int
    restaurant_id: int
    status: Status
    stage: Stage
    delivery_address: str
    payment_token: str
    created_at: datetime
    updated_at: datetime
    version: int = 1
    reason: str | None = None
    total_cents: int | None = None
    deadline_at: datetime | None = None
    items: tuple[Line, ...] = ()
    payment: Pay | None = None
    unknown_items: bool = False  # set at intake: a line named no item of the restaurant


@dataclass(frozen=True)
class TimelineRow:
    order_id: int
    at: datetime
    status: Status
    event: str
    detail: str | None


@dataclass(frozen=True)
class Event:
    type: EventType
    data: dict[str, Any]
    at: datetime


@dataclass
class Draft:
    """The changes to one order, in the order they happen. ``order`` is the order after them."""

    before: OrderFacts
    now: datetime
    order: OrderFacts = field(init=False)
    timeline: list[TimelineRow] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    new_payment: bool = False  # the payment row is to be inserted (else updated if changed)
    released: list[tuple[int, int]] = field(default_factory=list)  # (menu item, units) back

    def __post_init__(self) -> None:
        self.order = self.before

    @property
    def changed(self) -> bool:
        return self.order != self.before

    def note(
        self,
        event: str,
        detail: str | None = None,
        publish: tuple[tuple[EventType, dict[str, Any]], ...] | list = (),
    ) -> None:
        """A step without a status change: a timeline row and, optionally, events."""
        self.order = replace(self.order, version=self.order.version + 1, updated_at=self.now)
        self.timeline.append(TimelineRow(self.order.id, self.now, self.order.status, event, detail))
        for event_type, data in publish:
            payload = {**data, "version": self.order.version, "order": order_summary(self.order)}
            self.events.append(Event(event_type, payload, self.now))

    def move(self, target: Status, reason: Reason | None = None, detail: str | None = None) -> None:
        """Change the status, if the lifecycle table allows it (else InvalidTransition)."""
        previous = self.order.status
        status = transition(previous, target, reason)
        self.order = replace(self.order, status=status, reason=str(reason) if reason else None)
        payload: dict[str, Any] = {"from": str(previous), "to": str(target)}
        if reason:
            payload["reason"] = str(reason)
        if detail:
            payload["detail"] = detail
        self.note(
            TIMELINE_NAME[target],
            detail or (str(reason) if reason else None),
            publish=[(STATUS_EVENT[target], payload)],
        )

    def stop(self, target: Status, reason: Reason, detail: str | None = None) -> None:
        """Reject or cancel: the move, and the stock the order holds given back."""
        self.move(target, reason, detail)
        self.order = replace(self.order, deadline_at=None)
        held = held_stock(self.order.items, StockState.RESERVED)
        if held:
            self.released = held
            self.set_lines(StockState.RESERVED, StockState.RELEASED)
            self.note("stock_released")

    def set_stage(self, target: Stage) -> None:
        self.order = replace(self.order, stage=advance_stage(self.order.stage, target))

    def set_payment(self, target: PaymentStatus) -> None:
        pay = self.order.payment
        assert pay is not None
        self.order = replace(
            self.order, payment=replace(pay, status=move_payment(pay.status, target))
        )

    def set_lines(self, current: StockState, target: StockState) -> None:
        lines = tuple(
            replace(line, stock_state=move_stock(line.stock_state, target))
            if line.stock_state == current
            else line
            for line in self.order.items
        )
        self.order = replace(self.order, items=lines)

    def set(self, **changes: Any) -> None:
        self.order = replace(self.order, **changes)


def held_stock(lines: tuple[Line, ...], state: StockState) -> list[tuple[int, int]]:
    """(menu item, units) of the lines in ``state``, in menu item order (the lock order)."""
    wanted: Counter[int] = Counter()
    for line in lines:
        if line.stock_state == state:
            wanted[line.menu_item_id] += line.quantity
    return sorted(wanted.items())
