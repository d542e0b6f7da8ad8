"""Order reads, scoped in the query to the caller's customer or restaurant."""

from __future__ import annotations

from flask import request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.api.validation import page, page_args, query_choice
from app.core.db import read_only
from app.core.errors import BadRequest, NotFound
from app.core.lifecycle import Status
from app.core.models import Order
from app.orders.view import order_view

STATUSES = {s.value for s in Status}


def list_orders(**scope: int) -> dict:
    limit, below = page_args()
    status = query_choice("status", STATUSES)
    query = (
        select(Order)
        .options(selectinload(Order.timeline))
        .order_by(Order.id.desc())
        .limit(limit + 1)
    )
    for column, value in scope.items():
        query = query.where(getattr(Order, column) == value)
    if status:
        query = query.where(Order.status == status)
    if below is not None:
        query = query.where(Order.id < below)
    with read_only() as session:
        return page(session.scalars(query).all(), limit, lambda o: o.id, order_view)


def get_order(order_id: int, **scope: int) -> dict:
    query = select(Order).options(selectinload(Order.timeline)).where(Order.id == order_id)
    for column, value in scope.items():
        query = query.where(getattr(Order, column) == value)
    with read_only() as session:
        order = session.scalars(query).one_or_none()
        if order is None:
            raise NotFound("order not found")
        return order_view(order)


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 120 or not (key.isascii() and key.isprintable()):
        raise BadRequest("Idempotency-Key must be 1-120 printable ASCII characters")
    return key
