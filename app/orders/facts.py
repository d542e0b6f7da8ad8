"""Loading orders as plain data (app/orders/draft.py's OrderFacts): the order rows in one
statement (locked or not), their lines and payments (and for validate the shop) in one more.

The lock statement reads the orders rows alone; lines and payments are read by a separate
statement once the locks are held. Under READ COMMITTED a FOR UPDATE that waited re-reads
only the rows it locked, so rows joined into it could predate the transaction it waited for
(a cancel that waited for a reserve would not see the reserved lines: chaos bug 1).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from app.core.lifecycle import PaymentStatus, Stage, Status, StockState
from app.core.models import Order, Restaurant
from app.orders.draft import Line, OrderFacts, Pay
from app.orders.steps import MenuEntry, PaymentCall, Shop

orders, restaurants = Order.__table__, Restaurant.__table__

ORDER_COLUMNS = (
    orders.c.id,
    orders.c.customer_id,
    orders.c.restaurant_id,
    orders.c.status,
    orders.c.stage,
    orders.c.delivery_address,
    orders.c.payment_token,
    orders.c.created_at,
    orders.c.updated_at,
    orders.c.version,
    orders.c.reason,
    orders.c.total_cents,
    orders.c.deadline_at,
    orders.c.unknown_items,
)


# The statements of the hot path as SQL text, built once: a step runs a handful of statements,
# and building, cache-keying and compiling each as a Core construct on every call cost more
# of the worker's CPU than PostgreSQL spent running them (py-spy, docs/perf-steps-sql.md).
# Same columns and joins as the Core tables above; one stable text also lets psycopg prepare
# it after a few calls, which saves PostgreSQL its parse and plan.
_ORDER_SQL = "SELECT " + ", ".join(c.name for c in ORDER_COLUMNS) + " FROM orders"
LOCK_ONE = _ORDER_SQL + " WHERE id = %(id)s FOR UPDATE"
READ_ONE = _ORDER_SQL + " WHERE id = %(id)s"
# A step's batch: the rows locked in id order (LockRows runs over the sorted rows), the order
# every batch and every single-order lock agrees on, so two batches never deadlock.
LOCK_MANY = _ORDER_SQL + " WHERE id = ANY(%(ids)s) ORDER BY id FOR UPDATE"
# The orders (unlocked, after the lock) left-joined to their lines and payment: one row per
# line, or a single row for an order without lines. With the shop, each line's menu item of
# the order's restaurant and the restaurant itself (validate's one read besides the lock).
# One order by "=" (a generic plan of index lookups, prepared once); a batch by ANY(array).
_COMPLETE = """SELECT o.id AS order_id, l.id, l.menu_item_id, l.quantity, l.notes, l.name,
 l.unit_price_cents, l.stock_state, p.idempotency_key, p.amount_cents,
 p.status AS payment_status{shop_columns}
