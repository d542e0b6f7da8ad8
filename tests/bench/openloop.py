"""One open-loop phase with every process up: offer ``rate`` orders/s for ``seconds``, read
the pipeline latency from the timeline rows, and the CPU per order of every process over a
window that lasts until every order of the phase has reached AWAITING_ACCEPTANCE and the
stack is quiet again (or a cap, which the figures then say).

Why the window runs past the load: CPU over the load alone divided by orders PLACED counts
the work of orders still queued as if it were free (a run that placed 4,123 orders of which
188 got through in the window reported a fifth of the real cost). Counting until every
order is through, divided by the orders that got through, is the whole cost of each order;
the idle stack's own CPU over that window is measured apart and reported with it.
"""

from __future__ import annotations

import time
from collections import Counter

from app.core.settings import get_settings
from tests.bench import figures, probe, procstat
from tests.bench.harness import Progress
from tests.bench.loadgen import Client

GRACE_S = 2.0  # after the last arrival, for the orders sent in the last moments


def open_loop(
    client: Client,
    rate: float,
    seconds: float,
    progress: Progress,
    cap_s: float,
    idle_cpu_per_s: float = 0.0,
    stop_early: bool = True,
) -> dict:
    found = procstat.roots()
    cpu0, own0 = procstat.cpu_seconds(found), procstat.own_cpu_seconds()
    sampler = probe.Backlog(every=1.0)  # its Kafka admin calls are load too: once a second
    sampler.start()
    while not sampler.samples and sampler.is_alive():  # its first sample is before any order:
        time.sleep(0.05)  # the Kafka end offsets the phase's events are counted from
    locks_seen = probe.LockWaits()  # during the arrivals only
    locks_seen.start()
    wall0, t0 = time.time(), time.perf_counter()
    # The consumer groups commit at most this often: the Kafka lag within it is not behind.
    held = {"commit_s": get_settings().kafka_commit_interval_ms / 1000}

    def backlog_too_large() -> bool:
        """The pipeline's backlog, or the API's, past GIVE_UP_S seconds of work: POSTs not
        answered count as waiting work too (an API that cannot keep up leaves the pipeline
        idle and the requests queued). Per-order counts are the defaults here: the phase's
        own are only known once it has drained."""
        last = sampler.samples[-1] if sampler.samples else None
        piled = max(
            figures.work_seconds(last, rate, held) if last else 0.0, client.in_flight / rate
        )
        return stop_early and piled > figures.GIVE_UP_S

    samples = client.steady(rate, seconds, progress, backlog_too_large)
    lock_waits = locks_seen.stop()
    offered_s = max(len(samples), 1) / rate
    stopped_early = len(samples) < int(rate * seconds)
    ids = [s.order_id for s in samples if s.order_id is not None]

    # In time: through by the end of the arrivals plus a short grace.
    in_time_until = time.perf_counter() + GRACE_S
    got = probe.pipeline_times(ids)
    while len(got) < len(ids) and time.perf_counter() < in_time_until:
        time.sleep(0.5)
        got = probe.pipeline_times(ids)
    reached_in_time = len(got)
    load_backlog = list(sampler.samples)

    # The rest of the CPU window: every order through and the stack quiet, or the cap.
    progress.phase += " + drain"
    drain_until = time.perf_counter() + cap_s
    while time.perf_counter() < drain_until:
        last = sampler.samples[-1] if sampler.samples else {}
        if len(got) == len(ids) and last and figures.idle(last):
            break
        progress(min(1.0, 1 - (drain_until - time.perf_counter()) / cap_s))
        time.sleep(1.0)
        got = probe.pipeline_times(ids)
    window = time.perf_counter() - t0
    cpu1, own1 = procstat.cpu_seconds(found), procstat.own_cpu_seconds()
    backlog = sampler.stop()
    capped = len(got) < len(ids) or not (backlog and figures.idle(backlog[-1]))

    lat = [(a - p) * 1000 for p, a in got.values()]
    per_order = figures.measured_per_order(backlog, len(ids))
    per_order.update(held)
    _, level = figures.bounded(backlog, rate, offered_s, per_order)
    per_process = figures.cpu_per_order(cpu0, cpu1, len(got))
    total = sum(per_process.values())  # NaN when none went through
    awaiting = sorted(a - wall0 for _, a in got.values())
    f = {
        "rate": rate,
        "seconds": seconds,
        "offered_s": round(offered_s, 2),
        "stopped_early": stopped_early,
        "placed": len(ids),
        "errors": sum(s.status != 202 for s in samples),
        # -1: no reply within the client's 30 s (or no connection): an overload, not a 5xx
        "error_statuses": dict(Counter(s.status for s in samples if s.status != 202)),
        "post_p50_ms": figures.pct([s.ms for s in samples], 0.50),
        "post_p99_ms": figures.pct([s.ms for s in samples], 0.99),
        "reached_in_time": reached_in_time,
        "reached": len(got),
        "throughput": reached_in_time / offered_s,
        # Orders through per second over the whole window: what the pipeline drains.
        "drain_rate": len(got) / awaiting[-1] if awaiting and awaiting[-1] > 0 else 0.0,
        "pipeline_p50_ms": figures.pct(lat, 0.50),
        "pipeline_p99_ms": figures.pct(lat, 0.99),
        "backlog_tail_max": figures.tail_max(load_backlog),  # raw counts, for the record
        "per_order": per_order,  # events, groups, tasks: what a backlog is divided by
        "backlog_level_s": level.get("level_s", float("nan")),
        "backlog_growth_s": level.get("growth_s", float("nan")),
        "backlog_peak_s": level.get("peak_s", float("nan")),
        "cpu_window_s": round(window, 1),
        "cpu_orders": len(got),
        "cpu_capped": capped,
        "cpu_ms_per_order": per_process,
        "cpu_ms_per_order_total": total,
        "idle_cpu_ms_per_order": idle_cpu_per_s * window * 1000 / max(len(got), 1),
        "loadgen_cpu_ms_per_order": (own1 - own0) * 1000 / max(len(ids), 1),
        "lock_waits": lock_waits,  # sampled 10 a second during the arrivals
        "backlog": backlog,
        "post_series": [(round(s.at, 3), round(s.ms, 2)) for s in samples],
        "pipeline_series": sorted(
            (round(p - wall0, 3), round((a - p) * 1000, 2)) for p, a in got.values()
        ),
    }
    f["holds"], f["why_not"] = figures.holds(f)
    return f


def idle_cpu_per_s(seconds: float = 3.0) -> float:
    """CPU seconds per second the whole stack spends doing nothing (polls, sweeps, metrics)."""
    found = procstat.roots()
    before, t0 = procstat.cpu_seconds(found), time.perf_counter()
    time.sleep(seconds)
    after = procstat.cpu_seconds(found)
    return sum(after.get(k, 0) - v for k, v in before.items()) / (time.perf_counter() - t0)
