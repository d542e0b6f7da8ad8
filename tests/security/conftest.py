"""Fixtures for the security suite (the clients and tenants are the shared ones,
tests/support/fixtures.py): two of each kind of caller
with their objects, and an in-process API (a second "API process" on the stack's database)
for what cannot be done from 127.0.0.1 over HTTP without locking it out.

Failed logins from 127.0.0.1 are budgeted: 100 in 15 minutes lock every login from it. Tests
here that need many failures make them through ``inproc`` with a made-up client address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from app.core.db import dispose_all
from app.core.settings import Settings, get_settings, use_settings
from tests.support.client import Client, FreshRestaurant, describe

# Words that must never reach a client: stack traces, SQL, the libraries underneath.
LEAKS = (
    "traceback",
    'file "',
    "sqlalchemy",
    "psycopg",
    "postgres",
    "werkzeug",
    "flask",
    "pydantic",
    "gunicorn",
    "pyjwt",
    "bcrypt",
    "kafka",
    "celery",
    "select ",
    "insert into",
    "update orders",
    "exception",
)


def assert_no_leak(resp) -> None:
    text = resp.text.lower()
    found = [word for word in LEAKS if word in text]
    assert not found, f"reply names {found}: {describe(resp)}"
    assert "Server" not in resp.headers, resp.headers


def assert_error(resp, status: int) -> dict:
    """The one JSON error shape, with the exact status and nothing internal in it."""
    assert resp.status_code == status, describe(resp)
    assert resp.headers.get("Content-Type", "").startswith("application/json"), describe(resp)
    body = resp.json()
    assert isinstance(body.get("message"), str) and body["message"], body
    assert set(body) <= {"message", "errors"}, body
    if "errors" in body:
        assert isinstance(body["errors"], dict) and body["errors"], body
    assert_no_leak(resp)
    return body


PIPELINE_DONE = {"AWAITING_ACCEPTANCE", "REJECTED", "CANCELLED"}


@dataclass
class World:
    """Customers A and B, restaurants X and Y, and orders in known states:
    live = AWAITING_ACCEPTANCE (A at X, B at Y), done = CANCELLED (A at X, B at Y)."""

    a: Client
    b: Client
    x: FreshRestaurant
    y: FreshRestaurant
    admin: Client
    live_ax: int
    live_by: int
    done_ax: int
    done_by: int


@pytest.fixture(scope="session")
def world(make_restaurant, make_customer, as_admin) -> World:
    # A day to accept: the live orders must still be live when the last test looks at them.
    x, y = make_restaurant(acceptance_seconds=86_400), make_restaurant(acceptance_seconds=86_400)
    a, b = make_customer(), make_customer()
    live_ax = a.place(x.id, [(x.item_id(0), 1)])["id"]
    live_by = b.place(y.id, [(y.item_id(0), 1)])["id"]
    done_ax = a.place(x.id, [(x.item_id(1), 1)])["id"]
    done_by = b.place(y.id, [(y.item_id(1), 1)])["id"]
    for client, oid in ((a, done_ax), (b, done_by)):
        resp = client.post(f"orders/{oid}/cancel", json={})
        assert resp.status_code == 202, describe(resp)
    for client, oid in ((a, live_ax), (b, live_by)):
        assert client.wait_for_status(oid, PIPELINE_DONE)["status"] == "AWAITING_ACCEPTANCE"
    return World(a, b, x, y, as_admin, live_ax, live_by, done_ax, done_by)


@pytest.fixture
def inproc():
    """``inproc(**settings)`` -> a Flask test client of a second API instance on the stack's
    database. ``client.post(..., environ_base={"REMOTE_ADDR": ...})`` picks the address."""
    from roles import passwords

    before = get_settings()
    root = logging.getLogger()
    handlers = list(root.handlers)

    def make(**changes):
        from app.api import create_app

        passwords._dummy_hash = None  # made again at these settings' bcrypt cost
        app = create_app(Settings.from_env().with_(**changes))
        root.handlers[:] = handlers  # create_app sets up the service's logging
        return app.test_client()

    yield make
    use_settings(before)
    passwords._dummy_hash = None
    dispose_all()