FROM orders o
LEFT JOIN order_items l ON l.order_id = o.id
LEFT JOIN payments p ON p.order_id = o.id{shop_joins}
WHERE {where}
ORDER BY l.id"""
_SHOP_COLUMNS = """,
 r.id AS shop_id, r.is_open, m.id AS m_id, m.name AS m_name, m.price_cents AS m_price,
 m.available AS m_available"""
_SHOP_JOINS = """
LEFT JOIN restaurants r ON r.id = o.restaurant_id
LEFT JOIN menu_items m ON m.id = l.menu_item_id AND m.restaurant_id = o.restaurant_id"""
COMPLETE_ONE = _COMPLETE.format(shop_columns="", shop_joins="", where="o.id = %(id)s")
COMPLETE_MANY = _COMPLETE.format(shop_columns="", shop_joins="", where="o.id = ANY(%(ids)s)")
COMPLETE_WITH_SHOP = _COMPLETE.format(
    shop_columns=_SHOP_COLUMNS, shop_joins=_SHOP_JOINS, where="o.id = %(id)s"
)
COMPLETE_MANY_WITH_SHOP = _COMPLETE.format(
    shop_columns=_SHOP_COLUMNS, shop_joins=_SHOP_JOINS, where="o.id = ANY(%(ids)s)"
)


def _facts(row, items: tuple[Line, ...], payment: Pay | None) -> OrderFacts:
    return OrderFacts(
        id=row.id,
        customer_id=row.customer_id,
        restaurant_id=row.restaurant_id,
        status=Status(row.status),
        stage=Stage(row.stage),
        delivery_address=row.delivery_address,
        payment_token=row.payment_token,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        reason=row.reason,
        total_cents=row.total_cents,
        deadline_at=row.deadline_at,
        items=items,
        payment=payment,
        unknown_items=row.unknown_items,
    )


def _line(r) -> Line:
    return Line(
        r.id,
        r.menu_item_id,
        r.quantity,
        r.notes,
        r.name,
        r.unit_price_cents,
        StockState(r.stock_state),
    )


def _complete(conn: Connection, rows: Sequence) -> dict[int, OrderFacts]:
    """The locked order rows with their lines and payments, read in one more statement."""
    if not rows:
        return {}
    ids = [row.id for row in rows]
    items: dict[int, list[Line]] = {i: [] for i in ids}
    pays: dict[int, Pay] = {}
    one = len(ids) == 1
    query, params = (COMPLETE_ONE, {"id": ids[0]}) if one else (COMPLETE_MANY, {"ids": ids})
    for r in conn.exec_driver_sql(query, params):
        if r.id is not None:
            items[r.order_id].append(_line(r))
        if r.idempotency_key is not None:
            pays[r.order_id] = Pay(
                r.idempotency_key, r.amount_cents, PaymentStatus(r.payment_status)
            )
    return {row.id: _facts(row, tuple(items[row.id]), pays.get(row.id)) for row in rows}


def load(conn: Connection, order_id: int, lock: bool = True) -> OrderFacts | None:
    """One order, locked FOR UPDATE unless ``lock`` is False."""
    rows = conn.exec_driver_sql(LOCK_ONE if lock else READ_ONE, {"id": order_id}).all()
    return _complete(conn, rows).get(order_id)


def load_many(conn: Connection, order_ids: Sequence[int]) -> dict[int, OrderFacts]:
    """Orders by id, locked FOR UPDATE in id order (those that exist)."""
    if len(order_ids) == 1:
        found = load(conn, order_ids[0])
        return {found.id: found} if found else {}
    rows = conn.exec_driver_sql(LOCK_MANY, {"ids": list(order_ids)}).all()
    return _complete(conn, rows)


def load_many_with_shop(
    conn: Connection, order_ids: Sequence[int]
) -> dict[int, tuple[OrderFacts, Shop | None]]:
    """Orders, locked FOR UPDATE in id order, and what ``steps.validate`` reads for each: its
    lines, payment, restaurant and the restaurant's menu items the lines name, in one more
    statement, whatever the batch's size."""
    one = len(order_ids) == 1
    if one:
        rows = conn.exec_driver_sql(LOCK_ONE, {"id": order_ids[0]}).all()
    else:
        rows = conn.exec_driver_sql(LOCK_MANY, {"ids": list(order_ids)}).all()
    if not rows:
        return {}
    lines: dict[int, list[Line]] = {row.id: [] for row in rows}
    payments: dict[int, Pay] = {}
    entries: dict[int, dict[int, MenuEntry]] = {row.id: {} for row in rows}
    is_open: dict[int, bool] = {}
    query, params = (
        (COMPLETE_WITH_SHOP, {"id": order_ids[0]})
        if one
        else (COMPLETE_MANY_WITH_SHOP, {"ids": [row.id for row in rows]})
    )
    for r in conn.exec_driver_sql(query, params):
        if r.id is not None:
            lines[r.order_id].append(_line(r))
        if r.idempotency_key is not None:
            payments[r.order_id] = Pay(
                r.idempotency_key, r.amount_cents, PaymentStatus(r.payment_status)
            )
        if r.shop_id is not None:
            is_open[r.order_id] = r.is_open
        if r.m_id is not None:
            entries[r.order_id][r.m_id] = MenuEntry(r.m_id, r.m_name, r.m_price, r.m_available)
    return {
        row.id: (
            _facts(row, tuple(lines[row.id]), payments.get(row.id)),
            None if row.id not in is_open else Shop(is_open=is_open[row.id], menu=entries[row.id]),
        )
        for row in rows
    }


def load_where(conn: Connection, condition: ColumnElement[bool], limit: int) -> list[OrderFacts]:
    """Up to ``limit`` orders meeting ``condition``, locked FOR UPDATE SKIP LOCKED, in id
    order: a sweep takes what nobody holds and leaves the rest to its next pass. The
    condition is checked again on the newest row version once locked."""
    rows = conn.execute(
        select(*ORDER_COLUMNS)
        .where(condition)
        .order_by(orders.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    return list(_complete(conn, rows).values())


_PAYMENT_CALL = """SELECT o.id, o.status, o.stage, o.payment_token, o.total_cents,
 p.status AS payment_status, p.idempotency_key, r.acceptance_seconds
FROM orders o
JOIN restaurants r ON r.id = o.restaurant_id
LEFT JOIN payments p ON p.order_id = o.id
WHERE {where}"""
PAYMENT_CALL = _PAYMENT_CALL.format(where="o.id = %(id)s")
PAYMENT_CALLS = _PAYMENT_CALL.format(where="o.id = ANY(%(ids)s)")


def _payment_call(row) -> PaymentCall:
    return PaymentCall(
        order_id=row.id,
        status=Status(row.status),
        stage=Stage(row.stage),
        payment=PaymentStatus(row.payment_status) if row.payment_status else None,
        idempotency_key=row.idempotency_key,
        token=row.payment_token,
        amount_cents=row.total_cents,
        acceptance_seconds=row.acceptance_seconds if row.acceptance_seconds is not None else 300,
    )


def payment_call(conn: Connection, order_id: int) -> PaymentCall | None:
    """What a gateway step needs before its call, in one unlocked statement: the order's
    state, its payment, and its restaurant's time to accept."""
    row = conn.exec_driver_sql(PAYMENT_CALL, {"id": order_id}).first()
    return None if row is None else _payment_call(row)


def payment_calls(conn: Connection, order_ids: Sequence[int]) -> dict[int, PaymentCall]:
    """payment_call for a batch, in one unlocked statement."""
    if len(order_ids) == 1:
        call = payment_call(conn, order_ids[0])
        return {call.order_id: call} if call else {}
    rows = conn.exec_driver_sql(PAYMENT_CALLS, {"ids": list(order_ids)})
    return {row.id: _payment_call(row) for row in rows}


def acceptance_seconds(conn: Connection, restaurant_id: int) -> int:
    value = conn.execute(
        select(restaurants.c.acceptance_seconds).where(restaurants.c.id == restaurant_id)
    ).scalar()
    return value if value is not None else 300
