"""make bench-storm: issue 9 item 6. 5,000 orders reach their acceptance deadline within one
minute; every one must be cancelled (acceptance_timeout) and its payment voided within
2 minutes of its deadline, while new orders keep PLACED -> AWAITING_ACCEPTANCE p99 <= 1 s.

    python -m tests.bench.storm [--orders N] [--rate R] [--spread S] [--new-rate R] [--smoke]

  1. refuse to start on a busy stack (tests/bench/harness.py);
  2. a restaurant with an acceptance time of an hour (POST /admin/restaurants takes
     acceptance_seconds), and a second one with the default for the new orders;
  3. place the N orders open loop at --rate (one the intake and pipeline take) and wait until
     they are AWAITING_ACCEPTANCE;
  4. move their deadlines, in the database (no API sets one order's deadline), to now + 10 s
     + i/N x --spread: N deadlines within --spread seconds;
  5. offer new orders at --new-rate to the other restaurant until every storm order is
     cancelled and voided, or the last deadline + --cap seconds;
  6. read everything from the timeline rows: each storm order's 'cancelled' and
     'payment_voided' times against its deadline, and the new orders' pipeline latency.
Prints one table (figure, value, target, ok/MISS) and writes .run/bench/storm-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.bench import figures, probe
from tests.bench.harness import Progress, drain, ensure_idle, setup
from tests.bench.loadgen import Client
from tests.bench.report import print_table

LEAD_S = 10  # the first deadline this far after the move: the new-order load is running


@dataclass
class StormPlan:
    orders: int = 5000
    rate: float = 40
    spread_s: float = 60
    new_rate: float = 10
    cap_s: float = 150  # the 2-minute target plus a margin to see by how much it missed
    wait_awaiting_s: float = 300
    wait_idle_s: float = 120
    customers: int = 4


SMOKE = StormPlan(
    orders=5,
    rate=5,
    spread_s=1,
    new_rate=2,
    cap_s=30,
    wait_awaiting_s=60,
    wait_idle_s=60,
    customers=1,
)


def set_deadlines(ids: list[int], spread_s: float) -> dict[int, float]:
    """The i-th of the AWAITING orders gets deadline now + LEAD_S + i/N x spread; order id
    -> that deadline (epoch), kept here because a cancelled order's deadline is cleared."""
    with psycopg.connect(probe.conninfo()) as conn:
        rows = conn.execute(
            "update orders o set deadline_at = now()"
            " + make_interval(secs => %s + (x.n - 1) * %s / %s)"
            " from unnest(%s::bigint[]) with ordinality as x(id, n)"
            " where o.id = x.id and o.status = 'AWAITING_ACCEPTANCE'"
            " returning o.id, extract(epoch from o.deadline_at)",
            (LEAD_S, spread_s, max(len(ids), 1), ids),
        ).fetchall()
    return {order_id: float(at) for order_id, at in rows}


def storm_rows(deadlines: dict[int, float]) -> list[tuple[float, float | None, float | None]]:
    """(deadline, cancelled at, voided at) epochs of each order, from its timeline."""
    with psycopg.connect(probe.conninfo()) as conn:
        done = conn.execute(
            "select order_id, extract(epoch from min(at) filter (where event = 'cancelled')),"
            " extract(epoch from min(at) filter (where event = 'payment_voided'))"
            " from order_timeline where order_id = any(%s)"
            " and event in ('cancelled', 'payment_voided') group by order_id",
            (list(deadlines),),
        ).fetchall()
    seen = {order_id: (c, v) for order_id, c, v in done}
    return [(at, *seen.get(order_id, (None, None))) for order_id, at in deadlines.items()]


def done_counts(ids: list[int]) -> tuple[int, int]:
    with psycopg.connect(probe.conninfo()) as conn:
        return conn.execute(
            "select count(distinct order_id) filter (where event = 'cancelled'),"
            " count(distinct order_id) filter (where event = 'payment_voided')"
            " from order_timeline where order_id = any(%s)"
            " and event in ('cancelled', 'payment_voided')",
            (ids,),
        ).fetchone()


