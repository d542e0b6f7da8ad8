"""make bench-soak: issue 9 item 7. No process over 150 MB RSS after 100,000 orders, and
published outbox rows and acknowledged feed rows pruned on a schedule.

    python -m tests.bench.soak [--orders N] [--rate R] [--keep-minutes M] [--smoke]

  1. refuse to start on a busy stack;
  2. restart the app processes through the stack's own supervisor (`python -m stack
     procs-down`, then `procs-up`) with COMANDA_PRUNE_KEEP_MINUTES=--keep-minutes (1) and
     COMANDA_PRUNE_INTERVAL_SECONDS=--prune-every (15): supervisord hands its programs the
     environment it was started with, and with the default hour of keep a soak shorter than
     an hour could not show a prune at all. The defaults are restored the same way at the end
     (--no-restart uses the stack as it is);
  3. drive N orders open loop at --rate in chunks of --chunk seconds; a chunk that leaves a
     backlog of more than 5 s of work makes the next one wait for the drain (the soak is about
     memory at a rate the pipeline holds, not about overload); the restaurant acknowledges
     its feed after each chunk, as its tablet would (GET/POST /restaurant/events);
  4. every --every seconds, from a thread: each process's RSS (the largest single process of
     each supervisord program and service, /proc), the outbox and feed row counts, and the
     rows a prune should have removed by then (published / acknowledged more than keep + two
     intervals + 30 s ago);
  5. print per process the RSS at the start, the end and the maximum with ok/MISS (150 MB per
     app process; PostgreSQL, Kafka's JVM and RabbitMQ are shown, not judged), and the
     tables' verdicts. Writes .run/bench/soak-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.bench import figures, probe, procstat
from tests.bench.harness import Progress, ensure_idle, fresh_tokens, quiet, setup
from tests.bench.loadgen import Client
from tests.bench.report import print_table

PRUNE_ENV = ("COMANDA_PRUNE_KEEP_MINUTES", "COMANDA_PRUNE_INTERVAL_SECONDS")
# SIGTERM (or a first Ctrl-C) ends the soak early but cleanly: no more orders, the drain,
# the report of what was driven so far, and the stack's settings restored.
ENOUGH = threading.Event()


@dataclass
class SoakPlan:
    orders: int = 100_000
    rate: float = 20
    chunk_s: float = 30
    every_s: float = 10
    keep_minutes: int = 1
    prune_every_s: int = 15
    restart: bool = True
    wait_idle_s: float = 120
    customers: int = 4


SMOKE = SoakPlan(
    orders=20, rate=10, chunk_s=1, every_s=1, restart=False, wait_idle_s=60, customers=1
)


def restart_app(env_extra: dict[str, str], drop: tuple[str, ...] = ()) -> None:
    """procs-down, then procs-up with this environment (the stack's own supervisor)."""
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_extra)
    for step in ("procs-down", "procs-up"):
        subprocess.run(
            [sys.executable, "-m", "stack", step],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )


def table_counts(stale_s: float) -> dict[str, int]:
    """Rows in the outbox and the feed, and those a prune should have removed by now."""
    with psycopg.connect(probe.conninfo()) as conn:
        row = conn.execute(
            "select (select count(*) from outbox),"
            " (select count(*) from outbox where published_at < now() - make_interval(secs => %s)),"
            " (select count(*) from restaurant_events),"
            " (select count(*) from restaurant_events"
            "   where acked_at < now() - make_interval(secs => %s))",
            (stale_s, stale_s),
        ).fetchone()
    return dict(zip(("outbox", "outbox_stale", "feed", "feed_stale"), row, strict=True))


class Sampler(threading.Thread):
    def __init__(self, every: float, stale_s: float, placed: list[int]):
        super().__init__(daemon=True)
        self.every, self.stale_s, self.placed = every, stale_s, placed
        self.samples: list[dict] = []
        self.stop_flag, self.t0 = threading.Event(), time.monotonic()

    def run(self) -> None:
        while not self.stop_flag.is_set():
            self.take()
            self.stop_flag.wait(self.every)

    def take(self) -> None:
        self.samples.append(
            {
                "t": round(time.monotonic() - self.t0, 1),
                "orders": len(self.placed),
                "rss_mib": {k: round(v, 1) for k, v in procstat.rss_mib().items()},
                **table_counts(self.stale_s),
            }
        )

    def stop(self) -> list[dict]:
        self.stop_flag.set()
        self.join(timeout=30)
        self.take()
        return self.samples


