"""separation of concerns: each consumer group does one job and commits its own offsets. The
restaurant feed is one of them; stopping it takes the feed away and nothing else. Orders are
still placed, paid, accepted and delivered; when the feed is back it reads what it missed."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from app.core import kafka_lag
from app.core.settings import get_settings
from demos import charts, people, watch
from demos.context import Context
from demos.outcome import Outcome, Table
from seeds.tenants import Client, FreshRestaurant

FEED, PROJECTOR = "comanda-restaurant-feed", "comanda-admin-projection"
KITCHEN = ("PREPARING", "READY", "DISPATCHED", "DELIVERED")
NOTICE = [
    "With the feed consumer stopped, orders still go all the way to DELIVERED: the pipeline,"
    " the API and the admin projection do not depend on the feed.",
    "Only the feed's own consumer group falls behind (its lag grows); the other groups stay at"
    " zero. Each group has its own offsets on the same topic.",
    "When the feed consumer starts again it resumes from its last committed offset and catches"
    " up: the restaurant sees every event it missed, none twice (deduplicated by event_id).",
]


def run(ctx: Context, short: bool = False) -> Outcome:
    per_phase = 3 if short else 8
    boss = people.admin(ctx)
    shop = people.restaurant(ctx, boss, label="Separation demo")
    buyer = people.customer(ctx)
    feed_sql = "select count(*) from restaurant_events where restaurant_id = :r"
    done_sql = "select count(*) from orders where restaurant_id = :r and status = 'DELIVERED'"

    def sample() -> tuple[int, int]:
        return ctx.scalar(done_sql, r=shop.id), ctx.scalar(feed_sql, r=shop.id)

    rows: list[tuple[str, float, float]] = []
    table = Table(("phase", "orders delivered", "events in the feed", "feed lag",
                   "projection lag", "seconds"))  # fmt: skip

    def mark(phase: str, start: float) -> None:
        lag = lags()
        delivered, events = sample()
        table.add(phase, delivered, events, lag[FEED], lag[PROJECTOR], time.time() - start)
        rows.append((phase, start, time.time()))

    with watch.Sampler(sample) as series:
        t0 = time.time()
        _orders(buyer, shop, per_phase)
        mark("feed running", t0)
        ctx.program("stop", "feed")
        t1 = time.time()
        try:
            _orders(buyer, shop, per_phase)
            time.sleep(1.0)  # the other groups' last commits
            mark("feed STOPPED", t1)
        finally:
            ctx.program("start", "feed")
        t2 = time.time()
        caught = _wait_lag_zero(FEED, 120)
        mark("feed started again", t2)
        time.sleep(1.0)
    notes = [
        f"the feed caught up {'in' if caught else 'NOT within'} {time.time() - t2:.0f}s"
        " after it was started (most of it is the consumer re-joining its group)."
    ]
    chart = _chart(ctx, series.points, rows, t0)
    return Outcome("separation of concerns: the feed consumer stopped, orders keep completing",
                   table, NOTICE, chart, notes=notes)  # fmt: skip


def _orders(buyer: Client, shop: FreshRestaurant, n: int) -> None:
    """n orders placed, accepted and advanced to DELIVERED through the public API."""
    ids = [buyer.place(shop.id, [(shop.item_id(), 1)])["id"] for _ in range(n)]

    def deliver(oid: int) -> None:
        buyer.wait_for_status(oid, "AWAITING_ACCEPTANCE", timeout=90)
        shop.accept(oid)
        for step in KITCHEN:
            shop.set_status(oid, step)

    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(deliver, ids))


def lags() -> dict[str, int | None]:
    """The feed's and the projection's lag on the orders topic (committed offset to end), read
    with Kafka's admin API by the code the admin console uses."""
    table = kafka_lag.read_lag(get_settings().orders_topic)
    by_group = {g["group"]: g["lag"] for g in table["groups"]}
    return {group: by_group.get(group) for group in (FEED, PROJECTOR)}


def _wait_lag_zero(group: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lags()[group] == 0:
            return True
        time.sleep(1)
    return False


def _chart(ctx: Context, points, rows, t0: float):
    fig, ax = charts.figure()
    xs = [t - t0 for t, _ in points]
    ax.plot(xs, [v[0] for _, v in points], color=charts.GREEN, lw=3,
            label="orders DELIVERED (pipeline + kitchen)")  # fmt: skip
    ax2 = ax.twinx()
    ax2.plot(xs, [v[1] for _, v in points], color=charts.ORANGE, lw=3, ls="--",
             label="events in the restaurant's feed")  # fmt: skip
    ax2.set_ylabel("feed events", color=charts.ORANGE)
    ax2.grid(False)
    ax2.set_ylim(bottom=0)
    ax.set_ylim(bottom=0)
    for phase, start, end in rows:
        if "STOPPED" in phase:
            ax.axvspan(start - t0, end - t0, color=charts.RED, alpha=0.1)
            ax.text((start + end) / 2 - t0, 0.97, "feed\nstopped", ha="center", va="top",
                    color=charts.RED, fontsize=14, transform=ax.get_xaxis_transform())  # fmt: skip
    ax.set_xlabel("seconds since the demo started")
    ax.set_ylabel("orders delivered", color=charts.GREEN)
    ax.set_title("separation: orders keep completing while the feed is down")
    lines = ax.get_legend_handles_labels()
    more = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left")
    return charts.save(fig, ctx.chart_path("separation"))
