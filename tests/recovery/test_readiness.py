"""Each service can be stopped and come back, and the system rides it out.

Runs against the running stack: it stops one service at a time with `python -m stack stop`
and starts it again. While it is down, /readyz answers 503 naming it. With Kafka or RabbitMQ
down the API still takes orders (they wait in the outbox or in Kafka) and they complete once
the service is back. With PostgreSQL down it answers 503 with Retry-After, never a 500 or a
hang.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
import requests

from tests import tls
from tests.integration.conftest import REPO

pytestmark = pytest.mark.integration
CHECK_NAME = {"postgres": "database", "kafka": "kafka", "rabbitmq": "rabbitmq"}
API = os.environ.get("COMANDA_URL", "")


def call(method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return tls.request(method, f"{API}{path}", headers=headers, timeout=20, **kwargs)


def login(email: str, password: str) -> str:
    reply = call("POST", "/api/v1/auth/login", json={"email": email, "password": password})
    assert reply.status_code == 200, reply.text
    return reply.json()["access_token"]


@pytest.fixture(scope="module")
def shop() -> dict:
    """A fresh restaurant with one item, its user's token and a customer's token."""
    tag = uuid.uuid4().hex[:8]
    admin = login("admin@comanda.dev", "admin-password")
    restaurant = call(
        "POST",
        "/api/v1/admin/restaurants",
        admin,
        json={"name": f"recovery-{tag}", "cuisine": "test"},
    ).json()
    user = {"email": f"kitchen-{tag}@t.io", "password": "kitchen-pass", "name": "k"}
    call("POST", f"/api/v1/admin/restaurants/{restaurant['id']}/users", admin, json=user)
    kitchen = login(user["email"], user["password"])
    item = call(
        "POST",
        "/api/v1/restaurant/menu",
        kitchen,
        json={"name": "soup", "price_cents": 1000, "stock": 100},
    ).json()
    buyer = {"email": f"buyer-{tag}@t.io", "password": "buyer-pass", "name": "b"}
    call("POST", "/api/v1/auth/register", json=buyer)
    return {
        "restaurant": restaurant["id"],
        "item": item["id"],
        "customer": login(buyer["email"], buyer["password"]),
    }


def place(shop: dict) -> requests.Response:
    return call(
        "POST",
        "/api/v1/orders",
        shop["customer"],
        json={
            "restaurant_id": shop["restaurant"],
            "delivery_address": "Rua 1",
            "items": [{"menu_item_id": shop["item"], "quantity": 1}],
            "payment": {"method": "card", "token": "tok_ok"},
        },
    )


def wait_for(probe, timeout: float, what: str):
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            last = probe()
            if last is not None and last is not False:
                return last
        except requests.RequestException as exc:
            last = exc
        time.sleep(1)
    raise AssertionError(f"{what}: last seen {last!r}")


def readyz() -> requests.Response:
    return call("GET", "/readyz")


def stack(command: str, service: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stack", command, service],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("service", ["rabbitmq", "kafka", "postgres"])
def test_a_stopped_service_is_named_ridden_out_and_recovered(service, shop):
    wait_for(lambda: readyz().status_code == 200, 90, "stack not ready before the test")
    stack("stop", service)
    try:
        down = wait_for(
            lambda: (r := readyz()).status_code == 503 and r,
            30,
            f"readyz stayed 200 without {service}",
        )
        body = down.json()
        assert body["checks"][CHECK_NAME[service]].startswith("down")
        assert CHECK_NAME[service] in body["message"]
        others = [c for s, c in CHECK_NAME.items() if s != service]
        assert all(body["checks"][c] == "ok" for c in others), body
        started = time.monotonic()
        during = place(shop)
        assert time.monotonic() - started < 15, "the API hung while a service was down"
        if service == "postgres":
            assert during.status_code == 503, during.text
            assert during.headers.get("Retry-After") and during.json()["message"]
            assert call("GET", "/healthz").status_code == 200  # the process itself is alive
        else:
            assert during.status_code == 202, during.text
    finally:
        stack("start", service)
    wait_for(lambda: readyz().status_code == 200, 90, f"readyz did not recover after {service}")
    if service != "postgres":
        order_id = during.json()["id"]
        wait_for(
            lambda: (
                call("GET", f"/api/v1/orders/{order_id}", shop["customer"]).json()["status"]
                == "AWAITING_ACCEPTANCE"
            ),
            90,
            f"an order placed while {service} was down did not complete",
        )
    after = place(shop)
    assert after.status_code == 202, after.text
    wait_for(
        lambda: (
            call("GET", f"/api/v1/orders/{after.json()['id']}", shop["customer"]).json()["status"]
            == "AWAITING_ACCEPTANCE"
        ),
        90,
        f"the pipeline did not resume after {service}",
    )
