"""Stock claims: a conditional decrement that can never go negative or oversell.

Rows are always touched in primary-key order so concurrent orders never deadlock. A line's
claim moves by the stock table of app/core/lifecycle.py (none -> reserved -> released | sold).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.core.lifecycle import StockState, move_stock
from app.core.models import MenuItem, Order


def _quantities(order: Order, state: StockState) -> list[tuple[int, int]]:
    wanted: Counter[int] = Counter()
    for line in order.items:
        if line.stock_state == state:
            wanted[line.menu_item_id] += line.quantity
    return sorted(wanted.items())


# The claim and its give-back as SQL text built once (the worker built and compiled an
# update() construct per menu item per call): the stock never goes negative, checked in the
# statement that takes it.
TAKE = """UPDATE menu_items SET stock = stock - %(units)s
WHERE id = %(id)s AND stock >= %(units)s RETURNING id"""
GIVE_BACK = "UPDATE menu_items SET stock = stock + %(units)s WHERE id = %(id)s"


def take(conn: Connection, wanted: list[tuple[int, int]]) -> bool:
    """Take ``(menu item, units)`` for every entry, or for none (False when one cannot be
    served: what was taken before it is given back in the same transaction). ``wanted`` is
    in menu item order, the lock order."""
    taken: list[tuple[int, int]] = []
    for menu_item_id, quantity in wanted:
        row = conn.exec_driver_sql(TAKE, {"id": menu_item_id, "units": quantity}).first()
        if row is None:
            for back_id, back_quantity in taken:
                conn.exec_driver_sql(GIVE_BACK, {"id": back_id, "units": back_quantity})
            return False
        taken.append((menu_item_id, quantity))
    return True


def reserve(session: Session, order: Order) -> bool:
    """Take stock for every line of an ORM order, or for none."""
    if not take(session.connection(), _quantities(order, StockState.NONE)):
        return False
    _move_lines(order, StockState.NONE, StockState.RESERVED)
    return True


def release(session: Session, order: Order) -> bool:
    """Give back what the order holds; True when anything was released."""
    held = _quantities(order, StockState.RESERVED)
    for menu_item_id, quantity in held:
        session.execute(
            update(MenuItem)
            .where(MenuItem.id == menu_item_id)
            .values(stock=MenuItem.stock + quantity)
            .execution_options(synchronize_session=False)
        )
    _move_lines(order, StockState.RESERVED, StockState.RELEASED)
    return bool(held)


def mark_sold(order: Order) -> None:
    _move_lines(order, StockState.RESERVED, StockState.SOLD)


def _move_lines(order: Order, current: StockState, target: StockState) -> None:
    for line in order.items:
        if line.stock_state == current:
            line.stock_state = str(move_stock(StockState(line.stock_state), target))
