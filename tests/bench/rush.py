"""The bench's load: a lunch rush, not one menu item. Pure: from the restaurants and dishes
the bench created (harness.setup_rush), a deterministic (seeded) sequence of order bodies
that the load generator cycles through.

Why: with every order buying the one dish of one restaurant, every reservation waits on
that one stock row's lock (pg_stat_activity showed mostly Lock:transactionid at 60/s) and
every event carries the same Kafka key (the relay keys by restaurant: one partition of
six). A rush spreads over several restaurants, a few popular more than the rest, and over
their menus, 1-3 lines an order. ``--restaurants 1 --items 1`` is the old worst case:
every order the same single line.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

STOCK = 1_000_000  # units of each bench dish; see lasts()
MAX_LINES = 3
ADDRESS = "Rua do Benchmark, 1"
PAYMENT = {"method": "card", "token": "tok_ok"}
# The bench's restaurants take up to a day to accept (the API's longest window). A run leaves
# its orders awaiting acceptance; at the default 5 minutes they were cancelled and voided
# under the next run (a run at 22:03 met its predecessor's ~4,000: no rate held). Storms are
# measured on purpose by `make bench-storm`, not by accident here.
ACCEPTANCE_S = 86_400


@dataclass(frozen=True)
class Shape:
    restaurants: int = 8
    items: int = 6  # dishes per restaurant
    max_lines: int = MAX_LINES
    seed: int = 2026
    bodies: int = 4096  # the cycle the load generator goes round (a 60 s run at 100/s: 1.5x)


def weights(n: int) -> list[float]:
    """A rush's mild skew: the k-th most popular gets 1/sqrt(k) (of 8 restaurants the
    busiest takes ~23 % of orders, the quietest ~8 %)."""
    return [1 / (k + 1) ** 0.5 for k in range(n)]


def bodies(menu: list[tuple[int, list[int]]], shape: Shape) -> list[dict]:
    """``shape.bodies`` order bodies over ``menu`` [(restaurant id, [dish ids])]: each at one
    restaurant (an order's lines are of one restaurant), 1..max_lines distinct dishes of
    it, quantity 1. The same seed and menu give the same sequence."""
    rng = random.Random(shape.seed)
    shop_w = weights(len(menu))
    out = []
    for _ in range(shape.bodies):
        restaurant_id, dishes = rng.choices(menu, weights=shop_w)[0]
        lines = rng.randint(1, min(shape.max_lines, len(dishes)))
        chosen = _distinct(rng, dishes, weights(len(dishes)), lines)
        out.append(
            {
                "restaurant_id": restaurant_id,
                "delivery_address": ADDRESS,
                "items": [{"menu_item_id": d, "quantity": 1} for d in chosen],
                "payment": dict(PAYMENT),
            }
        )
    return out


def _distinct(rng: random.Random, pool: list[int], w: list[float], k: int) -> list[int]:
    """k distinct dishes, drawn by weight without replacement."""
    pool, w, got = list(pool), list(w), []
    for _ in range(k):
        i = rng.choices(range(len(pool)), weights=w)[0]
        got.append(pool.pop(i))
        w.pop(i)
    return got


def units_per_item(sequence: list[dict], orders: int) -> Counter:
    """Units each dish sells when ``orders`` orders go round the sequence."""
    units: Counter = Counter()
    full, rest = divmod(orders, len(sequence))
    for n, body in enumerate(sequence):
        times = full + (n < rest)
        for line in body["items"]:
            units[line["menu_item_id"]] += line["quantity"] * times
    return units


def lasts(sequence: list[dict], orders: int, stock: int = STOCK) -> bool:
    """Whether no dish runs out over ``orders`` orders (stock is taken at reservation and
    the bench never restocks; an order that found none would be a refusal, not a rate)."""
    return max(units_per_item(sequence, orders).values(), default=0) <= stock
