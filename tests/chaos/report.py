"""The run's table: faults injected by kind, orders, invariants with their figures; and the
same as JSON for the record."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from tests.chaos.faults import Fault
from tests.chaos.invariants import SAMPLES, Check


@dataclass
class Summary:
    title: str
    settings: dict[str, Any]
    traffic_seconds: float
    settle_seconds: float
    quiet: bool
    orders: dict[str, int]
    final: dict[str, int]
    faults: list[Fault]
    checks: list[Check]
    metrics: dict[str, float] = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)  # unmet run targets

    @property
    def violations(self) -> int:
        return sum(len(c.violations) for c in self.checks) + len(self.targets)

    def to_json(self) -> str:
        data = {
            "title": self.title,
            "settings": self.settings,
            "traffic_seconds": round(self.traffic_seconds, 1),
            "settle_seconds": round(self.settle_seconds, 1),
            "quiet": self.quiet,
            "orders": self.orders,
            "final": self.final,
            "faults": [asdict(f) | {"recovery": f.recovery} for f in self.faults],
            "checks": [asdict(c) for c in self.checks],
            "metrics": self.metrics,
            "unmet_targets": self.targets,
            "violations": self.violations,
        }
        return json.dumps(data, indent=2, default=str)


def fault_rows(faults: list[Fault]) -> list[tuple[str, int, str, str, str, int]]:
    by_kind: dict[str, list[Fault]] = defaultdict(list)
    for f in faults:
        by_kind[f.kind].append(f)
    rows = []
    for kind in sorted(by_kind):
        group = by_kind[kind]
        rec = [f.recovery for f in group if f.recovery is not None]
        outage = [f.outage for f in group if f.outage]
        rows.append(
            (
                kind,
                len(group),
                f"{max(outage):.0f}" if outage else "-",
                f"{max(rec):.1f}" if rec else "-",
                f"{sum(rec) / len(rec):.1f}" if rec else "-",
                sum(1 for f in group if not f.ok or f.recovered is None),
            )
        )
    return rows


def table(headers: tuple[str, ...], rows: list[tuple[Any, ...]], align: str) -> list[str]:
    cells = [tuple(str(c) for c in row) for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: tuple[str, ...]) -> str:
        out = []
        for i, v in enumerate(values):
            out.append(v.ljust(widths[i]) if align[i] == "l" else v.rjust(widths[i]))
        return "  " + "  ".join(out)

    rule = "  " + "  ".join("-" * w for w in widths)
    return [line(headers), rule, *[line(r) for r in cells]]


def render(s: Summary) -> str:
    out = ["", "=" * 78, s.title, "=" * 78]
    out.append(
        f"traffic {s.traffic_seconds / 60:.1f} min, settled in {s.settle_seconds:.0f}s"
        + ("" if s.quiet else " (NOT quiet: checks ran on an unsettled stack)")
    )
    out += ["", "Faults injected"]
    out += table(
        ("kind", "count", "outage s", "max recovery s", "mean recovery s", "failed"),
        fault_rows(s.faults),
        "lrrrrr",
    )
    total_rec = [f.recovery for f in s.faults if f.recovery is not None]
    out.append(
        f"  {len(s.faults)} faults; longest recovery {max(total_rec, default=0):.1f}s"
        " (recovery: /readyz 200, every process RUNNING, backlog of the moment drained)"
    )
    o = s.orders
    out += ["", "Orders"]
    out.append(
        f"  attempted {o.get('attempted', 0)} | accepted (202) {o.get('accepted', 0)} |"
        f" refused (503) {o.get('refused', 0)} | other 4xx {o.get('4xx', 0)} |"
        f" unresolved {o.get('unresolved', 0)} | answered only after a retry"
        f" with the same key {o.get('retried_same_key', 0)}"
    )
    out.append(
        f"  {o.get('accepted', 0) / max(1.0, s.traffic_seconds):.1f} orders/s accepted; placing"
        f" held {o.get('held_seconds', 0)}s while the PLACED backlog was over its cap"
    )
    out += table(("final status", "orders"), sorted(s.final.items(), key=lambda kv: -kv[1]), "lr")
    out += ["", "Invariants"]
    out += table(
        ("invariant", "checked", "violations"),
        [(c.name, c.checked, len(c.violations)) for c in s.checks],
        "lrr",
    )
    figures = [f"{k}={v}" for c in s.checks for k, v in c.figures.items()]
    if figures:
        out.append("  figures: " + ", ".join(figures))
    if s.metrics:
        out.append("  /metrics: " + ", ".join(f"{k}={v:g}" for k, v in sorted(s.metrics.items())))
    bad = [c for c in s.checks if c.violations]
    if bad or s.targets:
        out += ["", "Violations"]
        for t in s.targets:
            out.append(f"  [run targets] {t}")
        for c in bad:
            out.append(f"  [{c.name}] {len(c.violations)}:")
            out += [f"    - {v}" for v in c.violations[:SAMPLES]]
            if len(c.violations) > SAMPLES:
                out.append(f"    ... and {len(c.violations) - SAMPLES} more (see the JSON report)")
    out += [
        "",
        f"RESULT: {'PASS' if s.violations == 0 else 'FAIL'}"
        f" ({s.violations} violation{'s' if s.violations != 1 else ''})",
        "=" * 78,
    ]
    return "\n".join(out)


def final_statuses(orders: dict[int, dict[str, Any]]) -> dict[str, int]:
    counts = Counter(
        o["status"] + (f" ({o['reason']})" if o["reason"] else "") for o in orders.values()
    )
    return dict(counts)
