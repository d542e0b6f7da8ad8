"""Engine, sessions and the unit of work: the transaction boundary.

Engines are created lazily on first use, never at import time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.core.settings import get_settings

_engines: dict[str, Engine] = {}
_pre_ping = True
_pool_size = 5
_options = ""  # libpq options of new connections (tune_for_worker)
_prepare_threshold: int | None = None  # psycopg's, for new connections (tune_for_worker)
_factories: dict[str, sessionmaker[Session]] = {}


def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().database_url
    if url not in _engines:
        _engines[url] = create_engine(
            url,
            pool_pre_ping=_pre_ping,
            pool_size=_pool_size,
            max_overflow=10,
            pool_timeout=5,
            connect_args=_connect_args(),
        )
    return _engines[url]


def tune_for_worker(threads: int) -> None:
    """Engines made after this are shaped for the Celery worker (call before its first
    database use):

    - No pre-ping. Every task retries on OperationalError, so a connection PostgreSQL
      dropped fails its statement, SQLAlchemy invalidates the pool, and the retry gets a
      fresh one. A ping was a round trip on every checkout, ~5 per order.
    - At least ``threads`` pooled connections, kept. With the default 5 for 8 threads, the
      6th to 8th were overflow, closed as they came back and opened again by the next task:
      each a new backend (fork, SCRAM, cold caches) that had lost what psycopg had prepared,
      so the steps' statements were parsed and planned on almost every call
      (pg_stat_statements, docs/perf-steps-sql.md).
    - Generic plans for prepared statements (plan_cache_mode). The steps read their batch
      with ``id = ANY(%(ids)s)``; a custom plan for the actual ids looked cheaper to the
      planner than the generic one (estimated for 10 ids), so PostgreSQL planned the
      five-table join again on every call, ~1 ms each (1.1 ms of PostgreSQL CPU per order
      at 100 orders/s). The generic plan is the same index lookups (docs/PERFORMANCE.md,
      seventh round).
    - Statements prepared on their second run on a connection, not their sixth (psycopg's
      prepare_threshold, 5 by default). A step writes its batch in one statement whose text
      has its row counts (app/orders/changes.py), so a step has tens of shapes, and each had
      to come 6 times to the same one of the 8 connections first: at 78 orders/s, 41 % of
      the writes were still parsed and planned on every call (0.93 ms of PostgreSQL each,
      against 0.46 prepared), and still 7 % once the worker had run for minutes. Preparing
      at the second run costs one Parse round trip per shape and connection
      (docs/PERFORMANCE.md, "Tenth round"); a shape seen once is never prepared."""
    global _pre_ping, _pool_size, _options, _prepare_threshold
    _pre_ping = False
    _pool_size = max(_pool_size, threads)
    _options = "-c plan_cache_mode=force_generic_plan"
    _prepare_threshold = 1


def _connect_args() -> dict[str, Any]:
    args: dict[str, Any] = {"connect_timeout": 3}
    if _options:
        args["options"] = _options
    if _prepare_threshold is not None:
        args["prepare_threshold"] = _prepare_threshold
    return args


def autocommit_engine(url: str | None = None) -> Engine:
    """Connections in autocommit mode, for work done in single statements (the API's
    request connection, app/api/connection.py): no BEGIN/COMMIT round trips, and nothing
    to roll back when a connection goes back to the pool (reset_on_return off). No
    pre-ping: its user retries its first statement once on a dropped connection instead
    (SQLAlchemy's "optimistic" disconnect handling), which saves a round trip per request."""
    url = url or get_settings().database_url
    key = f"{url}#autocommit"
    if key not in _engines:
        _engines[key] = create_engine(
            url,
            isolation_level="AUTOCOMMIT",
            pool_reset_on_return=None,
            pool_size=_pool_size,
            max_overflow=10,
            pool_timeout=5,
            connect_args=_connect_args(),
        )
    return _engines[key]


def driver_row(conn: Connection, sql: str, params: dict[str, Any]) -> tuple | None:
    """The first row (None if none) of one statement that returns rows, written for
    psycopg (``%(name)s`` parameters), run by psycopg itself on ``conn``'s own connection,
    in ``conn``'s transaction if it has one. For the API's per-request statements (the
    session check, the intake's read and write): SQLAlchemy's execution of a text() (bind
    processing, execution context, result metadata) cost more client CPU than psycopg and
    the round trip together (docs/perf-intake.md). Errors come out as SQLAlchemy's (DBAPIError and
    its subclasses, so the API's error handlers answer as for any other statement); on a
    dropped connection this one is invalidated and the pool emptied, as SQLAlchemy does
    (every older pooled connection is dead after a restart), so a retry gets a fresh one."""
    driver = conn.connection.driver_connection
    try:
        with driver.cursor() as cursor:
            # Straight to the row: asking for cursor.description first builds a Column
            # object per column, on every call.
            return cursor.execute(sql, params).fetchone()
    except psycopg.Error as exc:
        dropped = conn.dialect.is_disconnect(exc, driver, None)
        if dropped:
            conn.invalidate(exc)
            conn.engine.dispose()
        raise DBAPIError.instance(
            sql, params, exc, psycopg.Error, connection_invalidated=dropped, dialect=conn.dialect
        ) from exc


def autocommits(conn: Connection) -> bool:
    """Whether each statement on ``conn`` is its own transaction (autocommit_engine)."""
    return conn.connection.driver_connection.autocommit


def _factory(url: str | None = None) -> sessionmaker[Session]:
    url = url or get_settings().database_url
    if url not in _factories:
        _factories[url] = sessionmaker(get_engine(url), expire_on_commit=False)
    return _factories[url]


@contextmanager
def unit_of_work(url: str | None = None) -> Iterator[Session]:
    """One transaction: commits when the block ends cleanly, rolls back otherwise."""
    session = _factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def transaction(url: str | None = None) -> Iterator[Connection]:
    """One transaction on a bare connection (SQLAlchemy Core, no ORM session): for the hot
    paths that load plain rows and write a few statements."""
    with get_engine(url).begin() as conn:
        yield conn


@contextmanager
def autocommit(url: str | None = None) -> Iterator[Connection]:
    """A bare connection without a transaction: each statement commits on its own. For a
    lone read whose answer is checked again under a lock later (one round trip, where a
    transaction costs BEGIN and COMMIT besides). The autocommit pool has no pre-ping: the
    caller retries on a dropped connection (every Celery task does, on OperationalError)."""
    with autocommit_engine(url).connect() as conn:
        yield conn


@contextmanager
def read_only(url: str | None = None) -> Iterator[Session]:
    """A read in one snapshot (REPEATABLE READ): a view loaded in several statements (the
    order, then its timeline, then its payment) never mixes what was there before a
    concurrent commit with what came after it. Under READ COMMITTED each statement had its
    own snapshot, and a reply once showed a captured payment without its timeline row. A
    read-only transaction never fails to serialize, so this costs no retries.

    It ends with COMMIT, not ROLLBACK: for a transaction that wrote nothing they are the
    same to PostgreSQL (no WAL flush either way), but psycopg forgets every statement it
    had prepared on the connection at each ROLLBACK (and sends DEALLOCATE ALL), so each
    read made the pooled connection's next statements be parsed and planned again
    (docs/perf-steps-sql.md, fourth round)."""
    session = Session(
        bind=get_engine(url).execution_options(isolation_level="REPEATABLE READ"),
        expire_on_commit=False,
    )
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ping(url: str | None = None) -> None:
    with get_engine(url).connect() as conn:
        conn.execute(text("select 1"))


def dispose_all() -> None:
    """Drop pooled connections (after fork, or when a test restarts PostgreSQL)."""
    for engine in _engines.values():
        engine.dispose()
