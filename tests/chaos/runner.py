"""One chaos run: set up tenants, start traffic and faults, stop when the targets are met,
wait for quiescence, check the invariants, print the table."""

from __future__ import annotations

import fcntl
import random
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from tests.chaos import invariants, quiesce
from tests.chaos.api import Problems
from tests.chaos.faults import Faults, Plan, long_plan, short_plan
from tests.chaos.kafka_io import DLQ, ORDERS
from tests.chaos.ledger import ACCEPTED, Ledger
from tests.chaos.probe import Probe
from tests.chaos.report import Summary, final_statuses, render
from tests.chaos.stackctl import Stack
from tests.chaos.traffic import Traffic

# Series in the stack's Prometheus (summed); counters are per run (after - before).
METRICS = (
    'comanda_sweep_actions_total{sweep="redrive"}',
    'comanda_sweep_actions_total{sweep="acceptance_timeout"}',
    "comanda_orders_past_pipeline_deadline",
    "comanda_outbox_unpublished",
)


@dataclass(frozen=True)
class RunConfig:
    minutes: float = 10.0  # traffic lasts at least this long...
    orders: int = 5000  # ...and until this many orders were accepted (202)
    seed: int = 1
    short: bool = False
    brokers: int | None = None  # the stack must have this many brokers (None: any)
    customers: int = 16
    restaurants: int = 6
    clients: int = 4  # concurrent customer threads
    rate: float | None = 6.0  # orders per second offered (None: orders / minutes, +15%)
    backlog_cap: int = 60  # outside outages, hold placing while more orders are PLACED
    acceptance: tuple[int, ...] = (20, 30, 45, 60)  # restaurants' acceptance_seconds
    outage: tuple[float, float] = (5.0, 25.0)  # how long a stopped service stays down
    gap: tuple[float, float] = (3.0, 10.0)  # pause between two faults
    compound: float = 0.3  # chance of killing an app process during a service outage
    recovery_limit: float = 180.0
    settle_limit: float = 300.0
    max_minutes: float | None = None  # hard stop for the traffic (default 3 x minutes)
    report: Path | None = None
    faults: tuple[str, ...] = ()  # these faults, in order, instead of the mode's plan (demos)

    @classmethod
    def short_run(cls, **overrides) -> RunConfig:
        """About 2 minutes and a few hundred orders: part of `make test`. Each fault already
        waits until the stack has recovered from the one before, so the pause between two
        (``gap``) is kept short: the plan's ~14 faults are what set the run's length."""
        base = cls(
            minutes=1.5, orders=300, short=True, customers=6, restaurants=3, clients=3,
            rate=None, backlog_cap=120,
            acceptance=(12, 16, 20), outage=(3.0, 6.0), gap=(0.2, 0.6), compound=0.0,
            recovery_limit=180.0, settle_limit=180.0, max_minutes=5.0,
        )  # fmt: skip
        return replace(base, **overrides)

    @property
    def per_second(self) -> float:
        return self.rate or self.orders / (self.minutes * 60) * 1.15

    @property
    def cap_seconds(self) -> float:
        return 60 * (self.max_minutes or self.minutes * 3)


@dataclass
class Result:
    summary: Summary
    text: str
    report_path: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def violations(self) -> int:
        return self.summary.violations


