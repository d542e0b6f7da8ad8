"""Stock claims: a conditional decrement that can never go negative or oversell.

Rows are always touched in primary-key order so concurrent orders never deadlock.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.core.models import MenuItem, Order


def _quantities(order: Order, state: str) -> list[tuple[int, int]]:
    wanted: Counter[int] = Counter()
    for line in order.items:
        if line.stock_state == state:
            wanted[line.menu_item_id] += line.quantity
    return sorted(wanted.items())


def reserve(session: Session, order: Order) -> bool:
    """Take stock for every line, or for none (False when a line cannot be served)."""
    savepoint = session.begin_nested()
    for menu_item_id, quantity in _quantities(order, "none"):
        taken = session.execute(
            update(MenuItem)
            .where(MenuItem.id == menu_item_id, MenuItem.stock >= quantity)
            .values(stock=MenuItem.stock - quantity)
            .returning(MenuItem.id)
            .execution_options(synchronize_session=False)
        ).first()
        if taken is None:
            savepoint.rollback()
            return False
    savepoint.commit()
    for line in order.items:
        line.stock_state = "reserved"
    return True


def release(session: Session, order: Order) -> bool:
    """Give back what the order holds; True when anything was released."""
    held = _quantities(order, "reserved")
    for menu_item_id, quantity in held:
        session.execute(
            update(MenuItem)
            .where(MenuItem.id == menu_item_id)
            .values(stock=MenuItem.stock + quantity)
            .execution_options(synchronize_session=False)
        )
    for line in order.items:
        if line.stock_state == "reserved":
            line.stock_state = "released"
    return bool(held)


def mark_sold(order: Order) -> None:
    for line in order.items:
        if line.stock_state == "reserved":
            line.stock_state = "sold"
