"""The bench's table (figure, value, target, ok/MISS) and its chart."""

from __future__ import annotations

import math
from pathlib import Path

RSS_LIMIT_MIB = 150 / 1.048576  # 150 MB


def _ok(good: bool | None) -> str:
    return "" if good is None else ("ok" if good else "MISS")


def _num(value: float, unit: str = "", digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}{unit}"


def table(r: dict) -> list[tuple[str, str, str, str]]:
    rows = []

    def row(name, value, target="", good=None):
        rows.append((name, value, target, _ok(good)))

    ratio = r["intake_rps"] / r["floor_rps"] if r["floor_rps"] else 0
    row("floor (JWT + 1 tx) req/s", _num(r["floor_rps"]))
    row("intake POST /orders req/s (pipeline paused)", _num(r["intake_rps"]))
    row("intake / floor", _num(ratio * 100, " %"), ">= 60 %", ratio >= 0.6)
    row(
        f"POST p99 at half rate ({r['half_rate']:.0f}/s)",
        _num(r["half_post_p99_ms"], " ms"),
        "<= 50 ms",
        r["half_post_p99_ms"] <= 50,
    )
    s = r["sustained"]
    row(
        f"sustained: offered for {s['seconds']:.0f} s",
        _num(s["rate"], " /s"),
        ">= 100 /s",
        s["rate"] >= 100,
    )
    row(
        "sustained: reached AWAITING_ACCEPTANCE",
        _num(s["throughput"], " /s", 1),
        ">= 95 % of offered",
        s["throughput"] >= 0.95 * s["rate"] and s["reached"] == s["placed"],
    )
    row("sustained: POST errors", _num(s["errors"]), "0", s["errors"] == 0)
    row(
        "sustained: pipeline p99 PLACED->AWAITING",
        _num(s["pipeline_p99_ms"], " ms"),
        "<= 500 ms",
        s["pipeline_p99_ms"] <= 500,
    )
    row(
        "sustained: backlog in the last third (max)",
        _num(s["backlog_tail_max"]),
        "bounded",
        s["bounded"],
    )
    row(
        "sustained: CPU ms per order, all processes",
        _num(s["cpu_ms_per_order_total"], "", 1),
        "<= 20",
        s["cpu_ms_per_order_total"] <= 20,
    )
    for name, ms in sorted(s["cpu_ms_per_order"].items(), key=lambda kv: -kv[1]):
        row(f"  CPU ms per order: {name}", _num(ms, "", 2))
    row(
        "  load generator's own CPU ms per order (apart)",
        _num(s["loadgen_cpu_ms_per_order"], "", 2),
    )
    row("highest rate that holds", _num(r["max_rate"], " /s"), ">= 100 /s", r["max_rate"] >= 100)
    half = r.get("capacity_half")
    if half:
        row(
            f"at half capacity ({half['rate']:.0f}/s): pipeline p50",
            _num(half["pipeline_p50_ms"], " ms"),
            "<= 50 ms",
            half["pipeline_p50_ms"] <= 50,
        )
        row(
            f"at half capacity ({half['rate']:.0f}/s): pipeline p99",
            _num(half["pipeline_p99_ms"], " ms"),
            "<= 250 ms",
            half["pipeline_p99_ms"] <= 250,
        )
    else:
        row("at half capacity: pipeline p50 / p99", "n/a (no rate held)", "<= 50 / 250 ms", False)
    scaling = r["scaling"]
    if "skipped" in scaling:
        row("scaling: worker concurrency 1,2,4,8 (100 ms gateway)", scaling["skipped"], ">= 1.8x")
    else:
        tp = scaling["throughput"]
        levels = sorted(tp)
        for a, b in zip(levels, levels[1:], strict=False):
            gain = tp[b] / tp[a] if tp[a] else 0
            row(f"scaling: concurrency {a} -> {b}", _num(gain, "x", 2), ">= 1.8x", gain >= 1.8)
    worst = max(r["rss_mib"].items(), key=lambda kv: kv[1])
    app_worst = max(
        ((k, v) for k, v in r["rss_mib"].items() if k not in ("postgres", "kafka", "rabbitmq")),
        key=lambda kv: kv[1],
        default=worst,
    )
    row(
        f"largest app process RSS ({app_worst[0]}, after this run)",
        _num(app_worst[1] * 1.048576, " MB"),
        "<= 150 MB",
        app_worst[1] <= RSS_LIMIT_MIB,
    )
    return rows


def chart(r: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = r["sustained"]
    fig, (a, b, c) = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    series = s["post_series"]
    buckets: dict[int, list[float]] = {}
    for at, ms in series:
        buckets.setdefault(int(at), []).append(ms)
    xs = sorted(buckets)
    a.plot(xs, [len(buckets[x]) for x in xs], label="POST /orders per s")
    a.axhline(s["rate"], color="grey", linestyle=":", label="offered")
    a.set_ylabel("orders/s")
    a.legend(loc="lower right")
    a.set_title(f"sustained {s['rate']:.0f}/s: throughput, POST latency, backlog")

    def q(values, p):
        values = sorted(values)
        return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]

    for p in (0.5, 0.95, 0.99):
        b.plot(xs, [q(buckets[x], p) for x in xs], label=f"POST p{int(p * 100)}")
    b.axhline(
        s["pipeline_p99_ms"],
        color="red",
        linestyle="--",
        label=f"pipeline p99 {s['pipeline_p99_ms']:.0f} ms (whole run)",
    )
    b.set_ylabel("ms")
    b.set_yscale("log")
    b.legend(loc="upper right")
    backlog = s["backlog"]
    ts = [x["t"] for x in backlog]
    for key in ("outbox", "kafka_lag", "rabbitmq"):
        c.plot(ts, [x[key] for x in backlog], label=key)
    c.set_ylabel("messages waiting")
    c.set_xlabel("seconds")
    c.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
