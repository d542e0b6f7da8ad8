"""The bench's pure arithmetic: percentiles, the rule that says a rate holds, CPU per order,
a steady rate from event times, RSS verdicts. Plain data in, plain data out (unit-tested in
tests/unit/test_bench_figures.py, no services)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

PIPELINE_P99_MS = 500  # issue 9 item 2
HOLD_SHARE = 0.95  # throughput at least 95 % of the offered rate
RSS_LIMIT_MB = 150  # issue 9 item 7, per process
SERVICES = ("postgres", "kafka", "rabbitmq")  # not the app's own processes


def pct(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def backlog_bound(rate: float) -> float:
    """What "bounded" allows to wait at once: about a second of work, never under 50."""
    return max(50.0, rate)


def give_up_bound(rate: float) -> float:
    """A backlog this large (5 s of work) means the offered rate cannot hold: the open loop
    stops offering, so the phase's leftovers drain in seconds, not minutes."""
    return 5 * backlog_bound(rate)


def worst(sample: Mapping[str, int]) -> int:
    return max(sample.get("outbox", 0), sample.get("kafka_lag", 0), sample.get("rabbitmq", 0))


def tail_max(backlog: list[dict]) -> int:
    """The largest backlog in the last third of the samples (0 without samples)."""
    tail = backlog[len(backlog) * 2 // 3 :] or backlog
    return max((worst(s) for s in tail), default=0)


def holds(f: Mapping) -> tuple[bool, list[str]]:
    """Whether an open-loop phase held its rate, and what failed. ``f`` carries rate,
    errors, placed, reached_in_time, throughput, pipeline_p99_ms, backlog_tail_max and
    stopped_early."""
    why = []
    if f["stopped_early"]:
        why.append("stopped early: the backlog passed 5 s of work")
    if f["errors"]:
        why.append(f"{f['errors']} POST errors")
    if f["reached_in_time"] < f["placed"]:
        why.append(f"{f['placed'] - f['reached_in_time']} orders late or not through")
    if not f["throughput"] >= HOLD_SHARE * f["rate"]:
        why.append("throughput under 95 % of offered")
    if not f["pipeline_p99_ms"] <= PIPELINE_P99_MS:
        why.append("pipeline p99 over 500 ms")
    if f["backlog_tail_max"] > backlog_bound(f["rate"]):
        why.append("backlog not bounded in the last third")
    return not why, why


def next_rate(rate: float, held: bool, estimate: float | None = None) -> float:
    """The search's next step: up a quarter after a rate held, down a fifth after one did
    not; the first step down goes straight under what the pipeline was seen to drain."""
    if held:
        return rate * 1.25
    if estimate is not None and estimate < rate * 0.8:
        return max(1.0, rate / 4, estimate * 0.9)  # never more than a quarter at a step
    return max(1.0, rate * 0.8)


def cpu_per_order(
    before: Mapping[str, float], after: Mapping[str, float], orders: int
) -> dict[str, float]:
    """ms of CPU per order of each process between two /proc readings (a process that was
    not there before counts from 0); NaN when no order went through (no figure, rather
    than the whole window's CPU as if it were one order's)."""
    names = set(before) | set(after)
    if orders <= 0:
        return {k: float("nan") for k in names}
    return {k: max(0.0, after.get(k, 0.0) - before.get(k, 0.0)) * 1000 / orders for k in names}


def steady_rate(times: list[float]) -> float:
    """Events per second between the 10th and 90th percentile of their times: the middle
    of a drain, without the worker's start and the last stragglers. NaN under 10 events."""
    times = sorted(times)
    if len(times) < 10:
        return float("nan")
    lo, hi = int(len(times) * 0.1), int(len(times) * 0.9) - 1
    span = times[hi] - times[lo]
    return (hi - lo) / span if span > 0 else float("nan")


def gains(throughput: Mapping[int, float]) -> list[tuple[int, int, float]]:
    """(level, next level, ratio) for each doubling of concurrency."""
    levels = sorted(throughput)
    out = []
    for a, b in zip(levels, levels[1:], strict=False):
        ta, tb = throughput[a], throughput[b]
        ok = ta and not math.isnan(ta) and not math.isnan(tb)
        out.append((a, b, tb / ta if ok else float("nan")))
    return out


def idle(sample: Mapping[str, int]) -> bool:
    return (
        sample.get("outbox", 1) == 0
        and sample.get("kafka_lag", 1) == 0
        and sample.get("rabbitmq", 1) == 0
    )


def rss_verdict(max_mib: Mapping[str, float]) -> tuple[str, float, bool]:
    """The app process with the largest RSS, in MB, and whether it is within the limit
    (the services, PostgreSQL, Kafka's JVM and RabbitMQ, are reported but not judged)."""
    app = {k: v * 1.048576 for k, v in max_mib.items() if k not in SERVICES}
    if not app:
        return "none", float("nan"), False
    name = max(app, key=app.get)
    return name, app[name], app[name] <= RSS_LIMIT_MB


def old_rows_bounded(samples: list[dict], key: str) -> bool:
    """Whether rows past their keep time (plus two prune intervals) were gone at every
    sample: the prune keeps up with what the load writes."""
    return all(s.get(key, 0) == 0 for s in samples)
