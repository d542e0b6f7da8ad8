"""The beat's sweeps over orders: acceptance timeouts and stuck-order re-drives.

Both change only rows they lock (FOR UPDATE SKIP LOCKED: an order a worker holds is left to
the next pass), decide in pure functions (app/orders/steps.py) and write in batches, one
transaction per batch.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.engine import Connection

from app.core.db import transaction
from app.core.lifecycle import HOLDS_RESERVATION, PAYMENT_OPEN, PaymentStatus, Stage, Status
from app.core.models import Order, Payment, utcnow
from app.core.settings import get_settings
from app.orders import facts, steps
from app.orders.changes import write
from app.orders.steps import Step

orders, payments = Order.__table__, Payment.__table__


def expire_batch(limit: int = 500) -> list[int]:
    """Cancel (acceptance_timeout) up to ``limit`` orders whose acceptance deadline passed,
    in one transaction; the void follows each order.cancelled event."""
    now = utcnow()
    with transaction() as conn:
        due = facts.load_where(
            conn,
            (orders.c.status == Status.AWAITING_ACCEPTANCE.value) & (orders.c.deadline_at < now),
            limit,
        )
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


def stuck_orders_in(conn: Connection, limit: int) -> list[tuple[int, Step]]:
    """stuck_orders in the caller's transaction: the rows stay locked until it ends."""
    now = utcnow()
    stuck = timedelta(seconds=get_settings().pipeline_stuck_seconds)
    rows = conn.execute(
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
            or_(
                (orders.c.status == Status.PLACED.value) & (orders.c.deadline_at < now),
                # confirmed with a payment to capture, or dead with one to void
                orders.c.status.notin_([str(s) for s in HOLDS_RESERVATION])
                & payments.c.status.in_([str(p) for p in PAYMENT_OPEN])
                & (orders.c.updated_at < now - stuck),
            ),
            or_(orders.c.next_redrive_at.is_(None), orders.c.next_redrive_at <= now),
        )
        .order_by(orders.c.id)
        .limit(limit)
        .with_for_update(of=orders, skip_locked=True)
    ).all()
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
