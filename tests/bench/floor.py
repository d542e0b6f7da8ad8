"""The floor: the least an order intake can cost on this machine, measured in the same run.

A minimal Flask app on the API's own gunicorn settings (app/gunicorn_conf.py): verify the
JWT (roles.tokens, the API's own check) and, in one transaction, insert the order, its lines
and an outbox row. It writes to copies of those tables (``bench_floor_*``, made with LIKE
... INCLUDING ALL: the same columns, defaults and indexes) so nothing it writes reaches the
pipeline. Run as ``gunicorn -c app/gunicorn_conf.py "tests.bench.floor:app()"``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from flask import Flask, request
from sqlalchemy import text

from app.core.db import get_engine
from roles.tokens import InvalidToken, verify_access

TABLES = {"bench_floor_orders": "orders", "bench_floor_items": "order_items"}
TABLES["bench_floor_outbox"] = "outbox"

ORDER = text(
    "insert into bench_floor_orders (customer_id, restaurant_id, status, stage,"
    " delivery_address, payment_method, payment_token, version, created_at, updated_at)"
    " values (:c, :r, 'PLACED', 'new', :a, :m, :t, 1, :now, :now) returning id"
)
LINE = text(
    "insert into bench_floor_items (order_id, menu_item_id, quantity, stock_state)"
    " values (:o, :i, :q, 'none')"
)
OUTBOX = text(
    "insert into bench_floor_outbox (event_id, topic, key, payload, headers, created_at)"
    " values (:e, 'orders', :k, cast(:p as jsonb), '{}', :now)"
)


def create_tables() -> None:
    with get_engine().begin() as conn:
        for copy, original in TABLES.items():
            conn.execute(text(f"create table if not exists {copy} (like {original} including all)"))


def drop_tables() -> None:
    with get_engine().begin() as conn:
        for copy in TABLES:
            conn.execute(text(f"drop table if exists {copy}"))


def app() -> Flask:
    flask = Flask("floor")

    @flask.post("/api/v1/orders")
    def place():
        header = request.headers.get("Authorization", "")
        try:
            principal = verify_access(header.partition(" ")[2])
        except InvalidToken:
            return {"error": "unauthorized"}, 401
        body = request.get_json()
        now = datetime.now(UTC)
        with get_engine().begin() as conn:
            order_id = conn.execute(
                ORDER,
                {
                    "c": principal.user_id,
                    "r": body["restaurant_id"],
                    "a": body["delivery_address"],
                    "m": body["payment"]["method"],
                    "t": body["payment"]["token"],
                    "now": now,
                },
            ).scalar_one()
            conn.execute(
                LINE,
                [
                    {"o": order_id, "i": line["menu_item_id"], "q": line["quantity"]}
                    for line in body["items"]
                ],
            )
            payload = {"type": "order.placed", "order_id": order_id}
            conn.execute(
                OUTBOX,
                {
                    "e": uuid.uuid4(),
                    "k": str(body["restaurant_id"]),
                    "p": json.dumps(payload),
                    "now": now,
                },
            )
        return {"id": order_id, "status": "PLACED"}, 202

    return flask
