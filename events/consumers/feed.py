"""Fills each restaurant's events feed from its partition of ``orders``.

One poll's events are written by one INSERT ... ON CONFLICT (event_id) DO NOTHING of the
rows as one JSON array, in one transaction: a redelivered event is inserted once. Which row an event
becomes is app.orders.feed's rule.
"""

from __future__ import annotations

from sqlalchemy import text

from app.core.db import unit_of_work
from app.core.json_rows import rows_json
from app.core.settings import get_settings
from app.orders.feed import feed_rows
from events.consumers.base import Received, batched_fetch, main

GROUP = "comanda-restaurant-feed"
_COLS = "event_id, restaurant_id, type, order_id, occurred_at, data"
# Fixed text whatever the batch size (a SQLAlchemy multi-row VALUES was compiled per batch).
INSERT = text(
    f"insert into restaurant_events ({_COLS}, received_at) select {_COLS}, now()"
    " from jsonb_populate_recordset(null::restaurant_events, cast(:rows as jsonb))"
    " on conflict (event_id) do nothing"
)


def handle(batch: list[Received]) -> None:
    rows = feed_rows(received.envelope for received in batch)
    if not rows:
        return
    with unit_of_work() as session:
        session.execute(INSERT, {"rows": rows_json(rows)})


if __name__ == "__main__":
    main(GROUP, handle, batched_fetch(get_settings().feed_fetch_wait_ms))
