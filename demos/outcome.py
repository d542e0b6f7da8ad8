"""What a demo hands back: its before/after table, its chart, and the lesson.

Rendering is pure (strings in, strings out) so it is unit-tested without a stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Table:
    headers: tuple[str, ...]
    rows: list[tuple[object, ...]] = field(default_factory=list)

    def add(self, *row: object) -> None:
        self.rows.append(row)

    def render(self) -> str:
        cells = [tuple(self.headers)] + [tuple(_cell(v) for v in r) for r in self.rows]
        widths = [max(len(str(r[i])) for r in cells) for i in range(len(self.headers))]

        def line(values: tuple[object, ...]) -> str:
            out = []
            for i, v in enumerate(values):
                text = str(v)
                # Numbers right-aligned, words left-aligned: columns read at a glance.
                out.append(text.rjust(widths[i]) if _numeric(text) else text.ljust(widths[i]))
            return "| " + " | ".join(out) + " |"

        rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
        return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def _cell(value: object) -> object:
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return "-" if value is None else value


def _numeric(text: str) -> bool:
    try:
        float(text.rstrip("%x").replace(",", ""))
        return True
    except ValueError:
        return False


@dataclass
class Outcome:
    """``missing`` names the knobs the demo needed and did not find: the parts they drive
    were skipped and say so, nothing was made up."""

    title: str
    table: Table
    notice: list[str]
    chart: Path | None = None
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    more: list[tuple[str, Table]] = field(default_factory=list)  # (caption, table)

    def render(self) -> str:
        out = [f"== {self.title} ==", "", self.table.render(), ""]
        for caption, table in self.more:
            out += [caption, table.render(), ""]
        for note in self.notes:
            out.append(f"note: {note}")
        for knob in self.missing:
            out.append(
                f"MISSING KNOB: {knob} is not in this checkout yet (another part of the project"
                " adds it): what it drives was left out, and nothing was simulated in its place."
            )
        if self.notes or self.missing:
            out.append("")
        out.append("What to notice:")
        out += [f"  - {line}" for line in self.notice]
        if self.chart:
            out += ["", f"chart: {self.chart}"]
        return "\n".join(out)
