"""make bench: load the running stack through its public API and print figures.

    python -m tests.bench [--orders N] [--clients C] [--paced M] [--rate R]

Two phases, on this machine. Burst: N orders from C concurrent clients as fast as they go,
giving POST /orders throughput and latency and the end-to-end capacity (how fast the
pipeline drains the backlog). Paced: M orders at R per second, below capacity, giving the
pipeline latency PLACED -> AWAITING_ACCEPTANCE a customer sees (from the timelines). Also
GET /orders/{id} latency and the resident memory of every process of the stack.
Each figure is printed next to its target; the exit code is 1 when a target is missed, so
a regression is visible, but no test asserts on timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import requests

from seeds.client import ApiClient
from tests.bench.memory import stack_memory

TARGETS = {  # figure -> (limit, unit); lower is better
    "POST /orders p95": (250.0, "ms"),
    "GET /orders/{id} p95": (100.0, "ms"),
    "paced pipeline p95 (PLACED -> AWAITING_ACCEPTANCE)": (1500.0, "ms"),
    "app processes RSS": (1500.0, "MiB"),
}


class Api(ApiClient):
    """The shared client (seeds/client.py); ``call`` sends once (no 429 retry: a figure must
    count what the server did), with paths written from /api/v1."""

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.request(method, path.lstrip("/"), retry_429=False, **kwargs)

    def login(self, email: str, password: str) -> Api:
        super().login(email, password)
        return self


def setup(base: str, clients: int, orders: int) -> tuple[list[Api], int, int]:
    tag = uuid.uuid4().hex[:8]
    admin = Api(base).login("admin@comanda.dev", "admin-password")
    shop = admin.call("POST", "/admin/restaurants", json={"name": f"bench-{tag}"}).json()
    user = {"email": f"bench-{tag}@bench.dev", "password": "bench-password", "name": "b"}
    admin.call("POST", f"/admin/restaurants/{shop['id']}/users", json=user).raise_for_status()
    kitchen = Api(base).login(user["email"], user["password"])
    item = kitchen.call(
        "POST",
        "/restaurant/menu",
        json={"name": "bench dish", "price_cents": 1500, "stock": orders * 2},
    )
    customers = []
    for n in range(clients):
        buyer = {"email": f"bench-{tag}-{n}@bench.dev", "password": "bench-password", "name": "c"}
        Api(base).call("POST", "/auth/register", json=buyer).raise_for_status()
        customers.append(Api(base).login(buyer["email"], buyer["password"]))
    return customers, shop["id"], item.json()["id"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def stamp(view: dict, event: str) -> datetime | None:
    for entry in view["timeline"]:
        if entry["event"] == event:
            return datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
    return None


def settle(owner: dict, timeout: float = 300) -> tuple[dict, set]:
    """Poll until every order left PLACED; return their views and any still pending."""
    pending, deadline, views = set(owner), time.monotonic() + timeout, {}
    while pending and time.monotonic() < deadline:
        for order_id in list(pending):
            view = owner[order_id].call("GET", f"/orders/{order_id}").json()
            if view["status"] != "PLACED":
                views[order_id] = view
                pending.discard(order_id)
        if pending:
            time.sleep(0.25)
    return views, pending


def pipeline_ms(views: dict) -> list[float]:
    return [
        (stamp(v, "awaiting_acceptance") - stamp(v, "placed")).total_seconds() * 1000
        for v in views.values()
        if stamp(v, "awaiting_acceptance")
    ]


def run(base: str, orders: int, clients: int, paced: int, rate: float) -> int:
    customers, restaurant, item = setup(base, clients, orders + paced)
    body = {
        "restaurant_id": restaurant,
        "delivery_address": "Rua do Benchmark, 1",
        "items": [{"menu_item_id": item, "quantity": 1}],
        "payment": {"method": "card", "token": "tok_ok"},
    }

    def place(n: int) -> tuple[float, int, Api]:
        started = time.perf_counter()
        customer = customers[n % clients]
        reply = customer.call("POST", "/orders", json=body)
        assert reply.status_code == 202, reply.text
        return (time.perf_counter() - started) * 1000, reply.json()["id"], customer

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        placed = list(pool.map(place, range(orders)))
    placing = time.perf_counter() - started
    burst_views, burst_pending = settle({order_id: c for _, order_id, c in placed})
    drained = time.perf_counter() - started

    reads = []
    for _, order_id, customer in placed[: min(200, len(placed))]:
        t0 = time.perf_counter()
        customer.call("GET", f"/orders/{order_id}").raise_for_status()
        reads.append((time.perf_counter() - t0) * 1000)

    paced_owner = {}
    for n in range(paced):
        due = time.perf_counter() + 1 / rate
        _, order_id, customer = place(n)
        paced_owner[order_id] = customer
        time.sleep(max(0.0, due - time.perf_counter()))
    paced_views, paced_pending = settle(paced_owner)
    paced_ms = pipeline_ms(paced_views)
    burst_ms = pipeline_ms(burst_views)

    memory = stack_memory()
    app_rss = sum(mib for name, mib in memory if not name.startswith("service:"))
    posts = [ms for ms, _, _ in placed]
    figures = {
        "POST /orders p95": percentile(posts, 0.95),
        "GET /orders/{id} p95": percentile(reads, 0.95),
        "paced pipeline p95 (PLACED -> AWAITING_ACCEPTANCE)": percentile(paced_ms, 0.95)
        if paced_ms
        else float("inf"),
        "app processes RSS": app_rss,
    }
    print(f"\nComanda benchmark on {os.cpu_count()} cores")
    print(f"  burst: {orders} orders from {clients} concurrent clients")
    print(f"    accepted (202) in {placing:.1f}s: {orders / placing:.0f} orders/s")
    print(
        f"    POST /orders ms: p50 {statistics.median(posts):.0f}  "
        f"p95 {percentile(posts, 0.95):.0f}  max {max(posts):.0f}"
    )
    print(
        f"    GET /orders/{{id}} ms: p50 {statistics.median(reads):.0f}  "
        f"p95 {percentile(reads, 0.95):.0f}"
    )
    print(
        f"    pipeline drained all {len(burst_views)} in {drained:.1f}s: "
        f"{len(burst_views) / drained:.1f} orders/s end to end "
        f"(queueing p95 {percentile(burst_ms, 0.95):.0f} ms)"
    )
    if paced_ms:
        print(f"  paced: {paced} orders at {rate:g}/s")
        print(
            f"    pipeline ms: p50 {statistics.median(paced_ms):.0f}  "
            f"p95 {percentile(paced_ms, 0.95):.0f}  max {max(paced_ms):.0f}"
        )
    print("  resident memory (MiB):")
    for name, mib in memory:
        print(f"    {name:<22} {mib:8.1f}")
    missed = 0
    print("  targets:")
    for name, value in figures.items():
        limit, unit = TARGETS[name]
        ok = value <= limit
        missed += not ok
        print(f"    {'ok  ' if ok else 'MISS'} {name}: {value:.0f} {unit} (target <= {limit:.0f})")
    stuck = len(burst_pending) + len(paced_pending)
    if stuck:
        print(f"  {stuck} orders still PLACED after 300s")
        missed += 1
    return 1 if missed else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--paced", type=int, default=100, help="orders in the paced phase")
    parser.add_argument("--rate", type=float, default=5.0, help="paced orders per second")
    parser.add_argument("--url", default=os.environ.get("COMANDA_URL", "http://127.0.0.1:8000"))
    args = parser.parse_args()
    return run(args.url, args.orders, args.clients, args.paced, args.rate)


if __name__ == "__main__":
    sys.exit(main())