class Log:
    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def __call__(self, message: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        print(f"[chaos {stamp} +{time.monotonic() - self.t0:6.1f}s] {message}", flush=True)


def exclusive(stack: Stack):
    """Hold ``<state dir>/chaos.lock`` for the run: two harnesses on one stack would kill each
    other's processes and find each other's poison."""
    stack.cfg.state_dir.mkdir(parents=True, exist_ok=True)
    handle = open(stack.cfg.state_dir / "chaos.lock", "w")  # noqa: SIM115 - held for the run
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise SystemExit(
            f"chaos: another chaos run is using the stack at {stack.cfg.state_dir}"
        ) from None
    return handle


def run(cfg: RunConfig) -> Result:
    log = Log()
    stack = Stack()
    lock = exclusive(stack)
    try:
        return _run(cfg, log, stack)
    finally:
        lock.close()


def _run(cfg: RunConfig, log: Log, stack: Stack) -> Result:
    if cfg.brokers and stack.brokers != cfg.brokers:
        raise SystemExit(
            f"chaos: asked for {cfg.brokers} broker(s) but the stack has {stack.brokers}"
            " (set COMANDA_KAFKA_BROKERS and use a state dir formatted for it)"
        )
    run_id = f"{cfg.seed}-{uuid.uuid4().hex[:6]}"
    mode = "short" if cfg.short else "long"
    log(f"run {run_id} ({mode}, seed {cfg.seed}) on {stack.describe()}")
    if not stack.wait_ready(120):
        log("the stack is not ready; starting what is down")
        if not stack.ensure_up():
            raise SystemExit(f"chaos: the stack is not ready: {stack.readyz()}")

    ledger, problems = Ledger(), Problems()
    probe = Probe(stack, ledger)
    start = {ORDERS: probe.kafka.end_offsets(ORDERS), DLQ: probe.kafka.end_offsets(DLQ)}
    traffic = Traffic(stack.api_url, ledger, problems, run_id, cfg.seed, cfg.per_second, log=log)
    traffic.setup(cfg.restaurants, cfg.customers, cfg.acceptance)
    log(
        f"set up {len(traffic.tenants)} restaurants (acceptance {cfg.acceptance}s),"
        f" {len(traffic.customers)} customers; {len(ledger.items)} menu items"
    )
    rng = random.Random(cfg.seed)
    brokers = stack.brokers
    if cfg.faults:
        plan = Plan(first=list(cfg.faults))
    else:
        plan = short_plan(rng, brokers) if cfg.short else long_plan(rng, brokers)
    faults = Faults(
        stack, probe, ledger, plan, cfg.seed, cfg.outage, cfg.gap, cfg.recovery_limit,
        compound=cfg.compound, log=log,
    )  # fmt: skip
    metrics_before = stack.metrics(METRICS)

    t0 = time.monotonic()
    traffic.start(cfg.clients)
    faults.start(midway_at=t0 + cfg.minutes * 30 if plan.midway else None)
    log(
        f"traffic at {cfg.per_second:.1f} orders/s with {cfg.clients} clients, held while more"
        f" than {cfg.backlog_cap} orders are PLACED outside outages; faults: {plan.first}"
    )
    last = backlog_at = 0.0
    backlog: int | None = 0
    while True:
        elapsed = time.monotonic() - t0
        accepted = ledger.accepted_count()
        if elapsed - backlog_at >= 2:  # backpressure: the stack's pace, not a fixed rate
            backlog, backlog_at = probe.placed_before(time.time()), elapsed
            hold = backlog is not None and backlog > cfg.backlog_cap and not faults.outage.is_set()
            if hold != traffic.bucket.hold.is_set():
                (traffic.bucket.hold.set if hold else traffic.bucket.hold.clear)()
        if (
            elapsed >= cfg.minutes * 60 and accepted >= cfg.orders and faults.mandatory_done()
        ) or elapsed >= cfg.cap_seconds:
            break
        if elapsed - last >= 15:
            counts = ledger.counts()
            log(
                f"{accepted} accepted, {counts.get('refused', 0)} refused,"
                f" {len(faults.done)} faults so far, {backlog} PLACED"
                + (" (holding)" if traffic.bucket.hold.is_set() else "")
            )
            last = elapsed
        time.sleep(1)
    traffic_seconds = time.monotonic() - t0
    traffic.stop_placing.set()
    traffic.bucket.hold.clear()
    log(f"traffic stops after {traffic_seconds:.0f}s; finishing the fault in progress")
    faults.join()
    if not stack.wait_ready(60):
        log("stack not ready after the last fault: starting what is down")
        stack.ensure_up()

    quiet, settle, state = quiesce.wait_quiet(probe, traffic, cfg.settle_limit, log)
    log(f"{'quiet' if quiet else 'NOT quiet'} after {settle:.0f}s: {quiesce.describe(state)}")
    traffic.stop()
    world = invariants.load(probe, ledger, start)
    checks = invariants.run_all(world, ledger, problems, faults.done, cfg.recovery_limit)
    if faults.error is not None:
        checks[-1].fail(f"the fault thread died: {faults.error!r}")

    metrics_after = stack.metrics(METRICS)
    metrics = {}
    for name in METRICS:
        if name in metrics_after:
            counter = "_total" in name
            before = metrics_before.get(name, 0.0) if counter else 0.0
            metrics[name + (" (run)" if counter else "")] = metrics_after[name] - before
    counts = ledger.counts()
    attempts = list(ledger.attempts.values())
    orders = {
        "attempted": len(attempts),
        "accepted": counts.get(ACCEPTED, 0),
        "refused": counts.get("refused", 0),
        "4xx": counts.get("4xx", 0),
        "unresolved": counts.get("unresolved", 0),
        "retried_same_key": sum(1 for a in attempts if a.outcome == ACCEPTED and a.unknown_tries),
        "held_seconds": round(traffic.bucket.held / max(1, cfg.clients)),
    }
    targets = []
    if traffic_seconds < cfg.minutes * 60:
        targets.append(f"traffic ran {traffic_seconds:.0f}s, wanted {cfg.minutes * 60:.0f}s")
    if orders["accepted"] < cfg.orders:
        targets.append(f"{orders['accepted']} orders accepted, wanted {cfg.orders}")
    if not faults.mandatory_done():
        targets.append("the planned faults were not all injected")
    if not quiet:
        targets.append(f"no quiescence within {cfg.settle_limit:.0f}s: {quiesce.describe(state)}")
    title = (
        f"Comanda chaos run {run_id}: {mode} mode, seed {cfg.seed}, {brokers} Kafka broker"
        f"{'s' if brokers > 1 else ''}"
    )
    settings = {k: v for k, v in asdict(cfg).items() if k != "report"}
    summary = Summary(
        title, settings, traffic_seconds, settle, quiet, orders, final_statuses(world.orders),
        faults.done, checks, metrics, targets,
    )  # fmt: skip
    text = render(summary)
    print(text, flush=True)
    path = cfg.report or stack.cfg.state_dir / f"chaos-report-{run_id}.json"
    try:
        path.write_text(summary.to_json())
        print(f"JSON report: {path}", flush=True)
    except OSError as exc:
        print(f"could not write the JSON report {path}: {exc}", file=sys.stderr)
    return Result(summary, text, path)
