"""Users and tenants made through the public API, the way any client would make them: a
logged-in ``Client`` (``seeds.client.ApiClient`` plus who it is, waiting for an order's status,
paging), a ``FreshRestaurant`` with its own staff user, and the functions that make them.

The demos (demos/) and the test suites (tests/support) both build on this module, so a demo's
tenants are made exactly as the tests' are. Only the contract's endpoints are used.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from seeds.client import API, DEFAULT_ADDRESS, REQUEST_TIMEOUT, ApiClient, describe, expect
from seeds.waiting import wait_until

__all__ = [
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "API",
    "DEFAULT_ADDRESS",
    "DEFAULT_PASSWORD",
    "FINAL_PIPELINE",
    "REQUEST_TIMEOUT",
    "DEFAULT_ITEMS",
    "Client",
    "FreshRestaurant",
    "admin",
    "customer",
    "customers",
    "describe",
    "expect",
    "fresh_email",
    "fresh_name",
    "restaurant",
    "timeline_events",
]

ADMIN_EMAIL = "admin@comanda.dev"
ADMIN_PASSWORD = "admin-password"  # noqa: S105 - demo seed account from the contract
DEFAULT_PASSWORD = "e2e-password-123"  # noqa: S105

FINAL_PIPELINE = {"AWAITING_ACCEPTANCE", "REJECTED", "CANCELLED"}

Waiter = Callable[..., Any]


def fresh_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@e2e.comanda.test"


def fresh_name(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:10]}"


def timeline_events(order: dict) -> list[str]:
    return [step.get("event") for step in order.get("timeline") or []]


class Client(ApiClient):
    """An ``ApiClient`` that knows who it is (``user``) and how to wait (``wait_until``)."""

    def __init__(self, base_url: str, waiter: Waiter = wait_until):
        super().__init__(base_url)
        self.wait_until = waiter
        self.user: dict = {}

    def pages(self, path: str, params: dict | None = None, limit: int = 100) -> Iterator[dict]:
        """Every item of a paginated list, following ``next_cursor``."""
        params = dict(params or {})
        params["limit"] = limit
        seen_cursors: set[str] = set()
        while True:
            page = self.get_json(path, params=params)
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return
            if cursor in seen_cursors:  # an AssertionError, like expect()'s UnexpectedReply
                raise AssertionError(f"pagination loops on cursor {cursor!r}")
            seen_cursors.add(cursor)
            params["cursor"] = cursor

    # ------------------------------------------------------------------ orders

    @property
    def role(self) -> str | None:
        return self.user.get("role")

    def order_path(self, order_id: int) -> str:
        if self.role == "restaurant":
            return f"restaurant/orders/{order_id}"
        return f"orders/{order_id}"

    def place(self, restaurant_id: int, items: Iterable[Any], **kw: Any) -> dict:
        """Place an order that must be accepted for processing (202); return its body."""
        resp = expect(self.place_order(restaurant_id, items, **kw), 202)
        return resp.json()

    def order(self, order_id: int) -> dict:
        return self.get_json(self.order_path(order_id))

    def wait_for_status(
        self, order_id: int, statuses: str | Iterable[str], timeout: float = 30
    ) -> dict:
        wanted = {statuses} if isinstance(statuses, str) else set(statuses)
        last: dict = {}

        def reached() -> dict | None:
            last.clear()
            last.update(self.order(order_id))
            return dict(last) if last.get("status") in wanted else None

        try:
            return self.wait_until(
                reached, timeout=timeout, interval=0.2, message=f"order {order_id} in {wanted}"
            )
        except AssertionError as exc:
            raise AssertionError(
                f"order {order_id} never reached {sorted(wanted)} within {timeout}s; "
                f"last seen status={last.get('status')!r} reason={last.get('reason')!r} "
                f"payment={last.get('payment')!r} timeline={timeline_events(last)!r}"
            ) from exc

    def wait_for_payment(self, order_id: int, status: str, timeout: float = 30) -> dict:
        def reached() -> dict | None:
            order = self.order(order_id)
            return order if (order.get("payment") or {}).get("status") == status else None

        return self.wait_until(
            reached, timeout=timeout, message=f"order {order_id} payment {status}"
        )


@dataclass
class FreshRestaurant:
    """A restaurant made through the admin API, with its own logged-in staff user."""

    id: int
    name: str
    client: Client
    items: list[dict] = field(default_factory=list)
    body: dict = field(default_factory=dict)

    def item(self, index: int = 0) -> dict:
        return self.items[index]

    def item_id(self, index: int = 0) -> int:
        return self.items[index]["id"]

    def menu(self) -> dict[int, dict]:
        resp = expect(self.client.get("restaurant/menu"), 200)
        return {item["id"]: item for item in resp.json()}

    def stock(self, item_id: int) -> int:
        return self.menu()[item_id]["stock"]

    def wait_stock(self, item_id: int, expected: int, timeout: float = 30) -> int:
        seen: list[int] = []

        def reached() -> bool:
            seen.append(self.stock(item_id))
            return seen[-1] == expected

        try:
            self.client.wait_until(reached, timeout=timeout, message="stock")
        except AssertionError as exc:
            raise AssertionError(
                f"stock of item {item_id} never became {expected}; last seen {seen[-1:]}"
            ) from exc
        return expected

    def add_item(self, name: str, price_cents: int, stock: int) -> dict:
        resp = expect(
            self.client.post(
                "restaurant/menu", json={"name": name, "price_cents": price_cents, "stock": stock}
            ),
            201,
        )
        item = resp.json()
        self.items.append(item)
        return item

    def accept(self, order_id: int) -> requests.Response:
        return self.client.post(f"restaurant/orders/{order_id}/accept")

    def reject(self, order_id: int, reason: str = "kitchen closed") -> requests.Response:
        return self.client.post(f"restaurant/orders/{order_id}/reject", json={"reason": reason})

    def set_status(self, order_id: int, status: str) -> requests.Response:
        return self.client.post(f"restaurant/orders/{order_id}/status", json={"status": status})

    def events(self) -> list[dict]:
        return expect(self.client.get("restaurant/events"), 200).json()

    def ack(self, event_ids: Iterable[str]) -> requests.Response:
        return self.client.post("restaurant/events/ack", json={"event_ids": list(event_ids)})

    def update(self, **fields: Any) -> dict:
        return expect(self.client.patch("restaurant", json=fields), 200).json()


# --------------------------------------------------------------------------- making tenants

NewClient = Callable[[], Client]
DEFAULT_ITEMS = (("X-Burger", 2590, 50), ("Fries", 1290, 50))


def admin(new_client: NewClient) -> Client:
    """The demo admin account, logged in."""
    client = new_client()
    client.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    client.user = client.me()
    return client


def customer(
    new_client: NewClient,
    name: str | None = None,
    password: str = DEFAULT_PASSWORD,
    prefix: str = "customer",
) -> Client:
    """A freshly registered customer, logged in; ``client.user`` holds the register reply
    (id, email, name, role)."""
    client = new_client()
    email = fresh_email(prefix)
    client.user = expect(client.register(email, password, name or fresh_name("Customer")),
                         201).json()  # fmt: skip
    client.login(email, password)
    return client


def customers(new_client: NewClient, n: int, threads: int = 8, **kw: Any) -> list[Client]:
    """n fresh customers, registered a few at a time (each registration hashes a password
    with bcrypt, which is slow on purpose)."""
    with ThreadPoolExecutor(max_workers=max(1, min(n, threads))) as pool:
        return list(pool.map(lambda _: customer(new_client, **kw), range(n)))


def restaurant(
    boss: Client,
    new_client: NewClient,
    items: Iterable[tuple[str, int, int]] = DEFAULT_ITEMS,
    *,
    cuisine: str = "e2e",
    acceptance_seconds: int | None = None,
    name: str | None = None,
    prefix: str = "restaurant",
) -> FreshRestaurant:
    """A fresh open restaurant made by ``boss`` (an admin) through the admin API, its staff
    user (logged in) and its menu ``items`` ((name, price_cents, stock), made through the
    restaurant API)."""
    name = name or fresh_name("E2E Restaurant")
    body: dict[str, Any] = {"name": name, "cuisine": cuisine}
    if acceptance_seconds is not None:
        body["acceptance_seconds"] = acceptance_seconds
    made = expect(boss.post("admin/restaurants", json=body), 201).json()
    rid = made["id"]
    email = fresh_email(prefix)
    staff = {"email": email, "password": DEFAULT_PASSWORD, "name": f"Staff of {name}"}
    expect(boss.post(f"admin/restaurants/{rid}/users", json=staff), 201)
    client = new_client()
    client.login(email, DEFAULT_PASSWORD)
    client.user = client.me()
    fresh = FreshRestaurant(id=rid, name=name, client=client, body=made)
    for item_name, price, stock in items:
        fresh.add_item(item_name, price, stock)
    return fresh
