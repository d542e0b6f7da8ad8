"""stock.take against the real PostgreSQL (comanda_test): every menu item of an order in
one statement, all or nothing, never below zero."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from app.core.db import get_engine, transaction, unit_of_work
from app.core.models import MenuItem
from app.orders import stock
from tests.support.usecases import new_kitchen

pytestmark = pytest.mark.integration


def three_items(units: tuple[int, int, int]) -> list[int]:
    kitchen = new_kitchen(stock=units[0], customers=0)
    with unit_of_work() as s:
        more = [
            MenuItem(restaurant_id=kitchen["restaurant"], name=f"m{i}", price_cents=100, stock=n)
            for i, n in enumerate(units[1:])
        ]
        s.add_all(more)
        s.flush()
        return sorted([kitchen["item"], *(m.id for m in more)])


def stocks(ids: list[int]) -> list[int]:
    with unit_of_work() as s:
        return [s.get(MenuItem, i).stock for i in ids]


def test_every_line_is_taken_in_one_statement(on_test_db):
    ids = three_items((5, 5, 5))
    statements = []

    def seen(conn, cursor, sql, *_):  # noqa: ARG001
        statements.append(sql)

    event.listen(get_engine(), "before_cursor_execute", seen)
    try:
        with transaction() as conn:
            assert stock.take(conn, [(ids[0], 2), (ids[1], 5), (ids[2], 1)])
    finally:
        event.remove(get_engine(), "before_cursor_execute", seen)
    assert len(statements) == 1
    assert stocks(ids) == [3, 0, 4]


def test_one_short_line_takes_nothing(on_test_db):
    ids = three_items((5, 1, 5))
    with transaction() as conn:
        assert not stock.take(conn, [(ids[0], 2), (ids[1], 2), (ids[2], 2)])
    assert stocks(ids) == [5, 1, 5]


def test_an_unknown_menu_item_takes_nothing(on_test_db):
    ids = three_items((5, 5, 5))
    with transaction() as conn:
        assert not stock.take(conn, [(-1, 1), (ids[0], 1), (ids[2], 1)])
    assert stocks(ids) == [5, 5, 5]


def test_nothing_wanted_is_taken(on_test_db):
    with transaction() as conn:
        assert stock.take(conn, [])
