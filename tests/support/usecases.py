"""Helpers for the tests that drive the use cases directly on the comanda_test database
(tests/integration): a fresh restaurant with customers, an order body, placing an order,
and whether PostgreSQL shows a session blocked on another's lock."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from app.core.db import read_only, unit_of_work
from app.core.models import MenuItem, Restaurant, User
from app.orders import commands


def new_kitchen(stock: int, customers: int) -> dict:
    """A restaurant (300 s to accept) with one item of ``stock`` units, and customers:
    ``{"restaurant": id, "item": id, "customers": [id, ...]}``."""
    with unit_of_work() as s:
        restaurant = Restaurant(
            name=f"r-{uuid.uuid4().hex[:6]}", cuisine="", is_open=True, acceptance_seconds=300
        )
        s.add(restaurant)
        s.flush()
        item = MenuItem(
            restaurant_id=restaurant.id, name="x", price_cents=1000, stock=stock, available=True
        )
        users = [
            User(email=f"{uuid.uuid4().hex}@t.io", password_hash="x", name="c", role="customer")
            for _ in range(customers)
        ]
        s.add_all([item, *users])
        s.flush()
        return {"restaurant": restaurant.id, "item": item.id, "customers": [u.id for u in users]}


def body(kitchen: dict, quantity: int = 1, token: str = "tok_ok") -> dict:
    return {
        "restaurant_id": kitchen["restaurant"],
        "delivery_address": "a",
        "items": [{"menu_item_id": kitchen["item"], "quantity": quantity, "notes": None}],
        "payment": {"method": "card", "token": token},
    }


def place(customer_id: int, payload: dict, key: str | None = None) -> tuple[int, bool]:
    with unit_of_work() as s:
        order, created = commands.place_order(s, customer_id, payload, key)
        return order.id, created


def someone_waits_for(backend: int) -> bool:
    """Whether another session is blocked on a lock that ``backend`` holds."""
    with read_only() as s:
        return bool(
            s.scalar(
                text(
                    "select count(*) from pg_stat_activity where :me = any(pg_blocking_pids(pid))"
                ),
                {"me": backend},
            )
        )
