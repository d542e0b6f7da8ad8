"""The gateway's simulated network delay: a run-time override (set from the console's demo
controls) stored in PostgreSQL, so every worker process sees the same value.

Each process reads it at most once per ``CACHE_SECONDS``: a demo change shows within about a
second, and a busy worker does not add a query to every payment call.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy.dialects.postgresql import insert

from app.core.db import autocommit, unit_of_work
from app.core.models import RuntimeOverride, utcnow

NAME = "gateway_latency_ms"
CACHE_SECONDS = 1.0
MAX_MS = 10_000

# Read on the autocommit pool, where the worker's other lone reads are: as a REPEATABLE READ
# transaction ended by ROLLBACK (read_only() did so) it cost 3 round trips and made psycopg
# drop what it had prepared on one of the steps' pooled connections every second.
READ = "SELECT value FROM runtime_overrides WHERE name = %(name)s"
_lock = threading.Lock()
_cached: tuple[float, int | None] = (float("-inf"), None)


def override_ms() -> int | None:
    """The override in milliseconds, or None when none is set (or the database is down:
    the gateway then falls back to its environment default rather than failing a payment)."""
    global _cached
    with _lock:
        at, value = _cached
        if time.monotonic() - at < CACHE_SECONDS:
            return value
    try:
        with autocommit() as conn:  # one lone statement: no BEGIN, no COMMIT
            value = conn.exec_driver_sql(READ, {"name": NAME}).scalar()
    except Exception:  # noqa: BLE001 - a demo knob must never break a payment
        value = None
    with _lock:
        _cached = (time.monotonic(), value)
    return value


def set_override_ms(value: int | None) -> None:
    """Set (0..MAX_MS) or clear (None) the override for every process."""
    with unit_of_work() as session:
        if value is None:
            row = session.get(RuntimeOverride, NAME)
            if row is not None:
                session.delete(row)
            return
        session.execute(
            insert(RuntimeOverride)
            .values(name=NAME, value=value, updated_at=utcnow())
            .on_conflict_do_update(
                index_elements=["name"], set_={"value": value, "updated_at": utcnow()}
            )
        )
