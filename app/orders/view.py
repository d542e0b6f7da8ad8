"""How an order looks to clients and in event payloads."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.core.envelope import iso
from app.core.lifecycle import PaymentStatus, Stage, Status
from app.core.models import Order


def order_summary(order: Order) -> dict[str, Any]:
    """The order without its timeline: what events carry."""
    payment = order.payment
    return {
        "id": order.id,
        "status": order.status,
        "reason": order.reason,
        "restaurant_id": order.restaurant_id,
        "customer_id": order.customer_id,
        "items": [
            {
                "menu_item_id": line.menu_item_id,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price_cents": line.unit_price_cents,
                "notes": line.notes,
            }
            for line in order.items
        ],
        "total_cents": order.total_cents,
        "delivery_address": order.delivery_address,
        "payment": {
            "status": payment.status if payment else PaymentStatus.PENDING,
            "amount_cents": payment.amount_cents if payment else order.total_cents,
        },
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
    }


def order_view(order: Order) -> dict[str, Any]:
    view = order_summary(order)
    # The restaurant's deadline to accept (the console's countdown); null in other states.
    awaiting = order.status == Status.AWAITING_ACCEPTANCE and order.deadline_at is not None
    view["acceptance_deadline"] = iso(order.deadline_at) if awaiting else None
    view["timeline"] = [
        {"at": iso(t.at), "status": t.status, "event": t.event, "detail": t.detail}
        for t in order.timeline
    ]
    return view


def new_order_row(
    customer_id: int, body: dict[str, Any], now: datetime, stuck_seconds: int
) -> dict[str, Any]:
    """The orders row a valid place-order body becomes (pure)."""
    return {
        "customer_id": customer_id,
        "restaurant_id": body["restaurant_id"],
        "status": str(Status.PLACED),
        "reason": None,
        "stage": str(Stage.NEW),
        "delivery_address": body["delivery_address"],
        "payment_method": body["payment"]["method"],
        "payment_token": body["payment"]["token"],
        "total_cents": None,
        "deadline_at": now + timedelta(seconds=stuck_seconds),
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def placed_view(order_id: int, row: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    """order_view of an order just placed, from what was written (pure): no line has its
    menu snapshot yet, there is no payment row, and the timeline is the one 'placed' row."""
    at = iso(row["created_at"])
    return {
        "id": order_id,
        "status": row["status"],
        "reason": None,
        "restaurant_id": row["restaurant_id"],
        "customer_id": row["customer_id"],
        "items": [
            {
                "menu_item_id": line["menu_item_id"],
                "name": None,
                "quantity": line["quantity"],
                "unit_price_cents": None,
                "notes": line["notes"],
            }
            for line in lines
        ],
        "total_cents": None,
        "delivery_address": row["delivery_address"],
        "payment": {"status": str(PaymentStatus.PENDING), "amount_cents": None},
        "created_at": at,
        "updated_at": at,
        "acceptance_deadline": None,  # set once the order awaits acceptance
        "timeline": [{"at": at, "status": row["status"], "event": "placed", "detail": None}],
    }
