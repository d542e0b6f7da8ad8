"""fault tolerance: every kind of app process is killed with SIGKILL (no goodbye, no cleanup)
while orders flow, one after the other. Supervisord restarts each; the outbox, Kafka offsets,
RabbitMQ acks_late and idempotent steps make the work resume where it stopped. The chaos
harness (tests/chaos) runs the traffic and the kills and checks every order at the end."""

from __future__ import annotations

import contextlib
import sys
import time
from collections import Counter

from demos import charts
from demos.context import Context
from demos.outcome import Outcome, Table
from tests.chaos.runner import RunConfig
from tests.chaos.runner import run as chaos_run
from tests.chaos.stackctl import FORKING, PROGRAMS

# Which of the harness's invariants say an order was lost, done twice, or left stuck.
LOST = ("accepted orders exist", "outbox = Kafka", "consumers applied every event")
DOUBLED = ("no phantom orders", "one event per state change", "at most one capture per order",
           "stock conserved")  # fmt: skip
STUCK = ("no order past its pipeline deadline", "faults recovered")
SHORT_KILLS = ("kill -9 relay", "kill -9 worker child", "kill -9 api")
NOTICE = [
    "Each process died without warning (SIGKILL) in the middle of its work, and the count of"
    " orders lost, done twice or left stuck is 0.",
    "Nothing is lost because every hand-over is durable before it is acknowledged: the outbox"
    " row commits with the order, Kafka offsets are committed after the work, Celery acks a task"
    " only after it ran (acks_late), so a killed worker's task goes back to the queue.",
    "Nothing is done twice although work IS redone: every step is idempotent (dedupe on"
    " event_id, the payment's idempotency key), so at-least-once delivery gives exactly-once"
    " effects.",
    "Customers saw 503s with Retry-After while the API was down, never a 500, and retried"
    " with the same Idempotency-Key.",
]


def kills(short: bool) -> tuple[str, ...]:
    if short:
        return SHORT_KILLS
    return tuple(f"kill -9 {p}" for p in PROGRAMS) + tuple(f"kill -9 {p} child" for p in FORKING)


def classify(checks) -> dict[str, int]:
    """Violations per class: lost, doubled, stuck, and any other invariant broken."""
    out = Counter({"lost": 0, "doubled": 0, "stuck": 0, "other": 0})
    for check in checks:
        kind = ("lost" if check.name in LOST else "doubled" if check.name in DOUBLED
                else "stuck" if check.name in STUCK else "other")  # fmt: skip
        out[kind] += len(check.violations)
    return dict(out)


def run(ctx: Context, short: bool = False) -> Outcome:
    plan = kills(short)
    log = ctx.out_dir / "fault-tolerance.log"
    cfg = RunConfig.short_run(
        minutes=0.3 if short else 0.6, orders=15 if short else 60, faults=plan,
        gap=(0.5, 1.0), max_minutes=2.0, settle_limit=90.0, recovery_limit=90.0,
    )  # fmt: skip
    print(f"running the chaos harness: {len(plan)} kills under load (full log: {log})", flush=True)
    with open(log, "w") as sink, contextlib.redirect_stdout(_Echo(sink)):
        result = chaos_run(cfg)
    s = result.summary
    counts = classify(s.checks)
    table = Table(("kill -9 of", "when (s)", "back after (s)", "ok"))
    t0 = min((f.started for f in s.faults), default=time.time())
    for f in s.faults:
        table.add(f.kind.removeprefix("kill -9 "), f.started - t0, f.recovery,
                  "yes" if f.ok and f.recovered else "NO")  # fmt: skip
    totals = Table(("orders placed (202)", "503 answers", "lost", "doubled", "stuck",
                    "other violations", "invariants checked"))  # fmt: skip
    totals.add(s.orders["accepted"], next((c.figures.get("answered_503") for c in s.checks
                                          if c.name.startswith("API")), 0),
               counts["lost"], counts["doubled"], counts["stuck"], counts["other"],
               len(s.checks))  # fmt: skip
    notes = [f"final statuses: {dict(s.final)}", f"full harness report: {result.report_path}"]
    if s.targets:
        notes.append(f"run targets not met: {s.targets}")
    chart = _chart(ctx, s, counts, t0)
    caption = "Every order the harness placed, checked after the kills:"
    return Outcome("fault tolerance: kill -9 of every kind of process under load", table,
                   NOTICE, chart, notes=notes, more=[(caption, totals)])  # fmt: skip


class _Echo:
    """stdout for the harness: everything to the log file, its progress lines to the screen."""

    def __init__(self, sink) -> None:
        self.sink, self.screen = sink, sys.__stdout__

    def write(self, text: str) -> int:
        self.sink.write(text)
        for line in text.splitlines():
            if line.startswith("[chaos") and ("kill -9" in line or "quiet" in line):
                self.screen.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self.sink.flush()
        self.screen.flush()


def _chart(ctx: Context, s, counts: dict[str, int], t0: float):
    fig, (left, right) = charts.plt.subplots(
        1, 2, figsize=(15, 6.5), dpi=100, gridspec_kw={"width_ratios": [3, 2]}
    )
    left.grid(False)
    for i, f in enumerate(s.faults):
        back = f.recovery or 0
        left.barh(i, max(back, 0.3), left=f.started - t0, color=charts.RED, alpha=0.8)
        left.text(f.started - t0 + max(back, 0.3) + 0.5, i, f"{back:.1f}s", va="center",
                  fontsize=12)  # fmt: skip
    left.set_yticks(range(len(s.faults)))
    left.set_yticklabels([f.kind.removeprefix("kill -9 ") for f in s.faults])
    left.invert_yaxis()
    left.set_xlabel("seconds since the first kill")
    left.set_title("each kill -9 and how long until recovered")
    names = ["lost", "doubled", "stuck"]
    bars = right.bar(names, [counts[n] for n in names], color=charts.GREEN)
    right.set_ylim(0, max(5, *[counts[n] for n in names]) * 1.2)
    for bar, name in zip(bars, names, strict=True):
        right.text(bar.get_x() + bar.get_width() / 2, 0.3, str(counts[name]), ha="center",
                   fontsize=40, fontweight="bold",
                   color=charts.GREEN if counts[name] == 0 else charts.RED)  # fmt: skip
    right.set_yticks([])
    right.set_title(f"orders checked: {s.orders['accepted']}")
    fig.suptitle("fault tolerance: kill -9 under load, nothing lost, doubled or stuck",
                 fontsize=18)  # fmt: skip
    return charts.save(fig, ctx.chart_path("fault-tolerance"))
