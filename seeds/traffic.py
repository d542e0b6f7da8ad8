"""Place N random orders through the real API and let the restaurants act on them, so a
newcomer can watch the pipeline work (Swagger, the events feed, the timelines)."""

from __future__ import annotations

import random
import time

from seeds.client import ApiClient, expect, order_body
from seeds.demo import CUSTOMERS, RESTAURANTS
from seeds.load import progress

TOKENS = ["tok_ok"] * 8 + ["tok_flaky", "tok_decline"]


def logged_in(base: str, email: str, password: str) -> ApiClient:
    client = ApiClient(base, timeout=10)
    client.login(email, password)
    return client


def place_orders(base: str, count: int, seed: int | None = None) -> dict[str, int]:
    rng = random.Random(seed)
    customers = [logged_in(base, email, pw) for email, pw, _ in CUSTOMERS]
    kitchens = [logged_in(base, *spec["user"][:2]) for spec in RESTAURANTS]
    menus = {k: [m["id"] for m in k.get_json("restaurant/menu")] for k in kitchens}
    restaurant_of = {k: k.me()["restaurant_id"] for k in kitchens}
    placed = []
    for n in range(1, count + 1):
        kitchen = rng.choice(kitchens)
        items = [(rng.choice(menus[kitchen]), rng.randint(1, 3)) for _ in range(rng.randint(1, 3))]
        body = order_body(
            restaurant_of[kitchen],
            items,
            payment_token=rng.choice(TOKENS),
            address="Rua de Exemplo, 100",
        )
        order_id = expect(rng.choice(customers).post("orders", json=body), 202).json()["id"]
        placed.append((kitchen, order_id))
        progress(n, count, f"order {order_id} placed")
    outcome: dict[str, int] = {}
    deadline = time.monotonic() + 60
    pending = list(placed)
    while pending and time.monotonic() < deadline:
        still = []
        for kitchen, order_id in pending:
            status = kitchen.get_json(f"restaurant/orders/{order_id}")["status"]
            if status == "PLACED":
                still.append((kitchen, order_id))
                continue
            if status == "AWAITING_ACCEPTANCE":
                if rng.random() < 0.85:
                    kitchen.post(f"restaurant/orders/{order_id}/accept")
                    for step in ("PREPARING", "READY", "DISPATCHED", "DELIVERED")[
                        : rng.randint(0, 4)
                    ]:
                        kitchen.post(f"restaurant/orders/{order_id}/status", json={"status": step})
                else:
                    kitchen.post(
                        f"restaurant/orders/{order_id}/reject", json={"reason": "kitchen is full"}
                    )
            final = kitchen.get_json(f"restaurant/orders/{order_id}")["status"]
            outcome[final] = outcome.get(final, 0) + 1
        pending = still
        if pending:
            time.sleep(0.5)
    if pending:
        outcome["still PLACED after 60s"] = len(pending)
    return outcome
