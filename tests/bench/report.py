"""The bench's table (figure, value, target, ok/MISS) and its chart."""

from __future__ import annotations

import math
from pathlib import Path

from tests.bench import figures


def _ok(good: bool | None) -> str:
    return "" if good is None else ("ok" if good else "MISS")


def _num(value: float, unit: str = "", digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}{unit}"


def print_table(rows: list[tuple[str, str, str, str]], out=None) -> None:
    width = max(len(r[0]) for r in rows)
    vwidth = max([16] + [len(r[1]) for r in rows if len(r[1]) <= 28])  # a long note overflows
    for name, value, target, verdict in rows:
        print(f"  {name:<{width}}  {value:>{vwidth}}  {target:<18} {verdict}", file=out)


def _cpu_how(s: dict) -> str:
    if s["cpu_capped"]:
        return (
            f"CAPPED at {s['cpu_window_s']:.0f} s: {s['cpu_orders']} of {s['placed']} through,"
            " so this overstates"
        )
    return f"{s['cpu_orders']} orders, window {s['cpu_window_s']:.0f} s until all through"


def _open_loop_rows(row, label: str, s: dict, targets: bool) -> None:
    stopped = f", stopped at {s['offered_s']:.0f} s" if s["stopped_early"] else ""
    row(
        f"{label}: offered for {s['seconds']:.0f} s{stopped}",
        _num(s["rate"], " /s"),
        ">= 100 /s" if targets else "",
        (s["rate"] >= 100 and not s["stopped_early"]) if targets else None,
    )
    row(
        f"{label}: reached AWAITING in time",
        _num(s["throughput"], " /s", 1),
        ">= 95 % of offered",
        s["throughput"] >= 0.95 * s["rate"] and s["reached_in_time"] == s["placed"],
    )
    kinds = ", ".join(f"{k}: {v}" for k, v in sorted(s.get("error_statuses", {}).items()))
    row(
        f"{label}: POST errors" + (f" ({kinds}; -1 = no reply in 30 s)" if kinds else ""),
        _num(s["errors"]),
        "0",
        s["errors"] == 0,
    )
    row(
        f"{label}: pipeline p99 PLACED->AWAITING",
        _num(s["pipeline_p99_ms"], " ms"),
        "<= 500 ms",
        s["pipeline_p99_ms"] <= 500,
    )
    ok, got = figures.bounded(s["backlog"], s["rate"], s["offered_s"], s.get("per_order"))
    level, growth = got.get("level_s", float("nan")), got.get("growth_s", float("nan"))
    row(
        f"{label}: backlog, s of work (last third; growth)",
        f"{_num(level, '', 2)}; {_num(growth, '', 2)}",
        f"<= {figures.LEVEL_S:g}; <= {figures.GROWTH_S:g}",
        ok,
    )


