"""The one way an order changes: through the lifecycle table, with its timeline row and
its events written in the caller's transaction (the outbox)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.envelope import Envelope, EventType
from app.core.errors import NotFound
from app.core.lifecycle import Reason, Status, transition
from app.core.models import Order, TimelineEntry, utcnow
from app.orders import outbox
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


def lock_order(session: Session, order_id: int, **scope: int) -> Order:
    """Load an order FOR UPDATE, scoped in the query (customer_id / restaurant_id).

    The lock statement reads the orders row alone. Its lines and payment are loaded by
    separate statements once the lock is held: under READ COMMITTED, a FOR UPDATE that
    waited re-reads only the row it locked, so rows joined into the same statement could
    predate the transaction it waited for (e.g. lines still unreserved after a reserve).
    """
    query = select(Order).where(Order.id == order_id).with_for_update()
    for column, value in scope.items():
        query = query.where(getattr(Order, column) == value)
    order = session.scalars(query.execution_options(populate_existing=True)).one_or_none()
    if order is None:
        raise NotFound("order not found")
    return order


def note(
    session: Session,
    order: Order,
    event: str,
    detail: str | None = None,
    publish: Iterable[tuple[EventType, dict[str, Any]]] = (),
    at: datetime | None = None,
) -> None:
    """A step without a status change: a timeline row and, optionally, events."""
    at = at or utcnow()
    order.version += 1
    order.updated_at = at
    session.add(
        TimelineEntry(order_id=order.id, at=at, status=order.status, event=event, detail=detail)
    )
    session.flush()
    session.expire(order, ["timeline"])  # a view built later in this session sees the new row
    for event_type, data in publish:
        _publish(session, order, event_type, data, at)


def move(
    session: Session,
    order: Order,
    target: Status,
    reason: Reason | None = None,
    detail: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Change the status, if the lifecycle table allows it (else InvalidTransition)."""
    previous = Status(order.status)
    order.status = transition(previous, target, reason)
    order.reason = str(reason) if reason else None
    at = utcnow()
    payload = {"from": str(previous), "to": str(target), **(data or {})}
    if reason:
        payload["reason"] = str(reason)
    if detail:
        payload["detail"] = detail
    note(
        session,
        order,
        TIMELINE_NAME[target],
        detail or (str(reason) if reason else None),
        publish=[(STATUS_EVENT[target], payload)],
        at=at,
    )


def _publish(
    session: Session, order: Order, event_type: EventType, data: dict[str, Any], at: datetime
) -> None:
    session.flush()
    envelope = Envelope(
        type=event_type,
        order_id=order.id,
        restaurant_id=order.restaurant_id,
        customer_id=order.customer_id,
        occurred_at=at,
        data={**data, "version": order.version, "order": order_summary(order)},
    )
    outbox.record(session, envelope)
