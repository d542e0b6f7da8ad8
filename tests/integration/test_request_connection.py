"""The API's request connection (app/api/connection.py): one pooled autocommit connection
per request, no ping before it is used. A pooled connection that died while idle
(PostgreSQL restarted, or the backend was killed) is replaced on the spot, never a 5xx."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from app.core.db import autocommit_engine, get_engine
from app.core.settings import Settings, get_settings, use_settings
from tests.conftest import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def api():
    from app.api import create_app

    before, root = get_settings(), logging.getLogger()
    handlers = list(root.handlers)
    app = create_app(Settings.from_env())
    root.handlers[:] = handlers  # create_app sets up the service's logging
    yield app.test_client()
    use_settings(before)


def pooled_backend() -> int:
    """The backend pid of the one connection in the autocommit pool (made fresh here)."""
    engine = autocommit_engine()
    engine.dispose()
    with engine.connect() as conn:
        return conn.connection.driver_connection.info.backend_pid


def alive(pid: int) -> bool:
    with get_engine().connect() as conn:
        query = text("select count(*) from pg_stat_activity where pid = :p")
        found = conn.execute(query, {"p": pid})
        return bool(found.scalar())


def test_a_pooled_connection_killed_while_idle_is_replaced(api, customer):
    headers = {"Authorization": f"Bearer {customer.access_token}"}
    pid = pooled_backend()
    with get_engine().connect() as conn:
        conn.execute(text("select pg_terminate_backend(:p)"), {"p": pid})
    wait_until(lambda: not alive(pid), timeout=10, message=f"backend {pid} gone")
    reply = api.get("/api/v1/auth/me", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["id"] == customer.user["id"]


def test_the_place_order_path_survives_a_killed_pooled_connection(api, customer, make_restaurant):
    restaurant = make_restaurant(items=[("soup", 1000, 100)])
    headers = {"Authorization": f"Bearer {customer.access_token}"}
    body = {
        "restaurant_id": restaurant.id,
        "items": [{"menu_item_id": restaurant.item_id(), "quantity": 1}],
        "delivery_address": "Rua A, 1",
        "payment": {"method": "card", "token": "tok_ok"},
    }
    pid = pooled_backend()
    with get_engine().connect() as conn:
        conn.execute(text("select pg_terminate_backend(:p)"), {"p": pid})
    wait_until(lambda: not alive(pid), timeout=10, message=f"backend {pid} gone")
    reply = api.post("/api/v1/orders", json=body, headers=headers)
    assert reply.status_code == 202, reply.get_json()
    assert reply.get_json()["status"] == "PLACED"
