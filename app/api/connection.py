"""One pooled database connection per request for the endpoints that ask for it.

The guard checks the caller's session on it and the view goes on with the same one: one
pool checkout per request instead of one per step. It is in autocommit mode
(app/core/db.py, autocommit_engine): a read is one round trip, with no BEGIN and ROLLBACK
around it, and a write that must be atomic is one statement (app/orders/intake.py). It goes
back to the pool when the request ends, whatever happened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, g
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from app.core.db import autocommit_engine

T = TypeVar("T")


def request_connection() -> Connection:
    conn = g.get("db_connection")
    if conn is None:
        conn = autocommit_engine().connect()
        g.db_connection = conn
    return conn


def first_statement(run: Callable[[Connection], T]) -> T:
    """Run the request's first statement (a read), once more on a fresh connection if the
    pooled one turned out dead (PostgreSQL restarted since it was last used). SQLAlchemy
    then drops every older pooled connection too, so one retry is enough: its "optimistic"
    disconnect handling, in place of a ping before every checkout."""
    try:
        return run(request_connection())
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        release_connection()
        return run(request_connection())


def release_connection(_exc: BaseException | None = None) -> None:
    conn = g.pop("db_connection", None)
    if conn is not None:
        conn.close()


def register_request_connection(app: Flask) -> None:
    app.teardown_request(release_connection)
