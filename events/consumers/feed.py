"""Fills each restaurant's events feed from its partition of ``orders``.

Idempotent on event_id: a redelivered event is inserted once.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert

from app.core.db import unit_of_work
from app.core.envelope import Envelope
from app.core.models import RestaurantEvent
from events.consumers.base import main

GROUP = "comanda-restaurant-feed"


def handle(envelope: Envelope) -> None:
    with unit_of_work() as session:
        session.execute(
            insert(RestaurantEvent)
            .values(
                event_id=envelope.event_id,
                restaurant_id=envelope.restaurant_id,
                type=str(envelope.type),
                order_id=envelope.order_id,
                occurred_at=envelope.occurred_at,
                data=envelope.data,
            )
            .on_conflict_do_nothing(index_elements=["event_id"])
        )


if __name__ == "__main__":
    main(GROUP, handle)
