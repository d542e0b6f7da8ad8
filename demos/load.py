"""Bounded load: a few threads placing orders through the e2e client, capped in count and in
time, each POST timed. Loopback only; never more than ``limit`` orders."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from seeds.tenants import Client, FreshRestaurant


@dataclass(frozen=True)
class Placed:
    sent: float  # wall clock, seconds
    latency: float  # seconds until the API answered
    status: int | None  # None: no answer
    order_id: int | None


def place_one(who: Client, where: FreshRestaurant) -> Placed:
    sent = time.time()
    t0 = time.perf_counter()
    try:
        resp = who.place_order(
            where.id, [(where.item_id(), 1)], idempotency_key=f"demo-{uuid.uuid4().hex}"
        )
    except Exception:  # noqa: BLE001 - a lost connection is a result here, not a crash
        return Placed(sent, time.perf_counter() - t0, None, None)
    took = time.perf_counter() - t0
    oid = resp.json().get("id") if resp.status_code == 202 else None
    return Placed(sent, took, resp.status_code, oid)


def place_many(
    who: list[Client],
    where: FreshRestaurant,
    limit: int,
    seconds: float,
    threads: int = 4,
    pause: float = 0.0,
) -> list[Placed]:
    """Up to ``limit`` orders within ``seconds``, ``threads`` at a time (``pause`` between
    one thread's orders)."""
    results: list[Placed] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    counter = iter(range(limit))

    def worker(index: int) -> None:
        me = who[index % len(who)]
        while time.monotonic() < deadline:
            with lock:
                if next(counter, None) is None:
                    return
            placed = place_one(me, where)
            with lock:
                results.append(placed)
            if pause:
                time.sleep(pause)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(worker, range(threads)))
    return sorted(results, key=lambda p: p.sent)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000
