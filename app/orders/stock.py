"""Stock claims: a conditional decrement that can never go negative or oversell.

Rows are always touched in primary-key order so concurrent orders never deadlock. A line's
claim moves by the stock table of app/core/lifecycle.py (none -> reserved -> released | sold).
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

from sqlalchemy import update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.core.lifecycle import StockState, move_stock
from app.core.models import MenuItem, Order
from app.orders.steps import allocate


def _quantities(order: Order, state: StockState) -> list[tuple[int, int]]:
    wanted: Counter[int] = Counter()
    for line in order.items:
        if line.stock_state == state:
            wanted[line.menu_item_id] += line.quantity
    return sorted(wanted.items())


# The claim as SQL text built once per number of menu items (the worker built and compiled
# an update() construct per menu item per call, then sent one statement per menu item): one
# statement takes every line's units, checked in the statement so stock never goes
# negative. The rows are locked first, in menu item order (the lock order), by the CTE; the
# UPDATE only touches rows it already holds.
_TAKE = """WITH wanted(id, units) AS (VALUES {values}),
 locked AS (SELECT m.id FROM menu_items m WHERE m.id IN (SELECT id FROM wanted)
  ORDER BY m.id FOR UPDATE)
UPDATE menu_items m SET stock = m.stock - w.units FROM wanted w, locked l
WHERE m.id = w.id AND l.id = m.id AND m.stock >= w.units RETURNING m.id"""
GIVE_BACK = "UPDATE menu_items SET stock = stock + %(units)s WHERE id = %(id)s"
# A batch's claims (take_many): the menu items locked and read in id order, the decision in
# Python (steps.allocate), then what was granted taken in one more statement.
LOCK_STOCK = "SELECT id, stock FROM menu_items WHERE id = ANY(%(ids)s) ORDER BY id FOR UPDATE"
_SUBTRACT = """UPDATE menu_items m SET stock = m.stock - v.units
FROM (VALUES {values}) AS v(id, units) WHERE m.id = v.id"""


@lru_cache(maxsize=32)
def take_sql(items: int) -> str:
    """The one statement taking ``items`` menu items' units."""
    return _TAKE.format(
        values=", ".join(f"(%(id{i})s::int, %(units{i})s::int)" for i in range(items))
    )


def take(conn: Connection, wanted: list[tuple[int, int]]) -> bool:
    """Take ``(menu item, units)`` for every entry, or for none (False when one cannot be
    served: what the statement took is given back in the same transaction, a rare path).
    ``wanted`` is in menu item order, one entry per menu item."""
    if not wanted:
        return True
    params: dict[str, int] = {}
    for i, (menu_item_id, units) in enumerate(wanted):
        params[f"id{i}"], params[f"units{i}"] = menu_item_id, units
    taken = {row.id for row in conn.exec_driver_sql(take_sql(len(wanted)), params)}
    if len(taken) == len(wanted):
        return True
    for menu_item_id, units in wanted:  # in menu item order, as the claim
        if menu_item_id in taken:
            conn.exec_driver_sql(GIVE_BACK, {"id": menu_item_id, "units": units})
    return False


@lru_cache(maxsize=32)
def subtract_sql(items: int) -> str:
    return _SUBTRACT.format(
        values=", ".join(f"(%(id{i})s::int, %(units{i})s::int)" for i in range(items))
    )


def take_many(conn: Connection, claims: list[tuple[int, list[tuple[int, int]]]]) -> dict[int, bool]:
    """Each order's claim ``(order id, [(menu item, units)])`` taken whole or not at all, in
    the order given; returns which orders got their stock. One order is ``take``'s one
    statement; a batch is two (lock and read the items, then take what steps.allocate
    granted), however many orders and items."""
    if len(claims) == 1:
        order_id, wanted = claims[0]
        return {order_id: take(conn, wanted)}
    items = sorted({item for _, wanted in claims for item, _ in wanted})
    if not items:
        return {order_id: True for order_id, _ in claims}
    stock = {row.id: row.stock for row in conn.exec_driver_sql(LOCK_STOCK, {"ids": items})}
    granted, taken = allocate(stock, claims)
    if taken:
        params: dict[str, int] = {}
        for i, (menu_item_id, units) in enumerate(sorted(taken.items())):
            params[f"id{i}"], params[f"units{i}"] = menu_item_id, units
        conn.exec_driver_sql(subtract_sql(len(taken)), params)
    return granted


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
