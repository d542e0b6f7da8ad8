"""Loading orders as plain data (app/orders/draft.py's OrderFacts) with SQLAlchemy Core:
the order rows in one statement (locked or not), their lines and payments in one more.

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
from app.core.models import MenuItem, Order, OrderItem, Payment, Restaurant
from app.orders.draft import Line, OrderFacts, Pay
from app.orders.steps import MenuEntry, PaymentCall, Shop

orders, lines_t, payments = Order.__table__, OrderItem.__table__, Payment.__table__
# The orders table again, unlocked, to hang the lines and payment of locked orders on.
orders_of_lines = orders.alias("o")
restaurants, menu = Restaurant.__table__, MenuItem.__table__

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


def _complete(conn: Connection, rows: Sequence) -> dict[int, OrderFacts]:
    """The locked order rows with their lines and payments, read in one more statement."""
    if not rows:
        return {}
    ids = [row.id for row in rows]
    items: dict[int, list[Line]] = {i: [] for i in ids}
    pays: dict[int, Pay] = {}
    # The orders (unlocked, after the lock) left-joined to their lines and payment: one row
    # per line, or a single row for an order without lines.
    for r in conn.execute(
        select(
            orders_of_lines.c.id.label("order_id"),
            lines_t.c.id,
            lines_t.c.menu_item_id,
            lines_t.c.quantity,
            lines_t.c.notes,
            lines_t.c.name,
            lines_t.c.unit_price_cents,
            lines_t.c.stock_state,
            payments.c.idempotency_key,
            payments.c.amount_cents,
            payments.c.status.label("payment_status"),
        )
        .select_from(
            orders_of_lines.outerjoin(
                lines_t, lines_t.c.order_id == orders_of_lines.c.id
            ).outerjoin(payments, payments.c.order_id == orders_of_lines.c.id)
        )
        .where(orders_of_lines.c.id.in_(ids))
        .order_by(lines_t.c.id)
    ):
        if r.id is not None:
            items[r.order_id].append(
                Line(
                    r.id,
                    r.menu_item_id,
                    r.quantity,
                    r.notes,
                    r.name,
                    r.unit_price_cents,
                    StockState(r.stock_state),
                )
            )
        if r.idempotency_key is not None:
            pays[r.order_id] = Pay(
                r.idempotency_key, r.amount_cents, PaymentStatus(r.payment_status)
            )
    return {
        row.id: OrderFacts(
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
            items=tuple(items[row.id]),
            payment=pays.get(row.id),
            unknown_items=row.unknown_items,
        )
        for row in rows
    }


def load(conn: Connection, order_id: int, lock: bool = True) -> OrderFacts | None:
    """One order, locked FOR UPDATE unless ``lock`` is False."""
    query = select(*ORDER_COLUMNS).where(orders.c.id == order_id)
    if lock:
        query = query.with_for_update()
    return _complete(conn, conn.execute(query).all()).get(order_id)


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


def shop(conn: Connection, order: OrderFacts) -> Shop | None:
    """The order's restaurant and the menu items of it that the order names."""
    wanted = sorted({line.menu_item_id for line in order.items})
    rows = conn.execute(
        select(restaurants.c.is_open, menu.c.id, menu.c.name, menu.c.price_cents, menu.c.available)
        .select_from(
            restaurants.outerjoin(
                menu, (menu.c.restaurant_id == restaurants.c.id) & menu.c.id.in_(wanted)
            )
        )
        .where(restaurants.c.id == order.restaurant_id)
    ).all()
    if not rows:
        return None
    entries = {
        r.id: MenuEntry(r.id, r.name, r.price_cents, r.available) for r in rows if r.id is not None
    }
    return Shop(is_open=rows[0].is_open, menu=entries)


def payment_call(conn: Connection, order_id: int) -> PaymentCall | None:
    """What a gateway step needs before its call, in one unlocked statement: the order's
    state, its payment, and its restaurant's time to accept."""
    row = conn.execute(
        select(
            orders.c.status,
            orders.c.stage,
            orders.c.payment_token,
            orders.c.total_cents,
            payments.c.status.label("payment_status"),
            payments.c.idempotency_key,
            restaurants.c.acceptance_seconds,
        )
        .select_from(
            orders.join(restaurants, restaurants.c.id == orders.c.restaurant_id).outerjoin(
                payments, payments.c.order_id == orders.c.id
            )
        )
        .where(orders.c.id == order_id)
    ).first()
    if row is None:
        return None
    return PaymentCall(
        order_id=order_id,
        status=Status(row.status),
        stage=Stage(row.stage),
        payment=PaymentStatus(row.payment_status) if row.payment_status else None,
        idempotency_key=row.idempotency_key,
        token=row.payment_token,
        amount_cents=row.total_cents,
        acceptance_seconds=row.acceptance_seconds if row.acceptance_seconds is not None else 300,
    )


def acceptance_seconds(conn: Connection, restaurant_id: int) -> int:
    value = conn.execute(
        select(restaurants.c.acceptance_seconds).where(restaurants.c.id == restaurant_id)
    ).scalar()
    return value if value is not None else 300
