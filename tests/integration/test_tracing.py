"""A correlation id sent as X-Request-ID comes back in the reply and travels with the
order's work: the API's event, then (through Kafka and a Celery task) the worker's events."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from seeds.client import order_body
from tests.conftest import wait_until
from tests.support.client import expect

pytestmark = pytest.mark.integration


def test_the_request_id_follows_the_order_through_kafka_and_celery(
    make_restaurant, make_customer, db_engine
):
    restaurant, customer = make_restaurant(), make_customer()
    trace = f"trace-{uuid.uuid4().hex[:12]}"
    body = order_body(restaurant.id, [(restaurant.item_id(), 1)])
    reply = expect(customer.post("orders", json=body, headers={"X-Request-ID": trace}), 202)
    assert reply.headers["X-Request-ID"] == trace

    def kinds() -> list[str]:
        with db_engine.connect() as conn:
            return list(
                conn.execute(
                    text(
                        "select payload->>'type' from outbox where headers->>'correlation_id' = :t "
                        "order by id"
                    ),
                    {"t": trace},
                ).scalars()
            )

    seen = wait_until(
        lambda: (found := kinds()) and "order.awaiting_acceptance" in found and found,
        timeout=60,
        interval=0.5,
        message="the worker's events carrying the request id",
    )
    assert seen[0] == "order.placed", seen  # written by the API
    assert "order.awaiting_acceptance" in seen  # written by a Celery task, after Kafka


def test_a_malformed_request_id_is_replaced(api):
    reply = api.get("/healthz", token=None, headers={"X-Request-ID": "bad id\twith spaces" * 10})
    echoed = reply.headers["X-Request-ID"]
    assert echoed != "bad id\twith spaces" * 10 and len(echoed) == 32
