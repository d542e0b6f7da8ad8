"""The sweeps' statements read only the orders that could be due, however many finished
orders the table holds. On the real PostgreSQL (comanda_test), in a transaction that is
rolled back: their plans start from small indexes (no Seq Scan, no merge join over the
primary keys, orders fetched by ``id = ANY(...)``), and adding 30,000 finished orders adds
almost nothing to the buffers a pass touches, where the plain stuck query read every order
and payment ever made (docs/perf-sweeps.md). Checked both as planned for the values at hand
and as a generic plan (what PostgreSQL may use once psycopg has prepared a statement run
five times)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Select, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from app.core.db import get_engine
from app.core.lifecycle import PaymentStatus, Reason, Stage, Status
from app.core.models import utcnow
from app.orders import facts, steps, sweeps
from tests.support.usecases import new_kitchen

pytestmark = pytest.mark.integration

FINISHED = 30_000
IN_FLIGHT = 300
# Orders awaiting their restaurants, each with an authorized payment: on a platform with
# many restaurants and long acceptance windows, many at any time.
AWAITING = 20_000
# Rows and buffers gathering a stuck pass's candidates may gain from them: through "open
# payments EXCEPT ALL held orders" (before migration s8a) 40,000 rows and ~15,000 buffers;
# through payments_settle_due, no rows, and a few dozen buffers at most (index pages the
# 20,000 new entries of orders_status_deadline split, and what earlier tests of the session
# left behind in comanda_test: 55 were seen in a full run).
AWAITING_GROWTH = 20
AWAITING_BUFFERS = 1_000
# Buffers a pass may gain from the 30,000 finished orders: read through the primary keys,
# as the plain stuck query did, they cost ~9,000; the two passes differ by a few hundred
# anyway (older tests' orders left in comanda_test are candidates).
GROWTH = 1_500

FILL = """
with o as (
  insert into orders (customer_id, restaurant_id, status, reason, stage, delivery_address,
                      payment_method, payment_token, total_cents, deadline_at, version,
                      created_at, updated_at)
  select :customer, :restaurant, :status, :reason, :stage, 'a', 'card', 'tok_ok', 1000,
         :deadline, 3, :at, :at
  from generate_series(1, :n)
  returning id
)
insert into payments (order_id, idempotency_key, amount_cents, status, updated_at)
select id, 'plan-' || id || '-' || md5(random()::text), 1000, :payment, :at from o
returning order_id
"""


class Crowd:
    """One connection in a transaction rolled back at the end, and the rows added to it."""

    def __init__(self, conn: Connection, kitchen: dict):
        self.conn, self.kitchen, self.ids = conn, kitchen, {}
        self.now, self.long_ago = utcnow(), utcnow() - timedelta(days=1)

    def fill(self, n: int, **row) -> list[int]:
        params = {
            "customer": self.kitchen["customers"][0],
            "restaurant": self.kitchen["restaurant"],
            "reason": None,
            "deadline": None,
            "at": self.long_ago,
            "n": n,
            **{k: str(v) if isinstance(v, str) else v for k, v in row.items()},
        }
        ids = list(self.conn.execute(text(FILL), params).scalars())
        self.conn.execute(text("analyze orders"))
        self.conn.execute(text("analyze payments"))
        return ids

    def finished(self) -> None:
        self.fill(
            FINISHED,
            status=Status.CANCELLED,
            reason=Reason.ACCEPTANCE_TIMEOUT,
            stage=Stage.AUTHORIZED,
            deadline=self.long_ago,
            payment=PaymentStatus.VOIDED,
        )

    def awaiting(self, n: int) -> None:
        self.fill(
            n,
            status=Status.AWAITING_ACCEPTANCE,
            stage=Stage.AUTHORIZED,
            deadline=self.now + timedelta(minutes=5),
            payment=PaymentStatus.AUTHORIZED,
        )


@pytest.fixture
def crowd(on_test_db):
    """300 orders awaiting acceptance with their authorized payments (not candidates), and
    one order of each kind the sweeps must find."""
    kitchen = new_kitchen(stock=10, customers=1)
    with get_engine().connect() as conn:
        outer = conn.begin()
        c = Crowd(conn, kitchen)
        c.awaiting(IN_FLIGHT)
        kinds = {
            "void": dict(status=Status.CANCELLED, reason=Reason.CUSTOMER_CANCELLED),
            "capture": dict(status=Status.CONFIRMED),
            "authorize": dict(
                status=Status.PLACED,
                stage=Stage.STOCK_RESERVED,
                deadline=c.now - timedelta(seconds=1),
                payment=PaymentStatus.PENDING,
            ),
            "expire": dict(
                status=Status.AWAITING_ACCEPTANCE, deadline=c.now - timedelta(seconds=1)
            ),
        }
        for name, row in kinds.items():
            (c.ids[name],) = c.fill(
                1, **{"stage": Stage.AUTHORIZED, "payment": PaymentStatus.AUTHORIZED, **row}
            )
        yield c
        outer.rollback()


def _statement(name: str, now: datetime) -> Select:
    if name == "stuck":
        # a limit no older test's leftovers can fill, so no plan may stop early
        return sweeps.stuck_query(now, timedelta(seconds=30), 10_000)
    # what facts.load_where runs for expire_batch
    return (
        select(*facts.ORDER_COLUMNS)
        .where(sweeps.expire_due(now))
        .order_by(sweeps.orders.c.id)
        .limit(10_000)
        .with_for_update(skip_locked=True)
    )


def _literal(value) -> str:
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'::timestamptz"
    assert isinstance(value, int), value
    return str(value)


def _plan(conn: Connection, statement: Select, generic: bool) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of the statement as the app sends it (statuses inline,
    the times and the limit as parameters), as a custom or a generic plan."""
    compiled = statement.compile(
        dialect=postgresql.dialect(paramstyle="numeric_dollar"),
        compile_kwargs={"render_postcompile": True},
    )
    args = ", ".join(_literal(compiled.params[name]) for name in compiled.positiontup)
    conn.exec_driver_sql(f"prepare sweep_plan as {compiled}")
    mode = "force_generic_plan" if generic else "force_custom_plan"
    conn.exec_driver_sql(f"set local plan_cache_mode = {mode}")
    raw = conn.exec_driver_sql(
        f"explain (analyze, buffers, format json) execute sweep_plan({args})"
    ).scalar()
    conn.exec_driver_sql("deallocate sweep_plan")
    return (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]


