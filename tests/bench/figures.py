"""The bench's pure arithmetic: percentiles, the rule that says a rate holds, CPU per order,
a steady rate from event times, RSS verdicts. Plain data in, plain data out (unit-tested in
tests/unit/test_bench_figures.py, no services)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping

PIPELINE_P99_MS = 500  # issue 9 item 2
HOLD_SHARE = 0.95  # throughput at least 95 % of the offered rate
RSS_LIMIT_MB = 150  # issue 9 item 7, per process
# The idle stack's CPU before a run, above which the run's figures are not the stack's own:
# 77-130 ms/s in six runs of the ninth round; 686 ms/s in one that started while 40,000
# orders of a soak were being cancelled and voided (its half capacity read 49.5 ms per order).
IDLE_BUSY_MS_PER_S = 300
SERVICES = ("postgres", "kafka", "rabbitmq")  # not the app's own processes


def pct(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def backlog_bound(rate: float) -> float:
    """A count of messages at about a second of orders, never under 50: what the soak
    (tests/bench/soak.py) waits under between its chunks. Not the "bounded" rule of an
    open-loop phase (``bounded``, in seconds of work of each backlog's own kind)."""
    return max(50.0, rate)


def give_up_bound(rate: float) -> float:
    """The soak's "wait for a full drain" count: 5 s of orders (see backlog_bound)."""
    return 5 * backlog_bound(rate)


def worst(sample: Mapping[str, int]) -> int:
    return max(sample.get("outbox", 0), sample.get("kafka_lag", 0), sample.get("rabbitmq", 0))


def tail_max(backlog: list[dict]) -> int:
    """The largest raw backlog count in the last third of the samples (0 without samples):
    shown in the JSON, judged by nothing (counts of different kinds do not compare)."""
    tail = backlog[len(backlog) * 2 // 3 :] or backlog
    return max((worst(s) for s in tail), default=0)


# -- "bounded": each backlog in seconds of work of its own kind ------------------------------
# What one order makes by AWAITING_ACCEPTANCE when a phase did not measure it (a JSON stored
# before the bench counted them): 3 outbox rows, each one Kafka event (order.placed, the
# validation's and the reservation's), read by 3 consumer groups (pipeline, restaurant feed,
# admin projection), and at most 3 Celery step tasks (validate, reserve, authorize: each task
# carries a batch of orders, so under load far fewer). A phase measures its own events and
# groups (tests/bench/openloop.py: Kafka end offsets over the phase).
DEFAULT_PER_ORDER = {"events": 3.0, "tasks": 3.0, "groups": 3, "commit_s": 0.0}
LEVEL_S = 1.0  # the tail of the load may hold about a second of work of any kind...
GROWTH_S = 0.5  # ...and must not have grown by more than half a second of work over the load
WARMUP_S = 1.0  # the first second fills the pipeline from empty: a ramp, not a trend
GIVE_UP_S = 3.0  # an open loop stops offering past 3 s of work: that rate cannot hold


def measured_per_order(samples: list[Mapping[str, object]], placed: int) -> dict[str, float]:
    """What a phase's orders made, from its own samples: Kafka events per order (the topic's
    end offsets, summed over partitions, first sample to last, over the orders placed; the
    last sample is after the drain, so every event of the phase is in), and the consumer
    groups seen. Tasks per order stay DEFAULT_PER_ORDER's 3, the most there can be (one per
    pipeline step; a step task carries a batch of orders, workers/tasks.py): RabbitMQ's
    publish counters refresh every 15 s, too coarse for a 10 s step. A queued task may hold
    many orders, so the queue's seconds of work read low under load; the orders still PLACED
    (pipeline_orders) count every order behind, whatever holds it, and the largest kind is
    the one judged. A figure not measured keeps its default."""
    got: dict = dict(DEFAULT_PER_ORDER)
    measured = []
    ends = [s.get("kafka_end", -1) for s in samples]
    ends = [e for e in ends if isinstance(e, int | float) and e >= 0]
    if placed > 0 and len(ends) >= 2 and ends[-1] > ends[0]:
        got["events"] = round((ends[-1] - ends[0]) / placed, 3)
        measured.append("events")
    groups = [s.get("kafka_lag_groups") for s in samples]
    groups = [g for g in groups if isinstance(g, Mapping) and g]
    if groups:
        got["groups"] = len(groups[-1])
        measured.append("groups")
    got["measured"] = measured
    return got


def backlog_seconds(
    sample: Mapping[str, object], rate: float, per_order: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Each backlog of one sample as seconds of the offered load of its own kind: outbox
    rows and Kafka lag over the events a second of orders makes, the RabbitMQ queue over
    the tasks it makes, the orders still PLACED over the orders it brings. Kafka lag is
    per consumer group (each group reads every event): the slowest group when the sample
    has them apart, else the sum over the groups divided by their number, less
    ``commit_s``: the groups commit their offsets at most that often (events/consumers/
    base.py), so the lag read from committed offsets holds up to that much handled work by
    design; what lies beyond it is behind. A kind the sample missed (-1 or absent) is left
    out."""
    per = {**DEFAULT_PER_ORDER, **(per_order or {})}
    events_s = max(per["events"], 1e-9) * max(rate, 1e-9)
    tasks_s = max(per["tasks"], 1e-9) * max(rate, 1e-9)
    out: dict[str, float] = {}
    outbox = sample.get("outbox", -1)
    if isinstance(outbox, int | float) and outbox >= 0:
        out["outbox"] = outbox / events_s
    by_group = sample.get("kafka_lag_groups")
    held_s = max(float(per.get("commit_s", 0.0)), 0.0)
    if isinstance(by_group, Mapping) and by_group and min(by_group.values()) >= 0:
        out["kafka_lag"] = max(max(by_group.values()) / events_s - held_s, 0.0)
    elif isinstance(lag := sample.get("kafka_lag", -1), int | float) and lag >= 0:
        out["kafka_lag"] = max(lag / max(per["groups"], 1) / events_s - held_s, 0.0)
    queue = sample.get("rabbitmq", -1)
    if isinstance(queue, int | float) and queue >= 0:
        out["rabbitmq"] = queue / tasks_s
    # Orders not yet AWAITING_ACCEPTANCE, over the orders a second brings: every order
    # behind, in whichever step (the queues hold only each order's next message, and the
    # RabbitMQ count misses what a worker prefetched). Absent in runs stored before it.
    orders = sample.get("pipeline_orders", -1)
    if isinstance(orders, int | float) and orders >= 0:
        out["pipeline_orders"] = orders / max(rate, 1e-9)
    return out


def work_seconds(
    sample: Mapping[str, object], rate: float, per_order: Mapping[str, float] | None = None
) -> float:
    """The largest backlog of the sample, in seconds of work (0 when every kind missed)."""
    return max(backlog_seconds(sample, rate, per_order).values(), default=0.0)


def trend(points: list[tuple[float, float]]) -> float:
    """Theil-Sen slope (median of the pairwise slopes) of (t, y): a line through a noisy
    series that one spike cannot tilt (a consumer's batch wait shows as one high sample).
    0 under two points. Hand-made: 60 samples are 1,770 pairs; not worth scipy."""
    slopes = [
        (y2 - y1) / (t2 - t1)
        for i, (t1, y1) in enumerate(points)
        for t2, y2 in points[i + 1 :]
        if t2 > t1
    ]
    return statistics.median(slopes) if slopes else 0.0


def bounded(
    samples: list[Mapping[str, object]],
    rate: float,
    load_s: float,
    per_order: Mapping[str, float] | None = None,
) -> tuple[bool, dict]:
    """Whether the backlogs stayed bounded while the load was offered (samples at
    t <= load_s; the first second, the pipeline filling, left out when later ones exist):
    the last third's level (median, so one batch-wait spike is not a level) within
    LEVEL_S of work, AND no growth over the load: the Theil-Sen trend times the load's
    length within GROWTH_S of work. A phase that falls behind by a share d of its rate
    grows by d x its length, so a 10 s step short by more than 5 % fails, as does one whose
    backlog sits high. Returns (ok, figures: level_s, growth_s, peak_s, samples, why)."""
    during = [s for s in samples if float(s.get("t", 0.0)) <= load_s + 0.5]
    settled = [s for s in during if float(s.get("t", 0.0)) >= WARMUP_S]
    judged = settled if len(settled) >= 2 else during
    if not judged:
        return False, {"why": "no backlog sample during the load", "samples": 0}
    points = [(float(s.get("t", 0.0)), work_seconds(s, rate, per_order)) for s in judged]
    tail = [y for _, y in points[len(points) * 2 // 3 :]]
    span = points[-1][0] - points[0][0]
    got = {
        "level_s": round(statistics.median(tail), 3),
        "growth_s": round(trend(points) * span, 3),
        "peak_s": round(max(y for _, y in points), 3),
        "samples": len(points),
    }
    why = []
    if got["level_s"] > LEVEL_S:
        why.append(f"backlog at {got['level_s']:.2f} s of work in the last third (> {LEVEL_S:g} s)")
    if got["growth_s"] > GROWTH_S:
        why.append(f"backlog grew by {got['growth_s']:.2f} s of work (> {GROWTH_S:g} s)")
    got["why"] = "; ".join(why)
    return not why, got


def holds(f: Mapping) -> tuple[bool, list[str]]:
    """Whether an open-loop phase held its rate, and what failed. ``f`` carries rate,
    errors, placed, reached_in_time, throughput, pipeline_p99_ms, stopped_early, offered_s,
    backlog (the samples) and, when the phase measured them, per_order."""
    why = []
    if f["stopped_early"]:
        why.append("stopped early: the backlog passed its give-up bound")
    if f["errors"]:
        why.append(f"{f['errors']} POST errors")
    if f["reached_in_time"] < f["placed"]:
        why.append(f"{f['placed'] - f['reached_in_time']} orders late or not through")
    if not f["throughput"] >= HOLD_SHARE * f["rate"]:
        why.append("throughput under 95 % of offered")
    if not f["pipeline_p99_ms"] <= PIPELINE_P99_MS:
        why.append("pipeline p99 over 500 ms")
    ok, got = bounded(f["backlog"], f["rate"], f["offered_s"], f.get("per_order"))
    if not ok:
        why.append(f"backlog not bounded: {got['why']}")
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


def stale_after(samples: list[dict], key: str, settle_s: float) -> int:
    """The most rows past their keep time (plus two prune intervals) at any sample taken
    ``settle_s`` or more after the start: 0 when the prune kept up with what the load
    wrote. The samples before are not judged: the soak starts by shortening the keep, so
    rows already older than the new keep wait for the first prune."""
    return max((int(s.get(key, 0)) for s in samples if float(s.get("t", 0)) >= settle_s), default=0)
