"""The relay's wake-up after an intake (app/orders/intake.py WAKE, migration s5i).

On the API's autocommit connection the order's write must not NOTIFY inside its own
transaction (that holds PostgreSQL's cluster-wide notify lock through the commit's WAL
flush: concurrent POSTs would commit one fsync at a time); one wake-up follows it instead.
Inside a caller's transaction the outbox trigger still notifies at commit, and the caller's
commit stays synchronous. Counted per sending backend, up to a marker notification the
test sends last from the same backend: notifications of one backend arrive in commit
order, so nothing is waited for on a clock."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from app.core.db import get_engine
from app.orders import commands, intake
from tests.support.usecases import body, new_kitchen

pytestmark = pytest.mark.integration

CHANNEL = "comanda_outbox"  # events/relay.py CHANNEL, the trigger's channel


@pytest.fixture
def kitchen(on_test_db):
    return new_kitchen(stock=50, customers=1)


@pytest.fixture
def listener(on_test_db):
    url = on_test_db.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        yield conn


def wakeups_before_marker(listener, conn) -> list[str]:
    """Send a marker from ``conn``'s backend; the payloads of every notification that
    backend sent before it."""
    pid = conn.connection.driver_connection.info.backend_pid
    conn.exec_driver_sql(f"SELECT pg_notify('{CHANNEL}', 'marker')")
    seen = []
    for note in listener.notifies(timeout=30):
        if note.pid != pid:
            continue
        if note.payload == "marker":
            return seen
        seen.append(note.payload)
    raise AssertionError("the marker notification never arrived")


def test_an_autocommit_intake_wakes_the_relay_once_after_its_commit(kitchen, listener):
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        view, created = commands.place(conn, kitchen["customers"][0], body(kitchen), None)
        assert created
        # One, not two: the write's own transaction sent none (else it would come first).
        assert wakeups_before_marker(listener, conn) == [""]
        # The asynchronous commit was the wake-up's own; the connection is as it was.
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"


def test_inside_a_callers_transaction_the_trigger_still_wakes_the_relay(kitchen, listener):
    with get_engine().connect() as conn:
        with conn.begin():
            commands.place(conn, kitchen["customers"][0], body(kitchen), None)
            # The caller's commit must stay durable: nothing made it asynchronous.
            assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
        with conn.execution_options(isolation_level="AUTOCOMMIT") as marker:
            assert wakeups_before_marker(listener, marker) == [""]


def test_other_outbox_writers_are_unchanged(on_test_db, listener):
    """The trigger notifies by default (every other writer of the outbox)."""
    with get_engine().connect() as conn:
        with conn.begin():
            conn.execute(
                text(
                    "INSERT INTO outbox (event_id, topic, key, payload, headers, created_at)"
                    " VALUES (gen_random_uuid(), 'orders', 's5i-probe', '{}', '{}', now())"
                )
            )
            conn.execute(text("DELETE FROM outbox WHERE key = 's5i-probe'"))
        with conn.execution_options(isolation_level="AUTOCOMMIT") as marker:
            assert wakeups_before_marker(listener, marker) == [""]


def test_a_failed_wake_up_does_not_fail_the_committed_order(kitchen, monkeypatch):
    """The order committed before the wake-up: its reply stays a success (the relay's poll
    finds the row), so a client without an Idempotency-Key does not place it twice."""
    monkeypatch.setattr(intake, "WAKE", "SELECT 1 / 0")  # the wake-up's statement fails
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        view, created = commands.place(conn, kitchen["customers"][0], body(kitchen), None)
        assert created
        found = conn.execute(text("SELECT status FROM orders WHERE id = :id"), {"id": view["id"]})
        assert found.scalar() == "PLACED"
