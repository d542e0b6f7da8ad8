"""Fixtures every suite may use (a pytest plugin, loaded by tests/conftest.py): clients of
the running stack, logged-in users and fresh tenants, all made through the API."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from seeds import tenants
from seeds.tenants import DEFAULT_ITEMS, DEFAULT_PASSWORD, Client, FreshRestaurant


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
    admin = tenants.admin(new_client)
    assert admin.user["role"] == "admin", admin.user
    return admin


@pytest.fixture(scope="session")
def make_customer(new_client) -> Callable[..., Client]:
    """``make_customer()`` -> a freshly registered customer, logged in.

    ``client.user`` holds the register reply (id, email, name, role)."""

    def make(name: str | None = None, password: str = DEFAULT_PASSWORD) -> Client:
        return tenants.customer(new_client, name, password)

    return make


@pytest.fixture(scope="session")
def make_customers(new_client) -> Callable[[int], list[Client]]:
    """``make_customers(n)`` -> n fresh customers, created concurrently (bcrypt is slow)."""

    def make(n: int) -> list[Client]:
        return tenants.customers(new_client, n, threads=8)

    return make


@pytest.fixture(scope="session")
def make_restaurant(as_admin, new_client) -> Callable[..., FreshRestaurant]:
    """``make_restaurant(items=[(name, price_cents, stock), ...], acceptance_seconds=None)``.

    Creates a restaurant through the admin API, its restaurant user, logs that user in and
    creates the menu items through the restaurant API."""

    def make(
        items: Iterable[tuple[str, int, int]] = DEFAULT_ITEMS,
        *,
        cuisine: str = "e2e",
        acceptance_seconds: int | None = None,
        name: str | None = None,
    ) -> FreshRestaurant:
        fresh = tenants.restaurant(
            as_admin,
            new_client,
            items,
            cuisine=cuisine,
            acceptance_seconds=acceptance_seconds,
            name=name,
        )
        assert isinstance(fresh.id, int), fresh.body
        assert fresh.client.user.get("role") == "restaurant", fresh.client.user
        assert fresh.client.user["restaurant_id"] == fresh.id, fresh.client.user
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
