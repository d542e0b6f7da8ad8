"""horizontal scaling: add copies of a stateless process and let the work spread over them.
Workers all take tasks from one RabbitMQ queue; API processes sit behind nginx, which spreads
requests round robin. Nothing else changes: no process holds state of its own."""

from __future__ import annotations

import time

from demos import charts, knobs, people, served
from demos.context import Context
from demos.load import ms, percentile, place_many
from demos.outcome import Outcome, Table
from demos.throughput import pipeline_rate, restore

TITLE = "horizontal scaling: 1 -> 2 -> 4 workers, and API processes behind nginx"
NOTICE = [
    "Workers share one queue: a second worker process takes tasks the first has not taken."
    " No coordination, no code change - that is what 'stateless' buys.",
    "The gain is less than x2 per doubling here: 2 CPU cores are shared by every process of"
    " the stack, and PostgreSQL serialises the row locks. On separate machines it would go"
    " further.",
    "API processes scale the same way behind the load balancer: the second table shows nginx"
    " sharing the POSTs out evenly, and any process may take any request, because sessions"
    " live in tokens and PostgreSQL, not in a process.",
    "POST /orders is CPU work (TLS, JSON, one transaction). One API process (2 gunicorn"
    " workers x 4 threads) can already keep 2 cores busy, so on this machine more API"
    " processes share the same CPU instead of adding to it; the copies pay off when they"
    " run on more cores or machines.",
]


def run(ctx: Context, short: bool = False) -> Outcome:
    gone = knobs.missing(knobs.WORKER_CONCURRENCY, knobs.GATEWAY_LATENCY, knobs.API_PROCESSES)
    workers = (1, 2) if short else (1, 2, 4)
    apis = (1, 2) if short else (1, 2, 4)
    n, posts = (8, 24) if short else (24, 90)
    boss = people.admin(ctx)
    shop = people.restaurant(ctx, boss, label="Scaling demo")
    buyers = people.customers(ctx, 4)
    base: dict[str, str] = {knobs.WORKER_POOL: "prefork"} if knobs.present(knobs.WORKER_POOL) \
        else {}  # fmt: skip
    table = Table(("what", "processes", "measured", "per second", "speed-up"))
    worker_rates: list[tuple[int, float]] = []
    api_rates: list[tuple[int, float, float, dict[str, int]]] = []
    try:
        if knobs.GATEWAY_LATENCY not in gone:
            ctx.gateway_latency(100)  # every worker at once, without a restart
        if knobs.WORKER_CONCURRENCY not in gone:
            for count in workers:
                got = pipeline_rate(ctx, buyers, shop, n,
                                    {**base, knobs.WORKER_CONCURRENCY: str(count)})  # fmt: skip
                worker_rates.append((count, got.rate or 0.0))
        if knobs.API_PROCESSES not in gone:
            for count in apis:
                t_up = time.perf_counter()
                ctx.procs_up(**{knobs.API_PROCESSES: str(count)})
                t_up = time.perf_counter() - t_up
                cfg = ctx.stack.cfg.model_copy(update={"api_processes": count})
                before = served.per_process(cfg)
                t0 = time.perf_counter()
                batch = place_many(buyers, shop, posts, 60, threads=8)
                took = time.perf_counter() - t0
                spread = served.spread(before, served.per_process(cfg))
                ok = [p.latency for p in batch if p.status == 202]
                api_rates.append((count, len(ok) / took, ms(percentile(ok, 0.5)) or 0.0, spread))
                print(f"  {knobs.API_PROCESSES}={count}: up in {t_up:.0f}s, {len(batch)} POSTs"
                      f" in {took:.0f}s, served by {spread}", flush=True)  # fmt: skip
    finally:
        restore(ctx)
    for count, rate in worker_rates:
        table.add("pipeline (worker processes)", count, f"{n} orders", rate,
                  f"{rate / worker_rates[0][1]:.1f}x" if worker_rates[0][1] else None)  # fmt: skip
    for count, rate, p50, _ in api_rates:
        table.add("POST /orders (API processes)", count, f"{posts} POSTs, p50 {p50:.0f} ms",
                  rate, f"{rate / api_rates[0][1]:.1f}x")  # fmt: skip
    spreads = Table(("API processes", "POSTs served by each process (its own metrics)"))
    for count, _, _, spread in api_rates:
        spreads.add(count, ", ".join(f"{name} {n}" for name, n in spread.items()) or "-")
    notes = []
    if knobs.GATEWAY_LATENCY in gone and worker_rates:
        notes.append("the gateway ran at its default latency (the 100 ms knob is missing).")
    chart = _chart(ctx, worker_rates, api_rates)
    more = [("Which API process served the POSTs (nginx, round robin):", spreads)] \
        if api_rates else []  # fmt: skip
    return Outcome(TITLE, table, NOTICE, chart, missing=gone, notes=notes, more=more)


def _chart(ctx: Context, worker_rates, api_rates):
    fig, (left, right) = charts.plt.subplots(1, 2, figsize=(14, 6.5), dpi=100)
    for ax, data, title, unit in (
        (left, [(c, r) for c, r in worker_rates], "workers", "orders through the pipeline / s"),
        (
            right,
            [(c, r) for c, r, _, _ in api_rates],
            "API processes (behind nginx)",
            "POST /orders / s",
        ),
    ):
        if not data:
            knob = knobs.API_PROCESSES if "API" in title else knobs.WORKER_CONCURRENCY
            ax.text(0.5, 0.5, f"{knob}\nis not in this checkout:\nnot measured",
                    ha="center", va="center",
                    fontsize=18, color=charts.GREY, transform=ax.transAxes)  # fmt: skip
            ax.set_title(title)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        if ax is right:
            bars = _stacked_by_process(ax, api_rates)
        else:
            bars = ax.bar([str(c) for c, _ in data], [r for _, r in data], color=charts.BLUE)
        charts.label_bars(ax, bars, "{:.1f}")
        ax.plot([str(c) for c, _ in data], [data[0][1] * c for c, _ in data], ls="--",
                marker="o", color=charts.GREY, label="perfectly linear")  # fmt: skip
        ax.set_xlabel(f"number of {title.split(' (')[0]}")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.legend(loc="upper left")
    fig.suptitle("horizontal scaling: more copies of a stateless process", fontsize=18)
    return charts.save(fig, ctx.chart_path("scaling"))


def _stacked_by_process(ax, api_rates):
    """Each bar split by the share of the POSTs each API process served, so the picture
    shows nginx spreading the requests; returns the bars' outlines for their labels."""
    colours = (charts.BLUE, charts.ORANGE, charts.GREEN, charts.RED)
    labelled: set[str] = set()
    for count, rate, _, spread in api_rates:
        total = sum(spread.values())
        bottom = 0.0
        for i, (name, n) in enumerate(spread.items()):
            part = rate * n / total if total else 0.0
            label = name if name not in labelled else None
            labelled.add(name)
            ax.bar(str(count), part, bottom=bottom, color=colours[i % len(colours)],
                   edgecolor="white", label=label)  # fmt: skip
            bottom += part
    return ax.bar([str(c) for c, *_ in api_rates], [r for _, r, *_ in api_rates], fill=False,
                  edgecolor="black", linewidth=0)  # fmt: skip
