"""Pipeline throughput at given worker settings: the worker is stopped, a backlog of orders is
placed, and the stack's own ``procs-up`` starts the worker again with the settings. The rate
is read from the orders' own timelines (first to last AWAITING_ACCEPTANCE), so the worker's
start-up time does not count, and the API's speed does not either."""

from __future__ import annotations

import time
from dataclasses import dataclass

from demos import watch
from demos.context import Context
from demos.load import place_many
from seeds.tenants import Client, FreshRestaurant


@dataclass(frozen=True)
class Measured:
    orders: int
    finished: int
    rate: float | None  # orders per second through the pipeline
    drain: float | None  # seconds from worker start to the last order out of PLACED


def pipeline_rate(
    ctx: Context, buyers: list[Client], shop: FreshRestaurant, n: int, settings: dict[str, str]
) -> Measured:
    t0 = time.monotonic()
    ctx.program("stop", "worker")
    try:
        batch = place_many(buyers, shop, n, 60, threads=4)
        ids = [p.order_id for p in batch if p.order_id is not None]
        placed = time.monotonic()
        time.sleep(1.0)  # the relay and the pipeline consumer queue the tasks in RabbitMQ
    finally:
        ctx.procs_up(**settings)  # starts the worker, with the new settings
    started = time.time()
    up = time.monotonic()
    watch.wait_left_placed(ctx, ids, 120)
    # Where a run's time goes (the measured rate is only the last part of it).
    print(f"  {' '.join(f'{k}={v}' for k, v in settings.items())}: {len(ids)} orders placed in"
          f" {placed - t0:.0f}s, worker back in {up - placed:.0f}s, drained in"
          f" {time.monotonic() - up:.0f}s", flush=True)  # fmt: skip
    out = watch.reached(ctx, ids, "AWAITING_ACCEPTANCE")
    times = sorted(out.values())
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] \
        else None  # fmt: skip
    drain = times[-1] - started if times else None
    return Measured(len(ids), len(times), rate, drain)


def restore(ctx: Context) -> None:
    """Back to the settings the demo was started with."""
    ctx.restore()
