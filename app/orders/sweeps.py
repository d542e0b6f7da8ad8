"""The beat's sweeps over orders: acceptance timeouts and stuck-order re-drives.

Both change only rows they lock (FOR UPDATE SKIP LOCKED: an order a worker holds is left to
the next pass), decide in pure functions (app/orders/steps.py) and write in batches, one
transaction per batch.

Both run every few seconds for ever, so each reads only the orders that could be due,
never the whole orders table: their cost stays flat however many orders were ever placed
(docs/perf-sweeps.md). Each first gathers the candidate ids through small indexes
(orders_status_deadline; payments_settle_due, migrations/versions/s8a_payments_order_held.py)
into an array, then locks by primary key ``id = ANY(array)``. Written as ``id IN (subquery)`` or
``ORDER BY id LIMIT n`` over the table, the planner would walk the whole primary key in
id order to spare a sort (what it did: 130,000 rows read per pass to find none).
Statuses are written into the SQL as literals: psycopg prepares a statement run five
times, PostgreSQL may then plan it once for any parameters, and such a generic plan cannot
use a partial index whose predicate it cannot prove from a parameter.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Select,
    any_,
    bindparam,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.engine import Connection

from app.core.db import transaction
from app.core.lifecycle import HOLDS_RESERVATION, PAYMENT_OPEN, PaymentStatus, Stage, Status
from app.core.models import Order, Payment, utcnow
from app.core.settings import get_settings
from app.orders import facts, steps
from app.orders.changes import write
from app.orders.steps import Step

orders, payments = Order.__table__, Payment.__table__


def _is(column, status: str) -> ColumnElement[bool]:
    return column == literal(str(status), literal_execute=True)


def _one_of(column, statuses: Iterable[str]) -> ColumnElement[bool]:
    return column.in_([literal(str(s), literal_execute=True) for s in sorted(statuses)])


def _among(ids: Select) -> ColumnElement[bool]:
    """orders.id = ANY(ARRAY(ids)): the ids are gathered once (an InitPlan), then each
    order is fetched by primary key."""
    return orders.c.id == any_(func.array(ids.scalar_subquery()))


def expire_due(now: datetime) -> ColumnElement[bool]:
    """The orders whose acceptance deadline passed, found by orders_status_deadline (the
    condition is applied again to each locked row)."""
    waiting = _is(orders.c.status, Status.AWAITING_ACCEPTANCE) & (orders.c.deadline_at < now)
    due = orders.alias("due")
    late = select(due.c.id).where(
        _is(due.c.status, Status.AWAITING_ACCEPTANCE), due.c.deadline_at < now
    )
    return _among(late) & waiting


def expire_batch(limit: int = 500) -> list[int]:
    """Cancel (acceptance_timeout) up to ``limit`` orders whose acceptance deadline passed,
    in one transaction; the void follows each order.cancelled event."""
    now = utcnow()
    with transaction() as conn:
        due = facts.load_where(conn, expire_due(now), limit)
        drafts = [steps.expire(order, now) for order in due]
        write(conn, drafts)
    return [d.order.id for d in drafts if d.changed]


def expire_unaccepted(batch: int = 500, budget_seconds: float = 20.0) -> list[int]:
    """Batches until nothing is due or the budget is spent (a storm of thousands of
    deadlines is cleared in one pass, yet a pass never runs unbounded)."""
    expired: list[int] = []
    ends = time.monotonic() + budget_seconds
    while True:
        done = expire_batch(batch)
        expired += done
        if len(done) < batch or time.monotonic() > ends:
            return expired


def stuck_orders(limit: int = 200) -> list[tuple[int, Step]]:
    """Orders whose step got lost (PLACED past their pipeline deadline; a payment left to
    capture or void), locked and re-scheduled with backoff: each is re-driven at most once
    per backoff period, never on every pass. Returns (order id, step to queue)."""
    with transaction() as conn:
        return stuck_orders_in(conn, limit)


def stuck_query(now: datetime, stuck: timedelta, limit: int) -> Select:
    """The sweep's locking read. Its rows are exactly those of the plain query (orders LEFT
    JOIN payments WHERE placed_late OR left_open, not backed off, by id, LIMIT, FOR UPDATE
    OF orders SKIP LOCKED), but it reaches them from the two small sets they can come from:
    the PLACED orders past their deadline (orders_status_deadline), and the open payments of
    orders that no longer hold their reservation (payments_settle_due: ``order_held`` is
    kept in step with the order's status by PostgreSQL triggers, migration s8a). The plain
    query's merge join read every order and payment ever made on each pass; "open payments
    EXCEPT ALL held orders" read every order awaiting a restaurant twice, as each holds an
    authorized payment. The full conditions are applied again to the locked rows, so an
    order changed meanwhile is rechecked on its newest version, as before."""
    placed_late = _is(orders.c.status, Status.PLACED) & (orders.c.deadline_at < now)
    # confirmed with a payment to capture, or dead with one to void
    left_open = (
        ~_one_of(orders.c.status, HOLDS_RESERVATION)
        & _one_of(payments.c.status, PAYMENT_OPEN)
        & (orders.c.updated_at < now - stuck)
    )
    late, open_ = orders.alias("late"), payments.alias("open")
    candidates = union_all(
        select(late.c.id).where(_is(late.c.status, Status.PLACED), late.c.deadline_at < now),
        # NOT order_held, no parameter: a generic plan still proves payments_settle_due's
        # predicate from it.
        select(open_.c.order_id).where(_one_of(open_.c.status, PAYMENT_OPEN), ~open_.c.order_held),
    )
    return (
        select(
            orders.c.id,
            orders.c.status,
            orders.c.stage,
            payments.c.status.label("payment"),
            orders.c.deadline_at,
            orders.c.updated_at,
            orders.c.redrive_count,
            orders.c.next_redrive_at,
        )
        .select_from(orders.outerjoin(payments, payments.c.order_id == orders.c.id))
        .where(
            _among(candidates),
            or_(placed_late, left_open),
            or_(orders.c.next_redrive_at.is_(None), orders.c.next_redrive_at <= now),
        )
        .order_by(orders.c.id)
        .limit(limit)
        .with_for_update(of=orders, skip_locked=True)
    )


def stuck_orders_in(conn: Connection, limit: int) -> list[tuple[int, Step]]:
    """stuck_orders in the caller's transaction: the rows stay locked until it ends."""
    now = utcnow()
    stuck = timedelta(seconds=get_settings().pipeline_stuck_seconds)
    rows = conn.execute(stuck_query(now, stuck, limit)).all()
    plans = [
        plan
        for r in rows
        if (
            plan := steps.redrive(
                steps.StuckCandidate(
                    id=r.id,
                    status=Status(r.status),
                    stage=Stage(r.stage),
                    payment=PaymentStatus(r.payment) if r.payment else None,
                    deadline_at=r.deadline_at,
                    updated_at=r.updated_at,
                    redrive_count=r.redrive_count,
                    next_redrive_at=r.next_redrive_at,
                ),
                now,
                stuck,
            )
        )
    ]
    if plans:
        conn.execute(
            update(orders)
            .where(orders.c.id == bindparam("o_id"))
            .values(
                redrive_count=bindparam("count"),
                next_redrive_at=bindparam("next", type_=orders.c.next_redrive_at.type),
                deadline_at=func.coalesce(
                    bindparam("deadline", type_=orders.c.deadline_at.type), orders.c.deadline_at
                ),
            ),
            [
                {
                    "o_id": p.order_id,
                    "count": p.redrive_count,
                    "next": p.next_redrive_at,
                    "deadline": p.deadline_at,
                }
                for p in plans
            ],
        )
    return [(p.order_id, p.step) for p in plans]
