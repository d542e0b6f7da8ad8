"""Fills each restaurant's events feed from its partition of ``orders``.

One poll's events are written by one multi-row INSERT ... ON CONFLICT (event_id) DO
NOTHING in one transaction: a redelivered event is inserted once. Which row an event
becomes is app.orders.feed's rule.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert

from app.core.db import unit_of_work
from app.core.models import RestaurantEvent
from app.orders.feed import feed_rows
from events.consumers.base import Received, main

GROUP = "comanda-restaurant-feed"


def handle(batch: list[Received]) -> None:
    rows = feed_rows(received.envelope for received in batch)
    if not rows:
        return
    with unit_of_work() as session:
        session.execute(
            insert(RestaurantEvent).values(rows).on_conflict_do_nothing(index_elements=["event_id"])
        )


if __name__ == "__main__":
    main(GROUP, handle)
