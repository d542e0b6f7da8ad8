"""concurrency: a payment gateway that takes 100 ms is I/O-bound work. One worker slot spends
almost all of that time waiting; more slots wait at the same time, so throughput grows with
concurrency until something else (CPU, the database) becomes the limit."""

from __future__ import annotations

from demos import charts, knobs, people
from demos.context import Context
from demos.outcome import Outcome, Table
from demos.throughput import Measured, pipeline_rate, restore

NOTICE = [
    "With a 100 ms gateway, one slot cannot do more than ~10 authorizations a second, however"
    " fast the CPU: it is waiting, not working.",
    "More concurrent slots overlap those waits: throughput rises almost in proportion at first.",
    "The curve bends when the wait is no longer the bottleneck: 2 CPU cores, PostgreSQL row"
    " locks and the per-task overhead take over. More concurrency than that only adds queueing.",
    "Threads suit I/O-bound tasks (cheap, share memory); processes (prefork) suit CPU-bound"
    " ones. The scaling demo adds processes.",
]


def run(ctx: Context, short: bool = False) -> Outcome:
    gone = knobs.missing(knobs.GATEWAY_LATENCY, knobs.WORKER_CONCURRENCY, knobs.WORKER_POOL)
    threads = knobs.WORKER_POOL not in gone
    levels = ((1, 4) if short else (1, 4, 8, 16)) if threads else ((1, 2) if short else (1, 2, 4))
    n = 8 if short else 24
    settings: dict[str, str] = {}
    if threads:
        settings[knobs.WORKER_POOL] = "threads"
    table = Table(("concurrency", "pool", "gateway", "orders", "orders/s", "speed-up"))
    if knobs.WORKER_CONCURRENCY in gone:
        return Outcome(TITLE, table, NOTICE, missing=gone)
    boss = people.admin(ctx)
    shop = people.restaurant(ctx, boss, label="Concurrency demo")
    buyers = people.customers(ctx, 2)
    results: list[tuple[int, Measured]] = []
    try:
        if knobs.GATEWAY_LATENCY not in gone:
            ctx.gateway_latency(100)  # every worker at once, without a restart
        for level in levels:
            got = pipeline_rate(ctx, buyers, shop, n,
                                {**settings, knobs.WORKER_CONCURRENCY: str(level)})  # fmt: skip
            results.append((level, got))
    finally:
        restore(ctx)
    base = results[0][1].rate
    gateway = "100 ms" if knobs.GATEWAY_LATENCY not in gone else "default (knob missing)"
    for level, got in results:
        table.add(level, "threads" if threads else "prefork", gateway,
                  f"{got.finished}/{got.orders}", got.rate,
                  f"{got.rate / base:.1f}x" if got.rate and base else None)  # fmt: skip
    notes = []
    if not threads:
        notes.append("without COMANDA_WORKER_POOL the worker runs Celery's prefork pool:"
                     " each slot is a process.")  # fmt: skip
    chart = _chart(ctx, results, threads, gateway)
    return Outcome(TITLE, table, NOTICE, chart, missing=gone, notes=notes)


TITLE = "concurrency: worker concurrency against pipeline throughput"


def _chart(ctx: Context, results, threads: bool, gateway: str):
    fig, ax = charts.figure()
    levels = [lv for lv, _ in results]
    rates = [m.rate or 0 for _, m in results]
    ax.plot(levels, rates, marker="o", ms=12, lw=3, color=charts.BLUE, label="measured")
    if rates and rates[0]:
        ax.plot(levels, [rates[0] * lv for lv in levels], ls="--", color=charts.GREY,
                label="perfect overlap (x concurrency)")  # fmt: skip
    for lv, r in zip(levels, rates, strict=True):
        ax.annotate(f"{r:.1f}/s", (lv, r), xytext=(0, 12), textcoords="offset points",
                    ha="center", fontsize=14, fontweight="bold")  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xticks(levels)
    ax.set_xticklabels([str(lv) for lv in levels])
    ax.set_ylim(0, max(rates + [1]) * 1.35)
    ax.set_xlabel(f"worker concurrency ({'threads' if threads else 'prefork processes'})")
    ax.set_ylabel("orders through the pipeline per second")
    ax.set_title(f"concurrency: throughput with a {gateway} gateway")
    ax.legend(loc="upper left")
    return charts.save(fig, ctx.chart_path("concurrency"))
