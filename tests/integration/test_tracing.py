"""A correlation id sent as X-Request-ID comes back in the reply and travels with the
order's work: the API's event, then (through Kafka and a Celery task) the worker's events."""

from __future__ import annotations

import os
import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from tests import tls

pytestmark = pytest.mark.integration


def test_the_request_id_follows_the_order_through_kafka_and_celery():
    api = os.environ["COMANDA_URL"] + "/api/v1"
    login = tls.post(
        f"{api}/auth/login",
        timeout=20,
        json={"email": "bruno@comanda.dev", "password": "bruno-password"},
    )
    token = login.json()["access_token"]
    menu = tls.get(f"{api}/restaurants/2", timeout=20).json()["menu"]
    trace = f"trace-{uuid.uuid4().hex[:12]}"
    reply = tls.post(
        f"{api}/orders",
        timeout=20,
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": trace},
        json={
            "restaurant_id": 2,
            "delivery_address": "Rua 2",
            "items": [{"menu_item_id": menu[-1]["id"], "quantity": 1}],
            "payment": {"method": "card", "token": "tok_ok"},
        },
    )
    assert reply.status_code == 202 and reply.headers["X-Request-ID"] == trace
    engine = create_engine(os.environ["DATABASE_URL"])
    deadline, kinds = time.monotonic() + 60, []
    while time.monotonic() < deadline and "order.awaiting_acceptance" not in kinds:
        with engine.connect() as conn:
            kinds = (
                conn.execute(
                    text(
                        "select payload->>'type' from outbox where headers->>'correlation_id' = :t "
                        "order by id"
                    ),
                    {"t": trace},
                )
                .scalars()
                .all()
            )
        time.sleep(0.5)
    engine.dispose()
    assert kinds[0] == "order.placed", kinds  # written by the API
    assert "order.awaiting_acceptance" in kinds  # written by a Celery task, after Kafka


def test_a_malformed_request_id_is_replaced():
    reply = tls.get(
        os.environ["COMANDA_URL"] + "/healthz",
        timeout=20,
        headers={"X-Request-ID": "bad id\twith spaces" * 10},
    )
    echoed = reply.headers["X-Request-ID"]
    assert echoed != "bad id\twith spaces" * 10 and len(echoed) == 32