def _warm_plan(conn: Connection, name: str, generic: bool, now: datetime | None = None) -> dict:
    """The plan of a second pass: the first one locked the candidates and may have pruned
    pages, which the figures of a pass should not depend on. ``now`` fixes the sweep's
    clock, so two plans compared see the same deadlines passed."""
    _plan(conn, _statement(name, now or utcnow()), generic)
    return _plan(conn, _statement(name, now or utcnow()), generic)


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _buffers(plan: dict) -> int:
    return plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]


@pytest.mark.parametrize("generic", [False, True], ids=["custom", "generic"])
@pytest.mark.parametrize("name", ["stuck", "expire"])
def test_a_sweep_reads_the_due_orders_not_every_order(crowd, name, generic):
    before = _buffers(_warm_plan(crowd.conn, name, generic))
    crowd.finished()
    plan = _warm_plan(crowd.conn, name, generic)
    nodes = list(_nodes(plan))
    kinds = {n["Node Type"] for n in nodes}
    assert "Seq Scan" not in kinds and "Merge Join" not in kinds, kinds
    by_key = [n for n in nodes if n.get("Index Name") == "orders_pkey"]
    assert by_key and all("ANY" in n["Index Cond"] for n in by_key), by_key
    indexes = {n.get("Index Name") for n in nodes}
    assert "orders_status_deadline" in indexes
    if name == "stuck":
        assert "payments_settle_due" in indexes
    assert _buffers(plan) - before < GROWTH, (before, _buffers(plan))


def _gathering(plan: dict) -> dict:
    """The node gathering the candidate ids (the InitPlan under ``id = ANY(...)``)."""
    return next(n for n in _nodes(plan) if n.get("Parent Relationship") == "InitPlan")


def _rows_read(plan: dict) -> int:
    """Rows the plan's scans (its leaves) returned: whatever the planner's shape above them."""
    return sum(n["Actual Rows"] * n["Actual Loops"] for n in _nodes(plan) if not n.get("Plans"))


@pytest.mark.parametrize("generic", [False, True], ids=["custom", "generic"])
def test_the_stuck_sweep_reads_no_order_awaiting_its_restaurant(crowd, generic):
    """Every order awaiting acceptance holds an authorized payment: the sweep's open
    payments are those of orders that moved on (payments_settle_due), so 20,000 more orders
    awaiting add nothing to the candidates a pass gathers, nor to the rows and buffers it
    reads to gather them. (The lock phase's buffers depend on the older tests' leftovers in
    comanda_test, each a real candidate, and on which scan of the primary key the planner
    picks for them: the same candidates both times, so they are not compared.)"""
    now = utcnow()  # one clock for both passes: no leftover's deadline passes in between
    before = _gathering(_warm_plan(crowd.conn, "stuck", generic, now))
    crowd.awaiting(AWAITING)
    after = _gathering(_warm_plan(crowd.conn, "stuck", generic, now))
    assert after["Actual Rows"] == before["Actual Rows"]
    assert _rows_read(after) - _rows_read(before) < AWAITING_GROWTH, (
        _rows_read(before),
        _rows_read(after),
    )
    assert _buffers(after) - _buffers(before) < AWAITING_BUFFERS, (
        _buffers(before),
        _buffers(after),
    )
    indexes = {n.get("Index Name") for n in _nodes(after)}
    assert "payments_settle_due" in indexes, indexes


def test_the_sweeps_find_exactly_their_orders_among_many(crowd):
    crowd.finished()
    crowd.awaiting(AWAITING)
    found = dict(sweeps.stuck_orders_in(crowd.conn, limit=10_000))
    mine = {k: v for k, v in found.items() if k in crowd.ids.values()}
    assert mine == {
        crowd.ids["void"]: steps.Step.VOID,
        crowd.ids["capture"]: steps.Step.CAPTURE,
        crowd.ids["authorize"]: steps.Step.AUTHORIZE,
    }
    due = set(crowd.conn.execute(_statement("expire", utcnow())).scalars())
    assert due & set(crowd.ids.values()) == {crowd.ids["expire"]}