def summarise(rows, new_lat: list[float], new: dict) -> dict:
    """Pure: the storm's figures from its rows (epochs, as floats or None)."""
    rows = [(float(d), c and float(c), v and float(v)) for d, c, v in rows]
    deadlines = sorted(d for d, _, _ in rows)
    cancel_lag = [c - d for d, c, _ in rows if c is not None]
    void_lag = [v - d for d, _, v in rows if v is not None]
    last_void = max((v for _, _, v in rows if v is not None), default=float("nan"))
    return {
        "storm_orders": len(rows),
        "deadline_spread_s": deadlines[-1] - deadlines[0] if deadlines else float("nan"),
        "cancelled": len(cancel_lag),
        "voided": len(void_lag),
        "cancel_lag_p50_s": figures.pct(cancel_lag, 0.5),
        "cancel_lag_max_s": max(cancel_lag, default=float("nan")),
        "void_lag_p50_s": figures.pct(void_lag, 0.5),
        "void_lag_max_s": max(void_lag, default=float("nan")),
        "all_done_after_first_deadline_s": last_void - deadlines[0] if deadlines else float("nan"),
        "new_orders": new["placed"],
        "new_errors": new["errors"],
        "new_reached": len(new_lat),
        "new_p50_ms": figures.pct(new_lat, 0.5),
        "new_p99_ms": figures.pct(new_lat, 0.99),
    }


def table(f: dict) -> list[tuple[str, str, str, str]]:
    n = f["storm_orders"]
    rows = []

    def row(name, value, target="", good=None):
        rows.append((name, value, target, "" if good is None else ("ok" if good else "MISS")))

    row("storm orders AWAITING, deadlines moved", f"{n:,}", ">= 5,000", n >= 5000)
    row(
        "  their deadlines spread over",
        f"{f['deadline_spread_s']:.0f} s",
        "<= 60 s",
        f["deadline_spread_s"] <= 60,
    )
    row("cancelled (acceptance_timeout)", f"{f['cancelled']:,}", f"{n:,}", f["cancelled"] == n)
    row("payment voided", f"{f['voided']:,}", f"{n:,}", f["voided"] == n)
    row(
        "deadline -> cancelled, p50 / max",
        f"{f['cancel_lag_p50_s']:.1f} / {f['cancel_lag_max_s']:.1f} s",
        "",
    )
    row(
        "deadline -> voided, max",
        f"{f['void_lag_max_s']:.1f} s",
        "<= 120 s",
        f["voided"] == n and f["void_lag_max_s"] <= 120,
    )
    row("  first deadline -> last void", f"{f['all_done_after_first_deadline_s']:.1f} s", "")
    row(
        f"new orders meanwhile ({f['new_orders']:,}, errors {f['new_errors']})",
        f"{f['new_reached']:,} through",
        f"{f['new_orders']:,}",
        f["new_reached"] == f["new_orders"] and f["new_errors"] == 0,
    )
    row("new orders PLACED->AWAITING p50", f"{f['new_p50_ms']:.0f} ms", "")
    row(
        "new orders PLACED->AWAITING p99",
        f"{f['new_p99_ms']:.0f} ms",
        "<= 1000 ms",
        f["new_p99_ms"] <= 1000,
    )
    return rows


