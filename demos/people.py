"""The demo's own tenants, made through the public API the way the e2e fixtures make theirs,
so a demo never disturbs the seeded restaurants' stock or orders."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from demos.context import Context
from tests.support.client import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    DEFAULT_PASSWORD,
    Client,
    FreshRestaurant,
    expect,
    fresh_email,
)


def admin(ctx: Context) -> Client:
    client = ctx.client()
    client.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    client.user = client.me()
    return client


def restaurant(
    ctx: Context, boss: Client, stock: int = 100_000, label: str = "Demo"
) -> FreshRestaurant:
    """A fresh open restaurant with one item and its own logged-in staff user."""
    name = f"{label} {uuid.uuid4().hex[:6]}"
    body = expect(boss.post("admin/restaurants", json={"name": name, "cuisine": "demo"}), 201)
    rid = body.json()["id"]
    email = fresh_email("demo-restaurant")
    expect(
        boss.post(
            f"admin/restaurants/{rid}/users",
            json={"email": email, "password": DEFAULT_PASSWORD, "name": f"Staff of {name}"},
        ),
        201,
    )
    staff = ctx.client()
    staff.login(email, DEFAULT_PASSWORD)
    staff.user = staff.me()
    fresh = FreshRestaurant(id=rid, name=name, client=staff, body=body.json())
    fresh.add_item("Prato do dia", 2500, stock)
    return fresh


def customer(ctx: Context) -> Client:
    client = ctx.client()
    email = fresh_email("demo-customer")
    client.user = expect(client.register(email, DEFAULT_PASSWORD, "Demo Customer"), 201).json()
    client.login(email, DEFAULT_PASSWORD)
    return client


def customers(ctx: Context, n: int) -> list[Client]:
    # Registration hashes a password with bcrypt: a few at a time.
    with ThreadPoolExecutor(max_workers=min(n, 4)) as pool:
        return list(pool.map(lambda _: customer(ctx), range(n)))
