"""python -m seeds.generator --rate R [--url URL]: steady traffic through the public API until
SIGTERM, for the console's demonstrations. Demo customers place orders at R per second (Poisson
arrivals would hide the effect of a fault behind their own noise, so the pace is even); the demo
restaurants accept every order awaiting them and move each confirmed one a step per pass.

Every order carries an Idempotency-Key, so a request whose reply was lost (an API process
stopped mid-request) is retried without a second order."""

from __future__ import annotations

import argparse
import os
import random
import signal
import threading
import time
import uuid

import requests

from seeds.client import session
from seeds.demo import CUSTOMERS, RESTAURANTS

NEXT = {"CONFIRMED": "PREPARING", "PREPARING": "READY", "READY": "DISPATCHED",
        "DISPATCHED": "DELIVERED"}  # fmt: skip
TOKENS = ["tok_ok"] * 9 + ["tok_decline"]


class Caller:
    """One demo account; logs in again whenever its token is refused."""

    def __init__(self, base: str, email: str, password: str):
        self.base, self.email, self.password = base.rstrip("/"), email, password
        self.http = session()  # HTTPS behind nginx, verified against COMANDA_CA_FILE
        self.token = None

    def call(self, method: str, path: str, **kwargs) -> requests.Response | None:
        try:
            if self.token is None:
                self._login()
            reply = self._send(method, path, **kwargs)
            if reply.status_code == 401:
                self._login()
                reply = self._send(method, path, **kwargs)
            return reply
        except (requests.RequestException, KeyError, ValueError):
            self.token = None
            return None  # the API is down or restarting: the loop tries again later

    def _send(self, method, path, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.http.request(
            method, f"{self.base}/api/v1{path}", headers=headers, timeout=10, **kwargs
        )

    def _login(self):
        reply = self.http.post(
            f"{self.base}/api/v1/auth/login",
            json={"email": self.email, "password": self.password},
            timeout=10,
        )
        self.token = reply.json()["access_token"]


def place(rng: random.Random, customer: Caller, restaurant_id: int, menu: list[int]) -> None:
    body = {
        "restaurant_id": restaurant_id,
        "items": [{"menu_item_id": rng.choice(menu), "quantity": 1}],
        "delivery_address": "Rua do Gerador, 1",
        "payment": {"method": "card", "token": rng.choice(TOKENS)},
    }
    key = f"gen-{uuid.uuid4()}"
    for _ in range(3):  # same key, same body: never a second order
        reply = customer.call("POST", "/orders", json=body, headers={"Idempotency-Key": key})
        if reply is not None and reply.status_code < 500:
            return
        time.sleep(1)


def restock(kitchen: Caller) -> None:
    """Keep the demo menus in stock: a long run would otherwise end in out_of_stock."""
    reply = kitchen.call("GET", "/restaurant/menu")
    if reply is None or reply.status_code != 200:
        return
    for item in reply.json():
        if item["stock"] < 50:
            kitchen.call("PATCH", f"/restaurant/menu/{item['id']}", json={"stock": 500})


def kitchen_pass(kitchen: Caller) -> None:
    for status in ("AWAITING_ACCEPTANCE", *NEXT):
        reply = kitchen.call("GET", f"/restaurant/orders?status={status}&limit=50")
        if reply is None or reply.status_code != 200:
            return
        for order in reply.json()["items"]:
            if status == "AWAITING_ACCEPTANCE":
                kitchen.call("POST", f"/restaurant/orders/{order['id']}/accept")
            else:
                kitchen.call(
                    "POST",
                    f"/restaurant/orders/{order['id']}/status",
                    json={"status": NEXT[status]},
                )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m seeds.generator", description=__doc__)
    parser.add_argument("--rate", type=float, default=2.0, help="orders per second")
    parser.add_argument("--url", default=os.environ.get("COMANDA_URL", "http://127.0.0.1:8000"))
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    rng = random.Random()
    customers = [Caller(args.url, email, pw) for email, pw, _ in CUSTOMERS]
    kitchens = [Caller(args.url, *spec["user"][:2]) for spec in RESTAURANTS]

    def kitchens_loop():
        passes = 0
        while not stop.is_set():
            for kitchen in kitchens:
                try:
                    kitchen_pass(kitchen)
                    if passes % 20 == 0:
                        restock(kitchen)
                except (requests.RequestException, KeyError, ValueError) as exc:
                    print(f"generator: kitchen pass failed: {exc!r}", flush=True)
            passes += 1
            stop.wait(0.5)

    threading.Thread(target=kitchens_loop, daemon=True).start()
    menus: dict[int, list[int]] = {}
    while not menus and not stop.is_set():
        for kitchen in kitchens:
            me, menu = kitchen.call("GET", "/auth/me"), kitchen.call("GET", "/restaurant/menu")
            if me is not None and menu is not None and menu.status_code == 200:
                menus[me.json()["restaurant_id"]] = [m["id"] for m in menu.json()]
        stop.wait(1)
    print(f"generator: {args.rate} orders/s to {args.url}", flush=True)
    interval, next_at, placed = 1.0 / max(args.rate, 0.01), time.monotonic(), 0
    while not stop.is_set():
        restaurant_id = rng.choice(list(menus))
        place(rng, rng.choice(customers), restaurant_id, menus[restaurant_id])
        placed += 1
        next_at += interval
        stop.wait(max(0.0, next_at - time.monotonic()))
    print(f"generator: stopped after {placed} orders", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
