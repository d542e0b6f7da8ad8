"""The one way an order changes: through the lifecycle table, with its timeline row and
its events written in the caller's transaction (the outbox)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.core import correlation
from app.core.envelope import Envelope, EventType
from app.core.errors import NotFound
from app.core.lifecycle import Reason, Status, transition
from app.core.models import MenuItem, Order, OrderItem, OutboxEvent, Payment, TimelineEntry, utcnow
from app.core.settings import get_settings
from app.orders import outbox
from app.orders.draft import STATUS_EVENT, TIMELINE_NAME, Draft
from app.orders.view import order_summary

# The tables of events and timeline names live with the pure draft (app/orders/draft.py).


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


def placed(session: Session, order: Order) -> None:
    """The first timeline row and the order.placed event of a new order."""
    at = order.created_at
    session.add(TimelineEntry(order_id=order.id, at=at, status=order.status, event="placed"))
    session.flush()
    session.expire(order, ["timeline"])
    _publish(session, order, EventType.ORDER_PLACED, {}, at)


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


# --- Writing drafts (the pipeline and the sweeps) --------------------------------------------

_orders, _lines, _payments = Order.__table__, OrderItem.__table__, Payment.__table__
_timeline, _outbox, _menu = TimelineEntry.__table__, OutboxEvent.__table__, MenuItem.__table__

_ORDER_FIELDS = ("status", "reason", "stage", "total_cents", "deadline_at", "version", "updated_at")


def _plain(value: Any) -> Any:
    """Enums as their value (never a driver's idea of an enum)."""
    return str(value) if isinstance(value, StrEnum) else value


def write(conn: Connection, drafts: list[Draft]) -> None:
    """Write what the drafts decided, in the caller's transaction, a few statements for the
    whole batch: the orders, their lines, payments, timeline rows, outbox events, and the
    stock given back. The orders must be locked by the caller (FOR UPDATE)."""
    drafts = [d for d in drafts if d.changed or d.timeline]
    if not drafts:
        return
    conn.execute(
        update(_orders).where(_orders.c.id == bindparam("o_id")),
        [
            {"o_id": d.order.id, **{f: _plain(getattr(d.order, f)) for f in _ORDER_FIELDS}}
            for d in drafts
        ],
    )
    lines = [
        {
            "l_id": new.id,
            "name": new.name,
            "unit_price_cents": new.unit_price_cents,
            "stock_state": str(new.stock_state),
        }
        for d in drafts
        for old, new in zip(d.before.items, d.order.items, strict=True)
        if old != new
    ]
    if lines:
        conn.execute(update(_lines).where(_lines.c.id == bindparam("l_id")), lines)
    fresh = [d.order for d in drafts if d.new_payment]
    if fresh:
        conn.execute(
            insert(_payments),
            [
                {
                    "order_id": o.id,
                    "idempotency_key": o.payment.idempotency_key,
                    "amount_cents": o.payment.amount_cents,
                    "status": str(o.payment.status),
                    "updated_at": o.updated_at,
                }
                for o in fresh
            ],
        )
    paid = [
        {"p_id": d.order.id, "status": str(d.order.payment.status), "updated_at": d.now}
        for d in drafts
        if not d.new_payment and d.order.payment is not None and d.order.payment != d.before.payment
    ]
    if paid:
        conn.execute(update(_payments).where(_payments.c.order_id == bindparam("p_id")), paid)
    released: dict[int, int] = {}
    for d in drafts:
        for item, units in d.released:
            released[item] = released.get(item, 0) + units
    if released:  # in menu item order, as every stock claim, so none deadlocks
        conn.execute(
            update(_menu)
            .where(_menu.c.id == bindparam("m_id"))
            .values(stock=_menu.c.stock + bindparam("units")),
            [{"m_id": item, "units": units} for item, units in sorted(released.items())],
        )
    rows = [t for d in drafts for t in d.timeline]
    if rows:
        conn.execute(
            insert(_timeline),
            [
                {
                    "order_id": t.order_id,
                    "at": t.at,
                    "status": str(t.status),
                    "event": t.event,
                    "detail": t.detail,
                }
                for t in rows
            ],
        )
    events = [(d.order, e) for d in drafts for e in d.events]
    if events:
        topic = get_settings().orders_topic
        trace = correlation.current()
        headers = {"correlation_id": trace} if trace else {}
        outbox_rows = []
        for order, event in events:
            envelope = Envelope(
                type=event.type,
                order_id=order.id,
                restaurant_id=order.restaurant_id,
                customer_id=order.customer_id,
                occurred_at=event.at,
                data=event.data,
            )
            outbox_rows.append(
                {
                    "event_id": envelope.event_id,
                    "topic": topic,
                    "key": envelope.key,
                    "payload": envelope.to_dict(),
                    "headers": headers,
                    "created_at": event.at,
                }
            )
        conn.execute(insert(_outbox), outbox_rows)
