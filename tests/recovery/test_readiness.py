"""Each service can be stopped and come back, and the system rides it out.

Runs against the running stack: it stops one service at a time with `python -m stack stop`
and starts it again. While it is down, /readyz answers 503 naming it. With Kafka or RabbitMQ
down the API still takes orders (they wait in the outbox or in Kafka) and they complete once
the service is back. With PostgreSQL down it answers 503 with Retry-After, never a 500 or a
hang.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass

import pytest
import requests

from tests.conftest import wait_until
from tests.integration.conftest import REPO
from tests.support.client import Client, FreshRestaurant

pytestmark = pytest.mark.recovery
CHECK_NAME = {"postgres": "database", "kafka": "kafka", "rabbitmq": "rabbitmq"}


@dataclass
class Kitchen:
    """A fresh restaurant with one item, and a customer to order from it."""

    restaurant: FreshRestaurant
    customer: Client

    def place(self) -> requests.Response:
        return self.customer.place_order(self.restaurant.id, [(self.restaurant.item_id(), 1)])

    def status(self, order_id: int) -> str:
        return self.customer.order(order_id)["status"]


@pytest.fixture(scope="module")
def kitchen(make_restaurant, make_customer) -> Kitchen:
    return Kitchen(make_restaurant(items=[("soup", 1000, 100)]), make_customer())


def until(probe, timeout: float, what: str):
    """wait_until, with a refused connection counting as "not yet" (the API may restart)."""

    def attempt():
        try:
            return probe()
        except requests.RequestException as exc:
            raise AssertionError(repr(exc)) from exc

    # A quarter second: each wait ends soon after its condition holds (1 s cost ~half a second
    # per wait, five waits per service); readyz and an order read are cheap.
    return wait_until(attempt, timeout=timeout, interval=0.25, message=what)


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
def test_a_stopped_service_is_named_ridden_out_and_recovered(service, kitchen, api):
    def readyz() -> requests.Response:
        return api.get("/readyz", token=None)

    until(lambda: readyz().status_code == 200, 90, "stack not ready before the test")
    stack("stop", service)
    try:
        body = until(  # the body: a 503 Response itself is falsy
            lambda: (r := readyz()).status_code == 503 and r.json(),
            30,
            f"readyz stayed 200 without {service}",
        )
        assert body["checks"][CHECK_NAME[service]].startswith("down")
        assert CHECK_NAME[service] in body["message"]
        others = [c for s, c in CHECK_NAME.items() if s != service]
        assert all(body["checks"][c] == "ok" for c in others), body
        started = time.monotonic()
        during = kitchen.place()
        assert time.monotonic() - started < 15, "the API hung while a service was down"
        if service == "postgres":
            assert during.status_code == 503, during.text
            assert during.headers.get("Retry-After") and during.json()["message"]
            assert api.get("/healthz", token=None).status_code == 200  # the process itself is alive
        else:
            assert during.status_code == 202, during.text
    finally:
        stack("start", service)
    until(lambda: readyz().status_code == 200, 90, f"readyz did not recover after {service}")
    if service != "postgres":
        order_id = during.json()["id"]
        until(
            lambda: kitchen.status(order_id) == "AWAITING_ACCEPTANCE",
            90,
            f"an order placed while {service} was down did not complete",
        )
    after = kitchen.place()
    assert after.status_code == 202, after.text
    until(
        lambda: kitchen.status(after.json()["id"]) == "AWAITING_ACCEPTANCE",
        90,
        f"the pipeline did not resume after {service}",
    )
