"""The simulated gateway's one-statement calls stay idempotent by key under concurrent calls
(database comanda_test). Each race is forced, not hoped for: a separate transaction holds the
charge's row lock while the calls start, the test waits until PostgreSQL shows every one of
them waiting on that lock, then lets them go at once."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from app.core.db import get_engine
from app.payments.gateway import GatewayTransientError, SimulatedGateway
from seeds.waiting import wait_until

pytestmark = pytest.mark.integration

CALLS = 6


def charge(key: str) -> dict:
    with get_engine().connect() as conn:
        row = conn.execute(
            text(
                "select status, attempts, authorizations, captures from gateway_charges"
                " where idempotency_key = :k"
            ),
            {"k": key},
        ).one()
    return row._asdict()


def waiting_on_a_lock() -> int:
    with get_engine().connect() as conn:
        return conn.execute(
            text(
                "select count(*) from pg_stat_activity where datname = current_database()"
                " and wait_event_type = 'Lock'"
            )
        ).scalar()


def at_once(key: str, call) -> list:
    """``CALLS`` calls of ``call``, all queued on the charge's row lock before any runs;
    each returns its outcome or the exception it raised."""

    def attempt():
        try:
            return call()
        except GatewayTransientError as exc:
            return exc

    with get_engine().connect() as holder:
        holder.execute(
            text("select 1 from gateway_charges where idempotency_key = :k for update"),
            {"k": key},
        )
        with ThreadPoolExecutor(CALLS) as pool:
            futures = [pool.submit(attempt) for _ in range(CALLS)]
            assert wait_until(lambda: waiting_on_a_lock() == CALLS, timeout=20), (
                "the calls never all queued on the row lock"
            )
            holder.commit()
            return [f.result(timeout=30) for f in futures]


def test_concurrent_authorizations_of_one_key_authorize_once(on_test_db):
    gateway, key = SimulatedGateway(), f"race-{uuid.uuid4().hex}"
    assert gateway.lookup(key).status == "none"
    with pytest.raises(GatewayTransientError):  # tok_flaky: attempt 1 of 2 failing ones
        gateway.authorize(key, "tok_flaky", 1500)
    results = at_once(key, lambda: gateway.authorize(key, "tok_flaky", 1500))
    failed = [r for r in results if isinstance(r, GatewayTransientError)]
    # attempt 2 fails, attempt 3 authorizes, every later call finds it decided
    assert len(failed) == 1
    assert sorted(r.previous for r in results if r not in failed) == ["authorized"] * (
        CALLS - 2
    ) + ["pending"]
    assert charge(key) == {
        "status": "authorized",
        "attempts": 3,
        "authorizations": 1,
        "captures": 0,
    }


def test_concurrent_captures_capture_once_and_a_late_void_refunds(on_test_db):
    gateway, key = SimulatedGateway(), f"race-{uuid.uuid4().hex}"
    assert gateway.authorize(key, "tok_ok", 900).status == "authorized"
    results = at_once(key, lambda: gateway.capture(key))
    assert sorted(r.previous for r in results) == ["authorized"] + ["captured"] * (CALLS - 1)
    assert {r.status for r in results} == {"captured"}
    assert charge(key)["captures"] == 1
    voids = at_once(key, lambda: gateway.void(key))
    assert sorted((v.status, v.previous) for v in voids) == [("refunded", "captured")] + [
        ("refunded", "refunded")
    ] * (CALLS - 1)


def test_a_void_before_the_authorization_blocks_it(on_test_db):
    gateway, key = SimulatedGateway(), f"race-{uuid.uuid4().hex}"
    first = gateway.void(key)
    assert (first.status, first.previous) == ("voided", "none")
    again = gateway.void(key)
    assert (again.status, again.previous) == ("voided", "none")
    late = gateway.authorize(key, "tok_ok", 500)
    assert (late.status, late.previous) == ("voided", "voided")
    assert charge(key)["authorizations"] == 0
