"""async: the API answers POST /orders after one local transaction (order + outbox row); the
slow work happens later, elsewhere. So stopping the Celery worker, the whole pipeline's
muscle, does not slow the API down: orders simply wait, then drain when it is back."""

from __future__ import annotations

import time
from statistics import median

from demos import charts, people, watch
from demos.context import Context
from demos.load import Placed, ms, percentile, place_many
from demos.outcome import Outcome, Table

NOTICE = [
    "POST /orders answers in about the same time with the worker stopped as with it running:"
    " the API only writes the order and its event in one PostgreSQL transaction and returns 202.",
    "While the worker is stopped, orders pile up in PLACED (bottom chart) - they wait, they are"
    " not lost, and the customer already holds a 202 and a Location to poll.",
    "When the worker is back, the backlog drains by itself: RabbitMQ kept every task.",
    "On one small machine the API may even answer faster with the worker stopped: they share"
    " the same CPU cores. On separate machines the two would not touch at all.",
    "Compare with a synchronous design, where each POST would wait for validation, stock and"
    " the payment gateway - and would fail while the worker is down.",
]


def run(ctx: Context, short: bool = False) -> Outcome:
    per_phase, seconds = (6, 10.0) if short else (24, 20.0)
    boss = people.admin(ctx)
    shop = people.restaurant(ctx, boss, label="Async demo")
    buyers = people.customers(ctx, 2)
    placed_sql = "select count(*) from orders where restaurant_id = :r and status = 'PLACED'"

    phases: list[tuple[str, list[Placed], float, float]] = []
    with watch.Sampler(lambda: ctx.scalar(placed_sql, r=shop.id)) as backlog:
        t0 = time.time()
        normal = place_many(buyers, shop, per_phase, seconds, threads=2, pause=0.6)
        phases.append(("worker running", normal, t0, time.time()))

        ctx.program("stop", "worker")
        t1 = time.time()
        try:
            stopped = place_many(buyers, shop, per_phase, seconds, threads=2, pause=0.6)
            waiting = watch.statuses(ctx, _ids(stopped)).get("PLACED", 0)
        finally:
            ctx.program("start", "worker")
        phases.append(("worker STOPPED", stopped, t1, time.time()))
        drained = watch.wait_left_placed(ctx, _ids(normal + stopped), 90 if not short else 60)
        t2 = time.time()
        time.sleep(1.0)  # one more backlog sample at zero

    table = Table(
        ("phase", "orders", "POST 202", "POST p50 ms", "POST p95 ms", "out of PLACED in phase",
         "PLACED->next p50 s"),
    )  # fmt: skip
    for name, batch, _start, end in phases:
        ids = _ids(batch)
        latencies = [p.latency for p in batch if p.status == 202]
        nxt = _next_step(ctx, ids)
        within = sum(1 for oid in ids if oid in nxt and nxt[oid] <= end)
        waits = [nxt[o] - p.sent for p in batch if (o := p.order_id) in nxt]
        table.add(
            name, len(batch), sum(1 for p in batch if p.status == 202),
            ms(percentile(latencies, 0.5)), ms(percentile(latencies, 0.95)),
            f"{within}/{len(ids)}", median(waits) if waits else None,
        )  # fmt: skip
    notes = [
        f"{waiting} orders were waiting in PLACED when the worker was started again;"
        f" {'all drained' if drained else 'NOT all drained'} {t2 - phases[1][3]:.0f}s later.",
    ]
    chart = _chart(ctx, phases, backlog.points, t0)
    return Outcome("async: the API stays fast while the pipeline is stopped", table, NOTICE,
                   chart, notes=notes)  # fmt: skip


def _ids(batch: list[Placed]) -> list[int]:
    return [p.order_id for p in batch if p.order_id is not None]


def _next_step(ctx: Context, ids: list[int]) -> dict[int, float]:
    """When each order left PLACED: AWAITING_ACCEPTANCE, or REJECTED/CANCELLED by the pipeline."""
    out: dict[int, float] = {}
    for status in ("AWAITING_ACCEPTANCE", "REJECTED", "CANCELLED"):
        for oid, at in watch.reached(ctx, ids, status).items():
            out[oid] = min(at, out.get(oid, at))
    return out


def _chart(ctx: Context, phases, backlog, t0: float):
    fig, (top, bottom) = charts.plt.subplots(
        2, 1, figsize=(11, 8), dpi=100, sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    colours = [charts.BLUE, charts.RED]
    for (name, batch, start, end), colour in zip(phases, colours, strict=False):
        xs = [p.sent - t0 for p in batch if p.status == 202]
        ys = [p.latency * 1000 for p in batch if p.status == 202]
        top.scatter(xs, ys, s=45, color=colour, label=f"POST /orders ({name})")
        if "STOPPED" in name:
            for ax in (top, bottom):
                ax.axvspan(start - t0, end - t0, color=charts.RED, alpha=0.08)
    top.set_ylabel("API answer time (ms)")
    top.set_ylim(bottom=0, top=max(200, top.get_ylim()[1]))
    top.set_title("async: POST latency does not rise while the worker is stopped")
    top.legend(loc="upper right")
    bottom.plot([t - t0 for t, _ in backlog], [v for _, v in backlog], color=charts.ORANGE, lw=3)
    bottom.set_ylabel("orders waiting\n(PLACED)")
    bottom.set_xlabel("seconds since the demo started (red band: worker stopped)")
    return charts.save(fig, ctx.chart_path("async"))
