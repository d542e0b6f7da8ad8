"""The one way an order changes: through the lifecycle table, with its timeline row and
its events written in the caller's transaction (the outbox)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.core.envelope import Envelope, EventType
from app.core.errors import NotFound
from app.core.lifecycle import Reason, Status, transition
from app.core.models import MenuItem, Order, TimelineEntry, utcnow
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

_menu = MenuItem.__table__

# write() sends one statement for the drafts: each table's write is a data-modifying CTE
# over a VALUES list of its rows. Where it took a statement per table (and the worker built,
# cache-keyed and compiled each as a Core construct on every call), a step's writes are one
# round trip. The SQL text is built once per shape (which parts, how many rows each): a
# step's shapes are few, so psycopg prepares them, and with the row counts in the text
# PostgreSQL's generic plan is the right one (index lookups; arrays through unnest() were
# estimated at 10 rows and planned as hash joins over a scan, or re-planned every time).
# VALUES keeps the drafts' order: the relay publishes by outbox id, a timeline reads by id.
_PARTS: dict[str, tuple[str, tuple[str, ...], str]] = {
    # part: (parameter prefix, "name::type" of each column, the statement around {values})
    "orders": (
        "o",
        (
            "id::int",
            "status::text",
            "reason::text",
            "stage::text",
            "total_cents::bigint",
            "deadline_at::timestamptz",
            "version::int",
            "updated_at::timestamptz",
        ),
        """UPDATE orders SET status = v.status, reason = v.reason, stage = v.stage,
 total_cents = v.total_cents, deadline_at = v.deadline_at, version = v.version,
 updated_at = v.updated_at
 FROM (VALUES {values}) AS v({names}) WHERE orders.id = v.id""",
    ),
    "lines": (
        "l",
        ("id::int", "name::text", "unit_price_cents::bigint", "stock_state::text"),
        """UPDATE order_items SET name = v.name, unit_price_cents = v.unit_price_cents,
 stock_state = v.stock_state
 FROM (VALUES {values}) AS v({names}) WHERE order_items.id = v.id""",
    ),
    "new_payments": (
        "np",
        (
            "order_id::int",
            "idempotency_key::text",
            "amount_cents::bigint",
            "status::text",
            "updated_at::timestamptz",
        ),
        "INSERT INTO payments ({names}) VALUES {values}",
    ),
    "payments": (
        "p",
        ("order_id::int", "status::text", "updated_at::timestamptz"),
        """UPDATE payments SET status = v.status, updated_at = v.updated_at
 FROM (VALUES {values}) AS v({names}) WHERE payments.order_id = v.order_id""",
    ),
    "timeline": (
        "t",
        ("order_id::int", "at::timestamptz", "status::text", "event::text", "detail::text"),
        "INSERT INTO order_timeline ({names}) VALUES {values}",
    ),
    "outbox": (
        "e",
        (
            "event_id::uuid",
            "topic::text",
            "key::text",
            "payload::jsonb",
            "headers::jsonb",
            "created_at::timestamptz",
        ),
        "INSERT INTO outbox ({names}) VALUES {values}",
    ),
}
# Drafts per statement: a sweep's batch of 500 goes in a few statements, far below
# PostgreSQL's 65,535 parameters per statement.
CHUNK = 100


# Bounded: a sweep's batches come in many shapes; a step's few stay cached.
@lru_cache(maxsize=128)
def write_sql(shape: tuple[tuple[str, int], ...]) -> str:
    """The one statement writing ``shape`` ((part, rows) pairs), built once per shape."""
    ctes = []
    for part, count in shape:
        prefix, columns, template = _PARTS[part]
        names = ", ".join(c.split("::")[0] for c in columns)
        values = ", ".join(
            "(" + ", ".join(f"%({prefix}{i}_{c.replace('::', ')s::')}" for c in columns) + ")"
            for i in range(count)
        )
        ctes.append(f"w_{part} AS ({template.format(values=values, names=names)})")
    return "WITH " + ",\n".join(ctes) + "\nSELECT 1"


def write_rows(
    drafts: list[Draft], traces: Mapping[int, str | None] | None = None
) -> dict[str, list[tuple]]:
    """The rows each part writes for the drafts (parts without rows left out), each a tuple
    in the order of _PARTS' columns. Each event carries its order's correlation id from
    ``traces`` (order id -> id: a batch task's orders came from different requests), else
    the current task's. Pure but for the settings' topic and that current id."""
    rows: dict[str, list[tuple]] = {
        "orders": [
            (
                o.id,
                str(o.status),
                o.reason,
                str(o.stage),
                o.total_cents,
                o.deadline_at,
                o.version,
                o.updated_at,
            )
            for o in (d.order for d in drafts)
        ],
        "lines": [
            (new.id, new.name, new.unit_price_cents, str(new.stock_state))
            for d in drafts
            for old, new in zip(d.before.items, d.order.items, strict=True)
            if old != new
        ],
        "new_payments": [
            (
                d.order.id,
                d.order.payment.idempotency_key,
                d.order.payment.amount_cents,
                str(d.order.payment.status),
                d.order.updated_at,
            )
            for d in drafts
            if d.new_payment and d.order.payment is not None
        ],
        "payments": [
            (d.order.id, str(d.order.payment.status), d.now)
            for d in drafts
            if not d.new_payment
            and d.order.payment is not None
            and d.order.payment != d.before.payment
        ],
        "timeline": [
            (t.order_id, t.at, str(t.status), t.event, t.detail) for d in drafts for t in d.timeline
        ],
        "outbox": [],
    }
    for d in drafts:
        for event in d.events:
            envelope = Envelope(
                type=event.type,
                order_id=d.order.id,
                restaurant_id=d.order.restaurant_id,
                customer_id=d.order.customer_id,
                occurred_at=event.at,
                data=event.data,
            )
            trace = traces.get(d.order.id) if traces else None
            row = outbox.row(envelope, trace)  # the one shape of an outbox row
            rows["outbox"].append(
                (
                    row["event_id"],
                    row["topic"],
                    row["key"],
                    json.dumps(row["payload"]),
                    json.dumps(row["headers"]),
                    row["created_at"],
                )
            )
    return {part: found for part, found in rows.items() if found}


def write_statement(
    drafts: list[Draft], traces: Mapping[int, str | None] | None = None
) -> tuple[str, dict[str, Any]]:
    """The SQL and the parameters writing the drafts in one statement."""
    rows = write_rows(drafts, traces)
    params: dict[str, Any] = {}
    for part, found in rows.items():
        prefix, columns, _ = _PARTS[part]
        names = [c.split("::")[0] for c in columns]
        for i, row in enumerate(found):
            for name, value in zip(names, row, strict=True):
                params[f"{prefix}{i}_{name}"] = value
    return write_sql(tuple((part, len(found)) for part, found in rows.items())), params


def write(
    conn: Connection, drafts: list[Draft], traces: Mapping[int, str | None] | None = None
) -> None:
    """Write what the drafts decided, in the caller's transaction: the stock given back
    (if any) in one statement, then the orders, their lines, payments, timeline rows and
    outbox events in one more (one per CHUNK drafts). The orders must be locked by the
    caller (FOR UPDATE)."""
    drafts = [d for d in drafts if d.changed or d.timeline]
    if not drafts:
        return
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
    for start in range(0, len(drafts), CHUNK):
        conn.exec_driver_sql(*write_statement(drafts[start : start + CHUNK], traces))
