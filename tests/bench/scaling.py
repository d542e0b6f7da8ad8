"""Worker scaling: authorizations per second at worker concurrency 1, 2, 4, 8 with the
simulated card network at COMANDA_GATEWAY_LATENCY_MS=100.

Why the bench runs a worker of its own instead of restarting the supervised one: supervisord
gives its programs the environment it was started with, so `python -m stack procs-up` with a
new COMANDA_GATEWAY_LATENCY_MS re-renders the worker's command line (its --concurrency
changes) but the restarted worker still runs with the latency supervisord started with
(0 by default): the old phase measured a gateway with no latency, counted orders of its
window only while a new worker was still starting (hence 0.00x), and let one level's
leftovers run into the next. Here, per level:

  1. the supervised worker is stopped (supervisorctl), so each order's first task waits in
     RabbitMQ;
  2. per_thread x level orders are placed, and the bench waits until the pipeline consumer
     has queued them (outbox published, no Kafka lag);
  3. a worker is started with the stack's own command line (same pool) but this concurrency,
     and COMANDA_GATEWAY_LATENCY_MS in its environment, which the bench checks in
     /proc/<pid>/environ before it counts anything;
  4. the rate is read from these orders' payment_authorized timeline rows, between the 10th
     and 90th percentile of their times (the worker's start-up and the stragglers left out);
  5. the worker is stopped by its pid once every order of the level left PLACED (or a cap).
The supervised worker is started again at the end, whatever happened.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from stack import procs
from stack.config import Config
from tests.bench import figures, probe
from tests.bench.harness import Progress, quiet, supervisorctl
from tests.bench.loadgen import Client

LATENCY_MS = 100
START_S = 90  # the most a worker may take to start before its level counts as failed


def knobs_missing() -> str | None:
    from app.core.settings import get_settings

    if not hasattr(get_settings(), "gateway_latency_ms"):
        return "skipped: knob missing (COMANDA_GATEWAY_LATENCY_MS)"
    return None


def worker_command(concurrency: int) -> list[str]:
    """The stack's own worker command (its pool from COMANDA_WORKER_POOL) at this
    concurrency, under a node name of its own."""
    cmd = procs.programs(Config.from_env())["worker"]
    cmd = re.sub(r"--concurrency=\d+", f"--concurrency={concurrency}", cmd)
    cmd = cmd.replace("-n worker@%h", f"-n bench-scaling-{concurrency}@%h")
    return cmd.replace("--loglevel=INFO", "--loglevel=WARNING").split()


def environ_of(pid: int, wait_s: float = 10.0) -> dict[str, str]:
    """The process's environment. Read too soon after the fork, /proc/<pid>/environ can be
    the short-lived child's before its exec (or empty): read until it names the app's own
    DATABASE_URL, at most ``wait_s``."""
    ends = time.monotonic() + wait_s
    while True:
        raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        env = dict(p.decode(errors="replace").split("=", 1) for p in raw if b"=" in p)
        if "DATABASE_URL" in env or time.monotonic() > ends:
            return env
        time.sleep(0.2)


def one_level(client: Client, level: int, per_thread: int, cap_s: float, progress) -> dict:
    n = per_thread * level
    placing = min(50.0, float(n))  # a rate the intake takes without a sweat
    samples = client.steady(placing, n / placing)
    ids = [s.order_id for s in samples if s.order_id is not None]
    # Every order's first task queued in RabbitMQ before the worker starts.
    quiet(cap_s, until=lambda s: s["outbox"] == 0 and s["kafka_lag"] == 0)
    cfg = Config.from_env()
    env = {
        **os.environ,
        **procs.supervisor_env(cfg),
        **procs.program_env(cfg, "worker"),  # the supervised worker's own metrics port
        "COMANDA_GATEWAY_LATENCY_MS": str(LATENCY_MS),
    }
    worker = subprocess.Popen(
        worker_command(level),
        cwd=cfg.repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        seen = environ_of(worker.pid).get("COMANDA_GATEWAY_LATENCY_MS")
        if seen != str(LATENCY_MS):
            raise RuntimeError(f"the worker runs with gateway latency {seen!r}")
        # A Celery worker's start-up takes up to a minute on the loaded machine: the cap
        # counts from its first authorization, not from its start.
        t0, first = time.monotonic(), None
        while time.monotonic() - (first or t0) < (cap_s if first else START_S):
            progress(min(1.0, (time.monotonic() - t0) / (START_S + cap_s)))
            if probe.count_status(ids, "PLACED") == 0:
                break
            if first is None and probe.event_times(ids, "payment_authorized"):
                first = time.monotonic()
            time.sleep(1.0)
        left = probe.count_status(ids, "PLACED")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
    times = probe.event_times(ids, "payment_authorized")
    return {
        "orders": len(ids),
        "authorized": len(times),
        "rate": figures.steady_rate(times),
        "ceiling": level * 1000 / LATENCY_MS,  # what `level` slots of 100 ms allow at most
        "gateway_latency_ms_seen": seen,
        "left_placed": left,  # the next level's worker takes these first: said, not hidden
    }


def scaling(client: Client, levels, per_thread: int, cap_s: float, progress: Progress) -> dict:
    if not levels:
        return {"skipped": "skipped: not in --smoke"}
    why = knobs_missing()
    if why:
        return {"skipped": why}
    out: dict = {}
    supervisorctl("stop", "worker")
    try:
        for level in levels:
            out[level] = one_level(
                client, level, per_thread, cap_s, progress.start(f"scaling: concurrency {level}")
            )
            progress.done()
    except Exception as exc:  # noqa: BLE001 - say it, keep every other figure of the run
        return {"skipped": f"failed at level {len(out) + 1}: {exc}", "levels": out}
    finally:
        supervisorctl("start", "worker")
    return {"levels": out, "throughput": {k: v["rate"] for k, v in out.items()}}
