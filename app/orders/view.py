"""How an order looks to clients and in event payloads."""

from __future__ import annotations

from typing import Any

from app.core.envelope import iso
from app.core.lifecycle import PaymentStatus
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
    awaiting = order.status == "AWAITING_ACCEPTANCE" and order.deadline_at is not None
    view["acceptance_deadline"] = iso(order.deadline_at) if awaiting else None
    view["timeline"] = [
        {"at": iso(t.at), "status": t.status, "event": t.event, "detail": t.detail}
        for t in order.timeline
    ]
    return view