def table(r: dict) -> list[tuple[str, str, str, str]]:
    rows = []

    def row(name, value, target="", good=None):
        rows.append((name, value, target, _ok(good)))

    if "idle_cpu_ms_per_s" in r:  # a busy stack skews every figure below
        idle = r["idle_cpu_ms_per_s"]
        row(
            "idle stack's CPU before the run",
            _num(idle, " ms/s"),
            f"<= {figures.IDLE_BUSY_MS_PER_S} ms/s",
            idle <= figures.IDLE_BUSY_MS_PER_S,
        )
    # The ratio compares like with like: the floor and one API process, each one gunicorn
    # (2 workers x 4 threads) over plain HTTP. Through nginx (TLS, every API process) is shown.
    direct = r.get("intake_direct_rps", r["intake_rps"])
    ratio = direct / r["floor_rps"] if r["floor_rps"] else 0
    row("floor (JWT + 1 tx) req/s, one gunicorn", _num(r["floor_rps"]))
    row("intake POST /orders req/s, one API process", _num(direct))
    if r.get("intake_direct_errors"):
        row("  of which not 202 (-1 = no reply)", _num(r["intake_direct_errors"]), "0", False)
    row("intake / floor", _num(ratio * 100, " %"), ">= 60 %", ratio >= 0.6)
    row("intake req/s through nginx + TLS (pipeline paused)", _num(r["intake_rps"]))
    row(
        f"POST p99 at half rate ({r['half_rate']:.0f}/s)",
        _num(r["half_post_p99_ms"], " ms"),
        "<= 50 ms",
        r["half_post_p99_ms"] <= 50,
    )
    s = r["sustained"]
    _open_loop_rows(row, "sustained", s, targets=True)
    row(
        "sustained: CPU ms per order, all processes",
        _num(s["cpu_ms_per_order_total"], "", 1),
        "<= 20",
        s["cpu_ms_per_order_total"] <= 20 and not s["cpu_capped"],
    )
    row(f"  taken over: {_cpu_how(s)}", "")
    row("  of which the idle stack's own CPU", _num(s["idle_cpu_ms_per_order"], "", 2))
    for name, ms in sorted(s["cpu_ms_per_order"].items(), key=lambda kv: -kv[1]):
        row(f"  CPU ms per order: {name}", _num(ms, "", 2))
    row(
        "  load generator's own CPU ms per order (apart)",
        _num(s["loadgen_cpu_ms_per_order"], "", 2),
    )
    row("highest rate that holds", _num(r["max_rate"], " /s"), ">= 100 /s", r["max_rate"] >= 100)
    half = r.get("capacity_half")
    if half:
        label = f"half capacity ({half['rate']:.0f}/s)"
        row(
            f"{label}: pipeline p50",
            _num(half["pipeline_p50_ms"], " ms"),
            "<= 50 ms",
            half["pipeline_p50_ms"] <= 50,
        )
        row(
            f"{label}: pipeline p99",
            _num(half["pipeline_p99_ms"], " ms"),
            "<= 250 ms",
            half["pipeline_p99_ms"] <= 250,
        )
        row(
            f"{label}: CPU ms per order, all processes",
            _num(half["cpu_ms_per_order_total"], "", 1),
            "<= 20",
            half["cpu_ms_per_order_total"] <= 20 and not half["cpu_capped"],
        )
        row(f"  taken over: {_cpu_how(half)}", "")
    else:
        row("half capacity: pipeline p50 / p99", "n/a (no rate held)", "<= 50 / 250 ms", False)
    sc = r["scaling"]
    if "skipped" in sc:
        row("scaling: worker concurrency 1,2,4,8 (100 ms gateway)", sc["skipped"], ">= 1.8x")
    else:
        for level, lv in sorted(sc["levels"].items(), key=lambda kv: int(kv[0])):
            row(
                f"scaling: concurrency {level}: authorizations/s ({lv['orders']} orders)",
                _num(lv["rate"], " /s", 1),
                f"ceiling {lv['ceiling']:.0f} /s",
            )
        tp = {int(k): v for k, v in sc["throughput"].items()}
        for a, b, gain in figures.gains(tp):
            row(f"scaling: concurrency {a} -> {b}", _num(gain, "x", 2), ">= 1.8x", gain >= 1.8)
    name, mb, good = figures.rss_verdict(r["rss_mib"])
    row(f"largest app process RSS ({name}, after this run)", _num(mb, " MB"), "<= 150 MB", good)
    for d in r.get("drains", []):
        if d["left"]:
            row(f"  messages left after {d['after']} (capped drain)", _num(d["left"]))
    return rows


def _per_second(points: list[tuple[float, float]]) -> dict[int, list[float]]:
    buckets: dict[int, list[float]] = {}
    for at, value in points:
        buckets.setdefault(int(at), []).append(value)
    return buckets


def chart(r: dict, path: Path) -> None:
    """The sustained phase over time: arrivals and orders through per second; POST and
    pipeline latency percentiles per second; the backlogs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = r["sustained"]
    fig, (a, b, c) = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    post = _per_second(s["post_series"])
    pipe = _per_second([(p + ms / 1000, ms) for p, ms in s["pipeline_series"]])
    xs = sorted(post)
    a.plot(xs, [len(post[x]) for x in xs], label="POST /orders per s (arrivals)")
    through = sorted(pipe)
    a.plot(through, [len(pipe[x]) for x in through], label="reached AWAITING per s")
    a.axhline(s["rate"], color="grey", linestyle=":", label="offered")
    a.set_ylabel("orders/s")
    a.legend(loc="lower right", fontsize="small")
    a.set_title(f"sustained {s['rate']:.0f}/s: throughput, latency, backlog")
    for q, style in ((0.5, "-"), (0.99, "--")):
        b.plot(
            xs,
            [figures.pct(post[x], q) for x in xs],
            style,
            color="C0",
            label=f"POST p{int(q * 100)}",
        )
        b.plot(
            through,
            [figures.pct(pipe[x], q) for x in through],
            style,
            color="C1",
            label=f"pipeline p{int(q * 100)} (by when through)",
        )
    b.axhline(500, color="red", linestyle=":", label="pipeline p99 target")
    b.set_ylabel("ms")
    b.set_yscale("log")
    b.legend(loc="upper left", fontsize="small")
    backlog = s["backlog"]  # in seconds of work of each kind: what "bounded" judges
    ts = [x["t"] for x in backlog]
    secs = [figures.backlog_seconds(x, s["rate"], s.get("per_order")) for x in backlog]
    for key in ("outbox", "kafka_lag", "rabbitmq", "pipeline_orders"):
        c.plot(ts, [w.get(key, float("nan")) for w in secs], label=key)
    c.axhline(figures.LEVEL_S, color="red", linestyle=":", label="level bound (last third)")
    c.axvline(s["offered_s"], color="grey", linestyle=":", label="arrivals end")
    c.set_ylabel("backlog, s of work")
    c.set_xlabel("seconds since the phase began")
    c.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