def ack_feed(kitchen) -> int:
    """Acknowledge every event in the restaurant's feed, 100 at a time."""
    total = 0
    while True:
        events = kitchen.get("restaurant/events").json()
        if not events:
            return total
        kitchen.post("restaurant/events/ack", json={"event_ids": [e["event_id"] for e in events]})
        total += len(events)


def rss_summary(samples: list[dict]) -> dict[str, dict[str, float]]:
    """Pure: per process, its RSS in MB at the first and last sample and the maximum."""
    names = sorted({k for s in samples for k in s["rss_mib"]})
    out = {}
    for name in names:
        seen = [s["rss_mib"][name] * 1.048576 for s in samples if name in s["rss_mib"]]
        out[name] = {"first_mb": seen[0], "last_mb": seen[-1], "max_mb": max(seen)}
    return out


def table(r: dict) -> list[tuple[str, str, str, str]]:
    rows = []

    def row(name, value, target="", good=None):
        rows.append((name, value, target, "" if good is None else ("ok" if good else "MISS")))

    row(
        "orders driven through",
        f"{r['reached']:,} of {r['placed']:,}",
        f"{r['plan']['orders']:,}",
        r["reached"] == r["placed"] >= r["plan"]["orders"],
    )
    row(
        "pipeline p99 per chunk, first / last",
        f"{r['first_p99_ms']:.0f} / {r['last_p99_ms']:.0f} ms",
        "",
    )
    for name, s in sorted(r["rss"].items(), key=lambda kv: -kv[1]["max_mb"]):
        judged = name not in figures.SERVICES
        row(
            f"RSS {name} (first -> last)",
            f"{s['first_mb']:.0f} -> {s['last_mb']:.0f}, max {s['max_mb']:.0f} MB",
            "<= 150 MB" if judged else "(service)",
            s["max_mb"] <= figures.RSS_LIMIT_MB if judged else None,
        )
    row("outbox rows, max / at the end", f"{r['outbox_max']:,} / {r['outbox_end']:,}", "")
    row("feed rows, max / at the end", f"{r['feed_max']:,} / {r['feed_end']:,}", "")
    row(
        "published outbox rows past keep, any sample after the first prune",
        f"{r['outbox_stale_max']:,}",
        "0",
        r["outbox_stale_max"] == 0,
    )
    row(
        "acknowledged feed rows past keep, any sample after the first prune",
        f"{r['feed_stale_max']:,}",
        "0",
        r["feed_stale_max"] == 0,
    )
    return rows


def drive(
    client: Client,
    kitchen,
    buyers,
    plan: SoakPlan,
    progress: Progress,
    placed: list[int],
    chunks: list[dict],
) -> int:
    errors = 0
    bound = figures.give_up_bound(plan.rate)
    while len(placed) < plan.orders and not ENOUGH.is_set():
        n = min(int(plan.rate * plan.chunk_s), plan.orders - len(placed))
        client.use_tokens(fresh_tokens(buyers))
        samples = client.steady(plan.rate, n / plan.rate)
        ids = [s.order_id for s in samples if s.order_id is not None]
        placed += ids
        errors += sum(s.status != 202 for s in samples)
        ack_feed(kitchen)
        waited, last = quiet(0.6, until=lambda s: figures.worst(s) <= bound)
        if last and figures.worst(last) > bound:
            quiet(300, until=figures.idle)
        lat = list(probe.pipeline_ms(ids).values())
        chunks.append({"orders": len(ids), "p99_ms": figures.pct(lat, 0.99), "reached": len(lat)})
        progress(len(placed) / plan.orders)
    return errors


