"""Judge a stored bench JSON's open-loop phases again, under the rule this checkout has
(tests/bench/figures.py), beside the verdicts the file was written with. Offline: reads
the file, touches no service, writes nothing.

    python -m tests.bench.reevaluate .run/bench/bench-<time>.json

A phase stored before the bench measured its own per-order counts is judged with
figures.DEFAULT_PER_ORDER (3 events an order, 3 consumer groups, 3 step tasks). The search
would have taken other steps under another rule, so "highest rate that holds" here is only
the highest of the rates the stored run actually tried."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.bench import figures


def phases(result: dict) -> list[tuple[str, dict]]:
    out = [("sustained", result["sustained"])]
    out += [(f"search {i + 1}", step) for i, step in enumerate(result.get("search", []))]
    if result.get("capacity_half"):
        out.append(("half capacity", result["capacity_half"]))
    return out


def reevaluate(result: dict) -> list[dict]:
    """One row per open-loop phase: its rate, the stored verdict and reasons, the new ones,
    and the new rule's figures (seconds of work)."""
    rows = []
    for name, f in phases(result):
        held, why = figures.holds(f)
        _, got = figures.bounded(f["backlog"], f["rate"], f["offered_s"], f.get("per_order"))
        rows.append(
            {
                "phase": name,
                "rate": f["rate"],
                "old_holds": f["holds"],
                "old_why": f["why_not"],
                "old_backlog_tail_max": f.get("backlog_tail_max"),
                "new_holds": held,
                "new_why": why,
                **{k: got.get(k) for k in ("level_s", "growth_s", "peak_s")},
            }
        )
    return rows


def best(rows: list[dict], key: str) -> float:
    return max((r["rate"] for r in rows if r[key]), default=0.0)


def main(path: str) -> int:
    result = json.loads(Path(path).read_text())
    rows = reevaluate(result)
    print(f"  {'phase':<14} {'rate':>7}  {'old':<5} {'new':<5} level_s growth_s peak_s  why (new)")
    for r in rows:
        why = "; ".join(r["new_why"]) or "-"
        print(
            f"  {r['phase']:<14} {r['rate']:7.1f}  {r['old_holds']!s:<5} {r['new_holds']!s:<5}"
            f" {r['level_s']:7.2f} {r['growth_s']:8.2f} {r['peak_s']:6.2f}  {why}"
        )
        if r["old_holds"] != r["new_holds"]:
            print(f"  {'':<14} {'':>7}  old: {'; '.join(r['old_why']) or '-'}")
    print(
        f"  highest tried rate that holds: old {best(rows, 'old_holds'):.1f}/s,"
        f" new {best(rows, 'new_holds'):.1f}/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
