"""The intake's two statements: what placing an order reads, and everything it writes.

The hot path of POST /orders (docs/perf-intake.md). ``look`` answers, in one round trip,
every question intake asks of the database: a fresh order id, whether the restaurant
exists, today's prices of the named items, and an earlier order made with the same
Idempotency-Key. ``write`` inserts the order, its lines, its timeline row, its outbox event
and its Idempotency-Key in ONE statement (data-modifying CTEs), so it is atomic on its own:
no BEGIN/COMMIT round trips on an autocommit connection, and the same inside a caller's
transaction. Both are psycopg's own SQL (``%(name)s``), run by ``db.driver_row``: on this
path SQLAlchemy's execution of a text() cost more CPU than psycopg and PostgreSQL's answer.
The decisions (what is refused, what the rows hold) stay in Python (commands.py, view.py,
rules.py); this module only moves rows.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from app.core.db import autocommits, driver_row

log = logging.getLogger("comanda.orders")

# nextval is taken before the write so the event and the reply can carry the id without a
# read back; an id not used (a refused body, a replay) is a gap, as after any rollback.
LOOK = """
    SELECT nextval('orders_id_seq') AS order_id,
           EXISTS (SELECT FROM restaurants WHERE id = %(restaurant_id)s) AS restaurant_found,
           menu.ids AS item_ids,
           menu.prices AS prices,
           earlier.request_hash AS replay_hash,
           earlier.order_id AS replay_order_id
    FROM (SELECT array_agg(id) AS ids, array_agg(price_cents) AS prices
          FROM menu_items
          WHERE restaurant_id = %(restaurant_id)s
            AND id = ANY(CAST(%(item_ids)s AS int[]))) AS menu
    LEFT JOIN idempotency_keys AS earlier
           ON earlier.customer_id = %(customer_id)s
          AND earlier.key = CAST(%(key)s AS varchar)
          AND earlier.created_at >= %(fresh_since)s
    """

# The key row goes first: when the key is taken (a live one: another request with it won
# a race), nothing else is written and the statement returns no row. An expired key is
# taken over (the 24 h window). Every other insert hangs off `placed`.
WRITE = """
    WITH claimed AS (
        INSERT INTO idempotency_keys AS k (customer_id, key, request_hash, order_id, created_at)
        SELECT %(customer_id)s, CAST(%(key)s AS varchar), %(request_hash)s, %(order_id)s,
               %(created_at)s
        WHERE CAST(%(key)s AS varchar) IS NOT NULL
        ON CONFLICT (customer_id, key) DO UPDATE
            SET request_hash = excluded.request_hash,
                order_id = excluded.order_id,
                created_at = excluded.created_at
            WHERE k.created_at < %(fresh_since)s
        RETURNING 1
    ), placed AS (
        INSERT INTO orders (id, customer_id, restaurant_id, status, reason, stage,
                            delivery_address, payment_method, payment_token, total_cents,
                            unknown_items, deadline_at, version, created_at, updated_at)
        SELECT %(order_id)s, %(customer_id)s, %(restaurant_id)s, %(status)s,
               CAST(%(reason)s AS varchar), %(stage)s, %(delivery_address)s,
               %(payment_method)s, %(payment_token)s, CAST(%(total_cents)s AS bigint),
               %(unknown_items)s, %(deadline_at)s, %(version)s, %(created_at)s, %(updated_at)s
        WHERE CAST(%(key)s AS varchar) IS NULL OR EXISTS (SELECT FROM claimed)
        RETURNING id
    ), lines AS (
        INSERT INTO order_items (order_id, menu_item_id, quantity, notes, stock_state)
        SELECT placed.id, line.menu_item_id, line.quantity, line.notes, %(stock_state)s
        FROM placed,
             unnest(CAST(%(line_items)s AS int[]), CAST(%(line_quantities)s AS int[]),
                    CAST(%(line_notes)s AS varchar[])) WITH ORDINALITY
                 AS line(menu_item_id, quantity, notes, n)
        ORDER BY line.n
    ), timeline AS (
        INSERT INTO order_timeline (order_id, at, status, event)
        SELECT placed.id, %(created_at)s, %(status)s, 'placed' FROM placed
    ), event AS (
        INSERT INTO outbox (event_id, topic, key, payload, headers, created_at)
        SELECT %(event_id)s, %(topic)s, %(event_key)s, CAST(%(payload)s AS jsonb),
               CAST(%(headers)s AS jsonb), %(created_at)s
        FROM placed
    )
    SELECT id,
           -- on an autocommit connection the relay's wake-up is sent after the commit (WAKE)
           CASE WHEN %(wake_after)s
                THEN set_config('comanda.outbox_notify', 'off', true) END
    FROM placed
    """

# The relay's wake-up (its LISTEN channel, the outbox trigger's), sent once the order has
# committed, as a transaction of its own with an asynchronous commit. A NOTIFY inside the
# write would hold PostgreSQL's one cluster-wide notify lock through the write's WAL flush,
# so concurrent POSTs would commit one fsync at a time (no group commit); this one holds
# it for no flush. Lost in a crash, it is covered by the relay's poll (relay_poll_ms).
WAKE = "SELECT set_config('synchronous_commit', 'off', true), pg_notify('comanda_outbox', '')"


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
    row = driver_row(
        conn,
        LOOK,
        {
            "customer_id": customer_id,
            "restaurant_id": restaurant_id,
            "item_ids": item_ids,
            "key": key,
            "fresh_since": fresh_since,
        },
    )
    order_id, restaurant_found, item_ids_found, prices, replay_hash, replay_order_id = row
    return Looked(
        order_id=order_id,
        restaurant_found=restaurant_found,
        prices=dict(zip(item_ids_found or (), prices or (), strict=True)),
        replay_hash=replay_hash,
        replay_order_id=replay_order_id,
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
    """Insert it all; False (nothing written) when a live key of the same name was there.
    On an autocommit connection the write is its own transaction and the relay is woken
    after it (WAKE); inside a caller's transaction the outbox trigger wakes it at commit."""
    wake_after = autocommits(conn)
    params = {
        "wake_after": wake_after,
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
    written = driver_row(conn, WRITE, params) is not None
    if written and wake_after:
        wake_relay(conn)
    return written


def wake_relay(conn: Connection) -> None:
    """Best effort: the order has committed, so a failed wake-up (the connection dropped
    just now) must not turn its reply into an error (a client without an Idempotency-Key
    would place it again); the relay's poll finds the row instead."""
    try:
        driver_row(conn, WAKE, {})
    except DBAPIError as exc:
        log.warning("relay wake-up not sent: %s", type(exc).__name__)
