"""Round trips to PostgreSQL per pipeline step (database comanda_test, no workers attached):
a regression guard on the hot path's cost. Counted with SQLAlchemy's engine events: every
statement, every BEGIN (psycopg sends it before a transaction's first statement), COMMIT
and ROLLBACK, and the pool's pre-ping when it is on, on both engines (the autocommit one
carries the gateway's statements and the unlocked reads). The figures are
docs/perf-steps-sql.md's "round trips per step"; a step that grows a statement fails here
and has to say why."""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from app.core.db import autocommit_engine, get_engine
from app.core.lifecycle import Status
from app.orders import pipeline
from app.payments.gateway import SimulatedGateway
from tests.support.usecases import body, new_kitchen, place

pytestmark = pytest.mark.integration

# Round trips each step may take (BEGIN, statements, COMMIT), the gateway's own included.
# Measured (docs/perf-steps-sql.md). validate: BEGIN, the lock, the lines + payment + shop,
# the one write statement, COMMIT. reserve: the same with the stock claim instead of the
# shop (one per menu item; one here). authorize: the unlocked read before the call (1), the
# gateway's one statement (1), the latency override read at most once a second per process
# (1, a lone autocommit statement; in here: a fresh process), the recording transaction (5).
LIMITS = {"validate": 5, "reserve": 6, "authorize": 8}


@contextmanager
def counting():
    engines = (get_engine(), autocommit_engine())  # transactions, and lone statements
    seen: Counter[str] = Counter()

    def statement(conn, cursor, sql, params, context, executemany):  # noqa: ARG001
        seen[sql.split(None, 1)[0].upper()] += 1

    def sent(conn) -> bool:
        """SQLAlchemy's transaction events fire on an autocommit connection too, where
        psycopg sends no BEGIN, COMMIT or ROLLBACK."""
        return not conn.connection.dbapi_connection.autocommit

    def begin(conn):
        seen["BEGIN"] += sent(conn)

    def commit(conn):
        seen["COMMIT"] += sent(conn)

    def rollback(conn):
        seen["ROLLBACK"] += sent(conn)

    hooks = [
        ("before_cursor_execute", statement),
        ("begin", begin),
        ("commit", commit),
        ("rollback", rollback),
    ]
    for engine in engines:
        for name, hook in hooks:
            event.listen(engine, name, hook)
    try:
        yield seen
    finally:
        for engine in engines:
            for name, hook in hooks:
                event.remove(engine, name, hook)


def test_each_step_stays_within_its_round_trips(on_test_db):
    kitchen = new_kitchen(stock=10, customers=1)
    order_id, _ = place(kitchen["customers"][0], body(kitchen))
    gateway = SimulatedGateway()
    get_engine()  # made (and its pool warmed) outside the count
    steps = {
        "validate": lambda: pipeline.validate(order_id),
        "reserve": lambda: pipeline.reserve_stock(order_id),
        "authorize": lambda: pipeline.authorize_payment(order_id, gateway),
    }
    counts = {}
    for name, run in steps.items():
        with counting() as seen:
            run()
        counts[name] = dict(seen)
    totals = {name: sum(seen.values()) for name, seen in counts.items()}
    print("round trips per step:", counts)
    assert all(totals[name] <= LIMITS[name] for name in LIMITS), counts
    with counting():
        # Done: a repeated task only reads.
        assert pipeline.authorize_payment(order_id, gateway) is None
    from app.core.db import read_only
    from app.core.models import Order

    with read_only() as s:
        assert s.get(Order, order_id).status == Status.AWAITING_ACCEPTANCE.value