def run(url: str, ca_file: str | None, plan: StormPlan, out_dir: Path) -> int:
    progress = Progress()
    result: dict = {"plan": plan.__dict__, "load_average_at_start": os.getloadavg()}
    result["idle"] = ensure_idle(plan.wait_idle_s, progress)
    progress.start("setup")
    tokens, body = setup(url, ca_file, plan.customers, acceptance_seconds=3600)
    new_tokens, new_body = setup(url, ca_file, plan.customers)
    progress.done()

    storm = Client(url, tokens, body, ca_file).steady(
        plan.rate,
        plan.orders / plan.rate,
        progress.start(f"placing {plan.orders} at {plan.rate:g}/s"),
    )
    progress.done()
    ids = [s.order_id for s in storm if s.order_id is not None]
    progress.start("until they are AWAITING_ACCEPTANCE")
    t0 = time.monotonic()
    while time.monotonic() - t0 < plan.wait_awaiting_s:
        awaiting = probe.count_status(ids, "AWAITING_ACCEPTANCE")
        progress(awaiting / max(len(ids), 1))
        if awaiting >= len(ids):
            break
        time.sleep(1)
    progress.done()
    deadlines = set_deadlines(ids, plan.spread_s)
    result["placed"], result["moved"] = len(ids), len(deadlines)
    ids = list(deadlines)

    stop = threading.Event()
    new: list = []
    longest = LEAD_S + plan.spread_s + plan.cap_s
    load = threading.Thread(
        target=lambda: new.extend(
            Client(url, new_tokens, new_body, ca_file).steady(
                plan.new_rate, longest, stop=stop.is_set
            )
        ),
        daemon=True,
    )
    sampler = probe.Backlog()
    sampler.start()
    load.start()
    progress.start(f"the storm, new orders at {plan.new_rate:g}/s")
    t0 = time.monotonic()
    while time.monotonic() - t0 < longest:
        cancelled, voided = done_counts(ids)
        progress(voided / max(len(ids), 1))
        if cancelled == voided == len(ids):
            break
        time.sleep(2)
    stop.set()
    load.join(timeout=120)
    progress.done()
    time.sleep(2)  # the last new orders' pipeline
    new_ids = [s.order_id for s in new if s.order_id is not None]
    new_lat = list(probe.pipeline_ms(new_ids).values())
    result["backlog"] = sampler.stop()
    result.update(
        summarise(
            storm_rows(deadlines),
            new_lat,
            {"placed": len(new_ids), "errors": sum(s.status != 202 for s in new)},
        )
    )
    result["backlog_max"] = max((figures.worst(s) for s in result["backlog"]), default=0)
    result["drain"] = drain(plan.cap_s, progress, "the storm")
    result["load_average_at_end"] = os.getloadavg()

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / time.strftime("storm-%Y%m%dT%H%M%S.json")
    path.write_text(json.dumps(result, indent=1, default=str))
    rows = table(result)
    print(
        f"\nComanda storm, {url}, load average {result['load_average_at_start'][0]:.1f} at"
        f" start, {result['load_average_at_end'][0]:.1f} at end"
    )
    print_table(rows)
    print(f"\n  raw figures: {path}")
    return 1 if any(r[3] == "MISS" for r in rows) else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.storm",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--smoke", action="store_true", help="5 orders, a few seconds")
    parser.add_argument("--orders", type=int)
    parser.add_argument("--rate", type=float, help="placing the storm's orders (default 40/s)")
    parser.add_argument("--spread", type=float, help="seconds the deadlines spread over (60)")
    parser.add_argument("--new-rate", type=float, help="new orders/s during the storm (10)")
    parser.add_argument("--url", default=os.environ.get("COMANDA_URL", "http://127.0.0.1:8000"))
    parser.add_argument(
        "--out", default=str(Path(os.environ.get("COMANDA_STATE_DIR", ".run")) / "bench")
    )
    args = parser.parse_args()
    plan = SMOKE if args.smoke else StormPlan()
    for field, value in (
        ("orders", args.orders),
        ("rate", args.rate),
        ("spread_s", args.spread),
        ("new_rate", args.new_rate),
    ):
        if value:
            setattr(plan, field, value)
    return run(args.url, os.environ.get("COMANDA_CA_FILE") or None, plan, Path(args.out))


if __name__ == "__main__":
    sys.exit(main())
