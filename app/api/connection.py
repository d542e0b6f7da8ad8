"""One pooled database connection per request for the endpoints that ask for it.

The guard checks the caller's session on it and the view goes on with the same one: one
pool checkout (and one liveness ping) per request instead of one per step. It is in
autocommit mode: a read is one round trip, with no BEGIN and ROLLBACK around it, and a
write that must be atomic is one statement (app/orders/intake.py). It goes back to the pool
when the request ends, whatever happened.
"""

from __future__ import annotations

from flask import Flask, g
from sqlalchemy.engine import Connection

from app.core.db import get_engine


def request_connection() -> Connection:
    conn = g.get("db_connection")
    if conn is None:
        conn = get_engine().connect().execution_options(isolation_level="AUTOCOMMIT")
        g.db_connection = conn
    return conn


def release_connection(_exc: BaseException | None = None) -> None:
    conn = g.pop("db_connection", None)
    if conn is not None:
        conn.close()


def register_request_connection(app: Flask) -> None:
    app.teardown_request(release_connection)
