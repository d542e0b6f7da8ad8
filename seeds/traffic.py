"""Place N random orders through the real API and let the restaurants act on them, so a
newcomer can watch the pipeline work (Swagger, the events feed, the timelines)."""

from __future__ import annotations

import os
import random
import time

import requests

from seeds.demo import CUSTOMERS, RESTAURANTS
from seeds.load import progress

TOKENS = ["tok_ok"] * 8 + ["tok_flaky", "tok_decline"]


class Client:
    def __init__(self, base: str, email: str, password: str):
        self.base, self.http = base.rstrip("/"), requests.Session()
        # nginx's certificate comes from the stack's own CA (`make env`: COMANDA_CA_FILE).
        # Passed on every request: requests lets REQUESTS_CA_BUNDLE beat Session.verify.
        self.verify = os.environ.get("COMANDA_CA_FILE") or True
        reply = self.http.post(
            f"{self.base}/api/v1/auth/login",
            json={"email": email, "password": password},
            timeout=10,
            verify=self.verify,
        )
        reply.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.http.request(
            method, f"{self.base}/api/v1{path}", timeout=10, verify=self.verify, **kwargs
        )


def place_orders(base: str, count: int, seed: int | None = None) -> dict[str, int]:
    rng = random.Random(seed)
    customers = [Client(base, email, pw) for email, pw, _ in CUSTOMERS]
    kitchens = [Client(base, *spec["user"][:2]) for spec in RESTAURANTS]
    menus = {k: [m["id"] for m in k.call("GET", "/restaurant/menu").json()] for k in kitchens}
    restaurant_of = {k: k.call("GET", "/auth/me").json()["restaurant_id"] for k in kitchens}
    placed = []
    for n in range(1, count + 1):
        kitchen = rng.choice(kitchens)
        items = [
            {"menu_item_id": rng.choice(menus[kitchen]), "quantity": rng.randint(1, 3)}
            for _ in range(rng.randint(1, 3))
        ]
        reply = rng.choice(customers).call(
            "POST",
            "/orders",
            json={
                "restaurant_id": restaurant_of[kitchen],
                "items": items,
                "delivery_address": "Rua de Exemplo, 100",
                "payment": {"method": "card", "token": rng.choice(TOKENS)},
            },
        )
        reply.raise_for_status()
        placed.append((kitchen, reply.json()["id"]))
        progress(n, count, f"order {reply.json()['id']} placed")
    outcome: dict[str, int] = {}
    deadline = time.monotonic() + 60
    pending = list(placed)
    while pending and time.monotonic() < deadline:
        still = []
        for kitchen, order_id in pending:
            status = kitchen.call("GET", f"/restaurant/orders/{order_id}").json()["status"]
            if status == "PLACED":
                still.append((kitchen, order_id))
                continue
            if status == "AWAITING_ACCEPTANCE":
                if rng.random() < 0.85:
                    kitchen.call("POST", f"/restaurant/orders/{order_id}/accept")
                    for step in ("PREPARING", "READY", "DISPATCHED", "DELIVERED")[
                        : rng.randint(0, 4)
                    ]:
                        kitchen.call(
                            "POST", f"/restaurant/orders/{order_id}/status", json={"status": step}
                        )
                else:
                    kitchen.call(
                        "POST",
                        f"/restaurant/orders/{order_id}/reject",
                        json={"reason": "kitchen is full"},
                    )
            final = kitchen.call("GET", f"/restaurant/orders/{order_id}").json()["status"]
            outcome[final] = outcome.get(final, 0) + 1
        pending = still
        if pending:
            time.sleep(0.5)
    if pending:
        outcome["still PLACED after 60s"] = len(pending)
    return outcome
