"""The intake's two statements: what placing an order reads, and everything it writes.

The hot path of POST /orders (docs/perf-intake.md). ``look`` answers, in one round trip,
every question intake asks of the database: a fresh order id, whether the restaurant
exists, today's prices of the named items, and an earlier order made with the same
Idempotency-Key. ``write`` inserts the order, its lines, its timeline row, its outbox event
and its Idempotency-Key in ONE statement (data-modifying CTEs), so it is atomic on its own:
no BEGIN/COMMIT round trips on an autocommit connection, and the same inside a caller's
transaction. The decisions (what is refused, what the rows hold) stay in Python
(commands.py, view.py, rules.py); this module only moves rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

# nextval is taken before the write so the event and the reply can carry the id without a
# read back; an id not used (a refused body, a replay) is a gap, as after any rollback.
LOOK = text(
    """
    SELECT nextval('orders_id_seq') AS order_id,
           EXISTS (SELECT FROM restaurants WHERE id = :restaurant_id) AS restaurant_found,
           menu.ids AS item_ids,
           menu.prices AS prices,
           earlier.request_hash AS replay_hash,
           earlier.order_id AS replay_order_id
    FROM (SELECT array_agg(id) AS ids, array_agg(price_cents) AS prices
          FROM menu_items
          WHERE restaurant_id = :restaurant_id AND id = ANY(CAST(:item_ids AS int[]))) AS menu
    LEFT JOIN idempotency_keys AS earlier
           ON earlier.customer_id = :customer_id
          AND earlier.key = CAST(:key AS varchar)
          AND earlier.created_at >= :fresh_since
    """
)

# The key row goes first: when the key is taken (a live one: another request with it won
# a race), nothing else is written and the statement returns no row. An expired key is
# taken over (the 24 h window). Every other insert hangs off `placed`.
WRITE = text(
    """
    WITH claimed AS (
        INSERT INTO idempotency_keys AS k (customer_id, key, request_hash, order_id, created_at)
        SELECT :customer_id, CAST(:key AS varchar), :request_hash, :order_id, :created_at
        WHERE CAST(:key AS varchar) IS NOT NULL
        ON CONFLICT (customer_id, key) DO UPDATE
            SET request_hash = excluded.request_hash,
                order_id = excluded.order_id,
                created_at = excluded.created_at
            WHERE k.created_at < :fresh_since
        RETURNING 1
    ), placed AS (
        INSERT INTO orders (id, customer_id, restaurant_id, status, reason, stage,
                            delivery_address, payment_method, payment_token, total_cents,
                            unknown_items, deadline_at, version, created_at, updated_at)
        SELECT :order_id, :customer_id, :restaurant_id, :status, CAST(:reason AS varchar),
               :stage, :delivery_address, :payment_method, :payment_token,
               CAST(:total_cents AS bigint), :unknown_items, :deadline_at, :version,
               :created_at, :updated_at
        WHERE CAST(:key AS varchar) IS NULL OR EXISTS (SELECT FROM claimed)
        RETURNING id
    ), lines AS (
        INSERT INTO order_items (order_id, menu_item_id, quantity, notes, stock_state)
        SELECT placed.id, line.menu_item_id, line.quantity, line.notes, :stock_state
        FROM placed,
             unnest(CAST(:line_items AS int[]), CAST(:line_quantities AS int[]),
                    CAST(:line_notes AS varchar[])) WITH ORDINALITY
                 AS line(menu_item_id, quantity, notes, n)
        ORDER BY line.n
    ), timeline AS (
        INSERT INTO order_timeline (order_id, at, status, event)
        SELECT placed.id, :created_at, :status, 'placed' FROM placed
    ), event AS (
        INSERT INTO outbox (event_id, topic, key, payload, headers, created_at)
        SELECT :event_id, :topic, :event_key, CAST(:payload AS jsonb),
               CAST(:headers AS jsonb), :created_at
        FROM placed
    )
    SELECT id FROM placed
    """
)


@dataclass(frozen=True)
class Looked:
    """What intake reads: plain values for the decisions in commands.py."""

    order_id: int
    restaurant_found: bool
    prices: dict[int, int]  # menu item id -> price_cents, items of this restaurant only
    replay_hash: str | None
    replay_order_id: int | None


def look(
    conn: Connection,
    customer_id: int,
    restaurant_id: int,
    item_ids: list[int],
    key: str | None,
    fresh_since: datetime,
) -> Looked:
    row = conn.execute(
        LOOK,
        {
            "customer_id": customer_id,
            "restaurant_id": restaurant_id,
            "item_ids": item_ids,
            "key": key,
            "fresh_since": fresh_since,
        },
    ).one()
    return Looked(
        order_id=row.order_id,
        restaurant_found=row.restaurant_found,
        prices=dict(zip(row.item_ids or (), row.prices or (), strict=True)),
        replay_hash=row.replay_hash,
        replay_order_id=row.replay_order_id,
    )


def write(
    conn: Connection,
    order_id: int,
    row: dict[str, Any],
    lines: list[dict[str, Any]],
    stock_state: str,
    event: dict[str, Any],
    key: str | None,
    request_hash: str,
    fresh_since: datetime,
) -> bool:
    """Insert it all; False (nothing written) when a live key of the same name was there."""
    params = {
        **row,
        "order_id": order_id,
        "key": key,
        "request_hash": request_hash,
        "fresh_since": fresh_since,
        "stock_state": stock_state,
        "line_items": [line["menu_item_id"] for line in lines],
        "line_quantities": [line["quantity"] for line in lines],
        "line_notes": [line["notes"] for line in lines],
        "event_id": event["event_id"],
        "topic": event["topic"],
        "event_key": event["key"],
        "payload": json.dumps(event["payload"]),
        "headers": json.dumps(event["headers"]),
    }
    return conn.execute(WRITE, params).first() is not None
