"""make bench: load the running stack through its public API and print one table.

    python -m tests.bench [--smoke] [--rate R] [--seconds S] [--url URL]
                          [--restaurants N --items M --seed K]   (the load; default 8 x 6)
    python -m tests.bench --cpu-only --rate R --seconds S     (profiling: CPU per order only)
    python -m tests.bench --events-only --rate R --seconds S  (the relay and consumers alone)
    python -m tests.bench --scaling-only                      (worker concurrency 1, 2, 4, 8)
    python -m tests.bench --intake-only [--seconds S]         (floor vs one API process only)

The load is a lunch rush (tests/bench/rush.py): orders of 1-3 lines spread, seeded, over
--restaurants restaurants of the bench's own (default 8, a few busier than the rest) with
--items dishes each (default 6). `--restaurants 1 --items 1` is the old worst case: every
order the same dish, so every reservation waits on one stock row and every event has one
Kafka key.

Phases, in one run (under 5 minutes by default on a quiet machine):
  idle       refuse to start (after waiting up to --wait-idle s) when the stack still has a
             backlog; then the idle stack's own CPU per second, reported apart
  floor      a minimal Flask app on the API's gunicorn settings (tests/bench/floor.py), burst
  intake     POST /api/v1/orders burst with the pipeline's processes paused (SIGSTOP)
  half       POST p99 at half of the intake burst's rate (pipeline still paused), then a
             capped drain of what the bursts queued
  sustained  open loop at --rate orders/s for --seconds with every process up (it stops
             offering once the backlog passes 5 s of work: that rate cannot hold); the
             pipeline latency PLACED -> AWAITING_ACCEPTANCE from the timeline rows; CPU ms
             per order per process from /proc until every order of the phase is through
  search     shorter open-loop steps (up a quarter while one holds, else down) for the
             highest rate that holds
  capacity   pipeline latency and CPU per order at half of that rate
  scaling    worker concurrency 1, 2, 4, 8 with a 100 ms gateway (tests/bench/scaling.py)
Every phase ends with a capped drain; what is left over is recorded. Writes
.run/bench/bench-<time>.json and .png. Exit code 1 when a target is missed; no test asserts
on these values (make test runs --smoke, which checks only that they come out).
bench-storm and bench-soak are tests/bench/storm.py and tests/bench/soak.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from stack.config import Config
from tests.bench import figures, procstat, rush
from tests.bench.harness import (
    PIPELINE,
    Progress,
    drain,
    ensure_idle,
    pause,
    resume,
    setup_rush,
    supervisorctl,
)
from tests.bench.loadgen import Client, Sample
from tests.bench.openloop import idle_cpu_per_s, open_loop
from tests.bench.report import chart, print_table, table
from tests.bench.scaling import scaling


@dataclass
class Plan:
    burst_s: float = 5
    clients: int = 32
    half_s: float = 5
    rate: float = 100
    seconds: float = 60
    step_s: float = 10
    steps: int = 4  # after the sustained run: 0.8^3 of the first guess reachable going down
    scaling: tuple[int, ...] = (1, 2, 4, 8)
    per_thread: int = 20
    drain_s: float = 45
    wait_idle_s: float = 120
    customers: int = 4
    warmup_s: float = 1.0  # closed loop before each measured burst (not counted)
    restaurants: int = 8  # the lunch rush (tests/bench/rush.py)
    items: int = 6
    seed: int = 2026


# Every phase, each for a moment: the smoke checks that the figures come out, never their
# values. Every order the bursts place is drained through the pipeline before the next
# phase, so their seconds are most of the smoke's time (45 s of `make test` with 1 s bursts
# after 1 s warm-ups); half a second of each still gives every figure.
SMOKE = Plan(
    burst_s=0.5,
    clients=4,
    half_s=0.5,
    warmup_s=0.25,
    rate=10,
    seconds=2,
    step_s=1,
    steps=1,
    scaling=(),  # starting a worker four times is not a few seconds' work
    per_thread=5,
    drain_s=20,
    wait_idle_s=60,
    customers=1,
    restaurants=2,  # still a spread, in less set-up
    items=3,
)

# No dish may run out during a run: far more orders than 5 minutes at any rate this
# machine holds (the bursts included) would place.
MOST_ORDERS = 200_000


class FloorApp:
    """The floor app under gunicorn with the API's own settings, on its own port."""

    def __init__(self, port: int):
        self.port, self.proc = port, None

    def __enter__(self) -> str:
        import subprocess

        import requests

        from tests.bench import floor

        floor.create_tables()
        env = {**os.environ, "COMANDA_API_PORT": str(self.port)}
        self.proc = subprocess.Popen(
            [
                str(Path(sys.prefix) / "bin" / "gunicorn"),
                "-c",
                "app/gunicorn_conf.py",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--access-logfile",
                "/dev/null",
                "tests.bench.floor:app()",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{self.port}"
        for _ in range(150):
            try:
                requests.post(url + "/api/v1/orders", timeout=1)
                return url
            except requests.ConnectionError:
                time.sleep(0.2)
        raise SystemExit("bench: the floor app did not start")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        from tests.bench import floor

        floor.drop_tables()


def load(url: str, ca_file: str | None, plan: Plan, customers: int | None = None):
    """The run's restaurants, dishes and customers (harness.setup_rush): (tokens, bodies)."""
    shape = rush.Shape(restaurants=plan.restaurants, items=plan.items, seed=plan.seed)
    tokens, bodies = setup_rush(url, ca_file, customers or plan.customers, shape)
    if not rush.lasts(bodies, MOST_ORDERS):
        raise SystemExit(f"bench: some dish would run out of stock within {MOST_ORDERS} orders")
    return tokens, bodies


def rate_of(samples: list[Sample], seconds: float) -> float:
    return sum(s.status == 202 for s in samples) / seconds


def run(url: str, ca_file: str | None, plan: Plan, port: int, out_dir: Path) -> int:
    progress = Progress()
    result: dict = {
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
        "load_average_at_start": os.getloadavg(),
        "plan": plan.__dict__,
        "url": url,
    }
    resume(*PIPELINE)  # harmless when running; undoes a pause a killed run left behind
    result["idle"] = ensure_idle(plan.wait_idle_s, progress)
    progress.start("setup; the idle stack's CPU")
    tokens, body = load(url, ca_file, plan)
    client = Client(url, tokens, body, ca_file)
    idle = idle_cpu_per_s(1.0 if plan is SMOKE else 3.0)
    result["idle_cpu_ms_per_s"] = idle * 1000
    progress.done()
    drains = []

    def burst(target: Client, name: str) -> tuple[float, int]:
        """A closed-loop burst after a warm-up (a second's): 202s per second, and the rest."""
        target.burst(plan.clients, plan.warmup_s)
        samples = target.burst(plan.clients, plan.burst_s, progress.start(name))
        progress.done()
        return rate_of(samples, plan.burst_s), sum(s.status != 202 for s in samples)

    with FloorApp(port) as floor_url:
        result["floor_rps"], _ = burst(Client(floor_url, tokens, body), "floor burst")

    pause(*PIPELINE)
    try:
        # Like for like with the floor: one API process on the same gunicorn settings, plain
        # HTTP on loopback. The burst through nginx (TLS, both API processes) follows it.
        direct = Client(f"http://127.0.0.1:{Config.from_env().api_port}", tokens, body)
        result["intake_direct_rps"], result["intake_direct_errors"] = burst(
            direct, "intake burst, one API process"
        )
        result["intake_rps"], result["intake_errors"] = burst(
            client, "intake burst (pipeline paused)"
        )
        half = max(1.0, result["intake_rps"] / 2)
        samples = client.steady(
            half, plan.half_s, progress.start(f"POST at half rate ({half:.0f}/s)")
        )
        progress.done()
        result["half_rate"] = half
        result["half_post_p99_ms"] = figures.pct([s.ms for s in samples], 0.99)
        result["half_post_p50_ms"] = figures.pct([s.ms for s in samples], 0.50)
    finally:
        resume(*PIPELINE)
    drains.append(drain(plan.drain_s * 2, progress, "the intake bursts"))

    def phase(rate: float, seconds: float, name: str) -> dict:
        f = open_loop(client, rate, seconds, progress.start(name), plan.drain_s, idle)
        progress.done()
        if f["cpu_capped"]:
            drains.append(drain(plan.drain_s, progress, name))
        return f

    sustained = phase(plan.rate, plan.seconds, f"sustained {plan.rate:g}/s, {plan.seconds:g}s")
    result["sustained"] = sustained

    # Search: up a quarter while a step holds; after one that does not, down under what the
    # pipeline was seen to drain.
    held, rate = sustained["holds"], plan.rate
    best = plan.rate if held else 0.0
    estimate = sustained["drain_rate"]
    steps = []
    for _ in range(plan.steps):
        rate = figures.next_rate(rate, held, estimate)
        step = phase(rate, plan.step_s, f"search {rate:.0f}/s")
        steps.append(step)
        estimate = step["drain_rate"] or estimate
        if step["holds"]:
            best = max(best, rate)
        elif held:
            break  # up from a rate that held, and this one did not: that is the highest
        held = step["holds"]
    result["search"] = steps
    result["max_rate"] = best

    if best:
        result["capacity_half"] = phase(best / 2, plan.step_s, f"half capacity {best / 2:.0f}/s")
    result["scaling"] = scaling(client, plan.scaling, plan.per_thread, plan.drain_s, progress)
    drains.append(drain(plan.drain_s, progress, "scaling"))
    result["drains"] = drains

    result["rss_mib"] = procstat.rss_mib()
    result["loadgen_cpu_s"] = procstat.own_cpu_seconds()
    result["load_average_at_end"] = os.getloadavg()
    result["elapsed_s"] = round(time.monotonic() - progress.t0, 1)

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / time.strftime("bench-%Y%m%dT%H%M%S")
    Path(f"{stem}.json").write_text(json.dumps(result, indent=1, default=str))
    chart(result, Path(f"{stem}.png"))
    rows = table(result)
    print(
        f"\nComanda benchmark, {result['machine']}, {url}, {result['elapsed_s']:.0f} s, load"
        f" average {result['load_average_at_start'][0]:.1f} at start,"
        f" {result['load_average_at_end'][0]:.1f} at end"
    )
    print_table(rows)
    print(f"\n  raw figures: {stem}.json\n  chart:       {stem}.png")
    return 1 if any(r[3] == "MISS" for r in rows) else 0


def cpu_only(url: str, ca_file: str | None, plan: Plan) -> int:
    """The open loop alone at exactly --rate (no early stop), CPU per order until every
    order is through (cap 300 s). Use a rate the pipeline keeps up with."""
    progress = Progress()
    ensure_idle(plan.wait_idle_s, progress)
    tokens, body = load(url, ca_file, plan)
    idle = idle_cpu_per_s()
    figures_ = open_loop(
        Client(url, tokens, body, ca_file),
        plan.rate,
        plan.seconds,
        progress.start(f"sustained {plan.rate:g}/s"),
        cap_s=300,
        idle_cpu_per_s=idle,
        stop_early=False,
    )
    progress.done()
    for name, ms in sorted(figures_["cpu_ms_per_order"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:<12} {ms:7.2f} ms/order")
    f = figures_
    print(
        f"  {'total':<12} {f['cpu_ms_per_order_total']:7.2f} ms/order over {f['cpu_orders']}"
        f" orders ({f['placed']} placed), window {f['cpu_window_s']:.0f} s until all were"
        f" AWAITING_ACCEPTANCE{' (CAPPED: not all through)' if f['cpu_capped'] else ''};"
        f" of which the idle stack {f['idle_cpu_ms_per_order']:.2f};"
        f" pipeline p50 {f['pipeline_p50_ms']:.0f} p99 {f['pipeline_p99_ms']:.0f} ms;"
        f" loadgen {f['loadgen_cpu_ms_per_order']:.2f} ms/order (apart)"
    )
    ok, got = figures.bounded(f["backlog"], f["rate"], f["offered_s"], f["per_order"])
    print(
        f"  load: {plan.restaurants} restaurants x {plan.items} dishes (seed {plan.seed});"
        f" per order {f['per_order']}; backlog {got.get('level_s')} s of work in the last"
        f" third, growth {got.get('growth_s')} s, peak {got.get('peak_s')} s:"
        f" {'bounded' if ok else 'NOT bounded'}; PostgreSQL backends during the arrivals"
        f" (10 samples a second): {f['lock_waits']};"
        f" holds: {f['holds']} {'; '.join(f['why_not'])}"
    )
    return 0


def intake_only(url: str, ca_file: str | None, plan: Plan, port: int, seconds: float) -> int:
    """The like-for-like intake phase alone, for profiling the API: a burst at the floor,
    then one at the first API process (plain HTTP, pipeline paused), each ``seconds`` long;
    req/s, the ratio, and CPU ms per POST of each side's gunicorn and of PostgreSQL."""
    progress = Progress()
    tokens, body = load(url, ca_file, plan)
    api = procstat.roots()
    sides = {}

    def measure(name: str, target: Client, pids: dict[str, int]) -> None:
        target.burst(plan.clients, 1.0)  # warm-up
        cpu0, tx0 = procstat.cpu_seconds(pids), transactions()
        samples = target.burst(plan.clients, seconds, progress.start(name))
        cpu1, tx1 = procstat.cpu_seconds(pids), transactions()
        progress.done()
        ok = sum(s.status == 202 for s in samples)
        cpu = {n: (cpu1[n] - cpu0[n]) * 1000 / max(ok, 1) for n in pids}
        sides[name] = (ok / seconds, len(samples) - ok, cpu, (tx1 - tx0) / max(ok, 1))

    floor_app = FloorApp(port)
    with floor_app as floor_url:
        pids = {"gunicorn": floor_app.proc.pid, "postgres": api["postgres"]}
        measure("floor", Client(floor_url, tokens, body), pids)
    pause(*PIPELINE)
    try:
        direct = Client(f"http://127.0.0.1:{Config.from_env().api_port}", tokens, body)
        measure("api", direct, {"gunicorn": api["api"], "postgres": api["postgres"]})
    finally:
        resume(*PIPELINE)
    for name, (rps, errors, cpu, tx) in sides.items():
        print(
            f"  {name:<6} {rps:7.1f} req/s  {errors} errors  gunicorn {cpu['gunicorn']:5.2f}"
            f" ms/POST  postgres {cpu['postgres']:5.2f} ms/POST  {tx:4.1f} transactions/POST"
        )
    ratio = sides["api"][0] / max(sides["floor"][0], 1e-9)
    print(f"  ratio {ratio:.0%}  load average {os.getloadavg()[0]:.1f}")
    return 0


def transactions() -> int:
    """PostgreSQL's count of transactions ended in this database (with the pipeline paused,
    nearly all the burst's: on an autocommit connection, one per statement)."""
    from sqlalchemy import text

    from app.core.db import get_engine

    with get_engine().connect() as conn:
        return conn.execute(
            text(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database"
                " WHERE datname = current_database()"
            )
        ).scalar_one()


def scaling_only(url: str, ca_file: str | None, plan: Plan) -> int:
    """The worker scaling phase alone (tests/bench/scaling.py), its rows of the table."""
    progress = Progress()
    ensure_idle(plan.wait_idle_s, progress)
    tokens, body = load(url, ca_file, plan)
    levels = plan.scaling or (1, 2, 4, 8)
    result = scaling(Client(url, tokens, body, ca_file), levels, plan.per_thread, 45, progress)
    print(json.dumps(result, indent=1, default=str))
    return 0


def events_only(url: str, ca_file: str | None, plan: Plan) -> int:
    """The event path alone, for profiling the relay and the consumers: with the worker and
    beat stopped, place orders at ``rate`` for ``seconds``; the API, relay and the three
    consumers handle each order's order.placed event (the Celery tasks wait in RabbitMQ);
    print CPU ms per event of each process once Kafka lag and the outbox are back to 0."""
    from tests.bench.harness import quiet

    tokens, body = load(url, ca_file, plan)
    progress = Progress()
    supervisorctl("stop", "worker", "beat")
    try:
        found = procstat.roots()
        cpu0 = procstat.cpu_seconds(found)
        samples = Client(url, tokens, body, ca_file).steady(
            plan.rate, plan.seconds, progress.start(f"events only, {plan.rate:g}/s")
        )
        progress.done()
        quiet(120, until=lambda s: s["outbox"] == 0 and s["kafka_lag"] == 0)
        cpu1 = procstat.cpu_seconds(found)
    finally:
        supervisorctl("start", "worker", "beat")
    placed = sum(s.status == 202 for s in samples)
    for name in sorted(cpu0, key=lambda n: cpu0[n] - cpu1[n]):
        print(f"  {name:<12} {(cpu1[name] - cpu0[name]) * 1000 / max(placed, 1):7.2f} ms/event")
    print(f"  over {placed} orders (one order.placed event each)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--smoke", action="store_true", help="a few seconds per phase")
    parser.add_argument("--rate", type=float, help="sustained orders/s (default 100)")
    parser.add_argument("--seconds", type=float, help="sustained run length (default 60)")
    parser.add_argument(
        "--cpu-only",
        action="store_true",
        help="only the sustained run, printing CPU ms per order per process (for profiling)",
    )
    parser.add_argument(
        "--events-only", action="store_true", help="the relay and consumers alone (profiling)"
    )
    parser.add_argument("--scaling-only", action="store_true", help="only the worker scaling phase")
    parser.add_argument(
        "--intake-only",
        action="store_true",
        help="only the floor and one-API-process bursts (--seconds each), CPU ms per POST",
    )
    parser.add_argument(
        "--restaurants", type=int, help="restaurants the load spreads over (default 8)"
    )
    parser.add_argument("--items", type=int, help="dishes per restaurant (default 6)")
    parser.add_argument("--seed", type=int, help="the load's seed (default 2026)")
    parser.add_argument(
        "--wait-idle", type=float, help="seconds to wait for a busy stack before refusing"
    )
    parser.add_argument("--url", default=os.environ.get("COMANDA_URL", "http://127.0.0.1:8000"))
    parser.add_argument(
        "--out", default=str(Path(os.environ.get("COMANDA_STATE_DIR", ".run")) / "bench")
    )
    args = parser.parse_args()
    plan = SMOKE if args.smoke else Plan()
    if args.rate:
        plan.rate = args.rate
    if args.seconds:
        plan.seconds = args.seconds
    for name in ("restaurants", "items", "seed"):
        if getattr(args, name) is not None:
            setattr(plan, name, getattr(args, name))
    if args.wait_idle is not None:
        plan.wait_idle_s = args.wait_idle
    port = int(os.environ.get("COMANDA_BENCH_FLOOR_PORT", "18990"))
    if args.events_only:
        return events_only(args.url, os.environ.get("COMANDA_CA_FILE") or None, plan)
    if args.scaling_only:
        return scaling_only(args.url, os.environ.get("COMANDA_CA_FILE") or None, plan)
    if args.intake_only:
        return intake_only(
            args.url,
            os.environ.get("COMANDA_CA_FILE") or None,
            plan,
            port,
            args.seconds or 10,
        )
    if args.cpu_only:
        return cpu_only(args.url, os.environ.get("COMANDA_CA_FILE") or None, plan)
    return run(args.url, os.environ.get("COMANDA_CA_FILE") or None, plan, port, Path(args.out))


if __name__ == "__main__":
    sys.exit(main())
