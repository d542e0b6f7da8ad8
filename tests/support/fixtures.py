"""Fixtures every suite may use (a pytest plugin, loaded by tests/conftest.py): clients of
the running stack, logged-in users and fresh tenants, all made through the API."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.client import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    DEFAULT_PASSWORD,
    Client,
    FreshRestaurant,
    expect,
    fresh_email,
    fresh_name,
)


@pytest.fixture(scope="session")
def new_client(base_url: str, wait) -> Callable[[], Client]:
    """``new_client()`` -> an anonymous client on the stack."""
    return lambda: Client(base_url, wait)


@pytest.fixture
def api(new_client) -> Client:
    """An anonymous client."""
    return new_client()


@pytest.fixture(scope="session")
def as_admin(new_client) -> Client:
    """The demo admin, logged in once per session (re-logs in by itself before expiry)."""
    admin = new_client()
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    admin.user = admin.me()
    assert admin.user["role"] == "admin", admin.user
    return admin


@pytest.fixture(scope="session")
def make_customer(new_client) -> Callable[..., Client]:
    """``make_customer()`` -> a freshly registered customer, logged in.

    ``client.user`` holds the register reply (id, email, name, role)."""

    def make(name: str | None = None, password: str = DEFAULT_PASSWORD) -> Client:
        client = new_client()
        email = fresh_email("customer")
        resp = expect(client.register(email, password, name or fresh_name("Customer")), 201)
        client.user = resp.json()
        client.login(email, password)
        return client

    return make


@pytest.fixture(scope="session")
def make_customers(make_customer) -> Callable[[int], list[Client]]:
    """``make_customers(n)`` -> n fresh customers, created concurrently (bcrypt is slow)."""

    def make(n: int) -> list[Client]:
        with ThreadPoolExecutor(max_workers=min(n, 8)) as pool:
            return list(pool.map(lambda _: make_customer(), range(n)))

    return make


@pytest.fixture(scope="session")
def make_restaurant(as_admin, new_client) -> Callable[..., FreshRestaurant]:
    """``make_restaurant(items=[(name, price_cents, stock), ...], acceptance_seconds=None)``.

    Creates a restaurant through the admin API, its restaurant user, logs that user in and
    creates the menu items through the restaurant API."""

    def make(
        items: Iterable[tuple[str, int, int]] = (("X-Burger", 2590, 50), ("Fries", 1290, 50)),
        *,
        cuisine: str = "e2e",
        acceptance_seconds: int | None = None,
        name: str | None = None,
    ) -> FreshRestaurant:
        name = name or fresh_name("E2E Restaurant")
        body: dict[str, Any] = {"name": name, "cuisine": cuisine}
        if acceptance_seconds is not None:
            body["acceptance_seconds"] = acceptance_seconds
        resp = expect(as_admin.post("admin/restaurants", json=body), 201)
        restaurant = resp.json()
        rid = restaurant["id"]
        assert isinstance(rid, int), restaurant

        email = fresh_email("restaurant")
        resp = expect(
            as_admin.post(
                f"admin/restaurants/{rid}/users",
                json={"email": email, "password": DEFAULT_PASSWORD, "name": f"Staff of {name}"},
            ),
            201,
        )
        staff = resp.json()
        assert staff.get("role") == "restaurant", staff

        client = new_client()
        client.login(email, DEFAULT_PASSWORD)
        client.user = client.me()
        assert client.user["restaurant_id"] == rid, client.user

        fresh = FreshRestaurant(id=rid, name=name, client=client, body=restaurant)
        for item_name, price, stock in items:
            fresh.add_item(item_name, price, stock)
        return fresh

    return make


class Fresh:
    """Fresh accounts made two at a time and handed out one per test, so every test still gets
    one nobody has used. A fresh account is two bcrypt rounds of cost 12 on the API (register
    or the admin's user creation, then login), and the API's processes run them on both cores
    at once: two made side by side cost about what one made alone does."""

    def __init__(self, make: Callable[[], Any], batch: int = 2) -> None:
        self.make, self.batch = make, batch
        self.spare: list[Any] = []

    def take(self) -> Any:
        if not self.spare:
            with ThreadPoolExecutor(max_workers=self.batch) as pool:
                self.spare = list(pool.map(lambda _: self.make(), range(self.batch)))
        return self.spare.pop(0)


@pytest.fixture(scope="session")
def fresh_restaurants(make_restaurant) -> Fresh:
    return Fresh(make_restaurant)


@pytest.fixture(scope="session")
def fresh_customers(make_customer) -> Fresh:
    return Fresh(make_customer)


@pytest.fixture
def restaurant(fresh_restaurants) -> FreshRestaurant:
    """A fresh restaurant with two items (2590 and 1290 cents, stock 50 each)."""
    return fresh_restaurants.take()


@pytest.fixture
def customer(fresh_customers) -> Client:
    """A freshly registered customer, logged in, used by no other test."""
    return fresh_customers.take()