def run(url: str, ca_file: str | None, plan: SoakPlan, out_dir: Path) -> int:
    progress = Progress()
    result: dict = {"plan": plan.__dict__, "load_average_at_start": os.getloadavg()}
    result["idle"] = ensure_idle(plan.wait_idle_s, progress)
    if plan.restart:
        progress.start("restarting the app with a short prune keep")
        restart_app(
            {
                "COMANDA_PRUNE_KEEP_MINUTES": str(plan.keep_minutes),
                "COMANDA_PRUNE_INTERVAL_SECONDS": str(plan.prune_every_s),
            }
        )
        progress.done()
        keep_s, every = plan.keep_minutes * 60, plan.prune_every_s
    else:  # the stack's own settings, as the app reads them
        from app.core.settings import get_settings

        s = get_settings()
        keep_s, every = s.prune_keep_minutes * 60, s.prune_interval_seconds
    result["prune"] = {"keep_s": keep_s, "every_s": every}
    try:
        tokens, body, kitchen, buyers = setup(url, ca_file, plan.customers, with_kitchen=True)
        placed: list[int] = []
        chunks: list[dict] = []
        sampler = Sampler(plan.every_s, keep_s + 2 * every + 30, placed)
        sampler.start()
        progress.start(f"soak: {plan.orders:,} orders at {plan.rate:g}/s")
        try:
            client = Client(url, tokens, body, ca_file)
            result["errors"] = drive(client, kitchen, buyers, plan, progress, placed, chunks)
            progress.done()
            quiet(300, progress.start("final drain"))
            ack_feed(kitchen)
            progress.done()
        finally:
            samples = sampler.stop()
    finally:
        if plan.restart:
            progress.start("restoring the stack's prune settings")
            restart_app({}, drop=PRUNE_ENV)
            progress.done()
    result["placed"] = len(placed)
    result["reached"] = len(probe.pipeline_ms(placed))
    result["chunks"] = chunks
    result["samples"] = samples
    result["rss"] = rss_summary(samples)
    p99s = [c["p99_ms"] for c in chunks]
    result["first_p99_ms"], result["last_p99_ms"] = (p99s[0], p99s[-1]) if p99s else (0, 0)
    for key in ("outbox", "feed"):
        result[f"{key}_max"] = max(s[key] for s in samples)
    # The first prune after the restart runs within an interval; by two and 30 s more,
    # what was already old has had its prune (figures.stale_after).
    settle_s = 2 * every + 30
    for key in ("outbox_stale", "feed_stale"):
        result[f"{key}_at_start"] = samples[0][key]
        result[f"{key}_max"] = figures.stale_after(samples, key, settle_s)
    result["outbox_end"], result["feed_end"] = samples[-1]["outbox"], samples[-1]["feed"]
    result["load_average_at_end"] = os.getloadavg()

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / time.strftime("soak-%Y%m%dT%H%M%S.json")
    path.write_text(json.dumps(result, indent=1, default=str))
    rows = table(result)
    print(
        f"\nComanda soak, {url}, {len(placed):,} orders, prune keep {keep_s} s every {every} s,"
        f" load average {result['load_average_at_start'][0]:.1f} at start,"
        f" {result['load_average_at_end'][0]:.1f} at end"
    )
    print_table(rows)
    print(f"\n  raw figures: {path}")
    return 1 if any(r[3] == "MISS" for r in rows) else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--smoke", action="store_true", help="20 orders, the stack as it is")
    parser.add_argument("--orders", type=int, default=int(os.environ.get("ORDERS") or 0))
    parser.add_argument("--rate", type=float, help="orders/s (default 20: one the pipeline holds)")
    parser.add_argument("--keep-minutes", type=int)
    parser.add_argument("--prune-every", type=int)
    parser.add_argument("--no-restart", action="store_true", help="keep the stack's settings")
    parser.add_argument("--url", default=os.environ.get("COMANDA_URL", "http://127.0.0.1:8000"))
    parser.add_argument(
        "--out", default=str(Path(os.environ.get("COMANDA_STATE_DIR", ".run")) / "bench")
    )
    args = parser.parse_args()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: ENOUGH.set())
    plan = SMOKE if args.smoke else SoakPlan()
    for field, value in (
        ("orders", args.orders),
        ("rate", args.rate),
        ("keep_minutes", args.keep_minutes),
        ("prune_every_s", args.prune_every),
    ):
        if value:
            setattr(plan, field, value)
    if args.no_restart:
        plan.restart = False
    return run(args.url, os.environ.get("COMANDA_CA_FILE") or None, plan, Path(args.out))


if __name__ == "__main__":
    sys.exit(main())
