"""The demo's own tenants, made through the public API by the same code the test fixtures use
(seeds/tenants.py), so a demo never disturbs the seeded restaurants' stock or orders."""

from __future__ import annotations

import uuid

from demos.context import Context
from seeds import tenants
from seeds.tenants import Client, FreshRestaurant


def admin(ctx: Context) -> Client:
    return tenants.admin(ctx.client)


def restaurant(
    ctx: Context, boss: Client, stock: int = 100_000, label: str = "Demo"
) -> FreshRestaurant:
    """A fresh open restaurant with one item and its own logged-in staff user."""
    return tenants.restaurant(
        boss,
        ctx.client,
        [("Prato do dia", 2500, stock)],
        cuisine="demo",
        name=f"{label} {uuid.uuid4().hex[:6]}",
        prefix="demo-restaurant",
    )


def customer(ctx: Context) -> Client:
    return tenants.customer(ctx.client, "Demo Customer", prefix="demo-customer")


def customers(ctx: Context, n: int) -> list[Client]:
    # Registration hashes a password with bcrypt: a few at a time.
    return tenants.customers(ctx.client, n, threads=4, name="Demo Customer", prefix="demo-customer")
