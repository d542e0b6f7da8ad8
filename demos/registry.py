"""The demos, in teaching order: name -> module and the one line ``make demo`` prints."""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    name: str
    module: str
    shows: str


DEMOS = (
    Entry(
        "async", "demos.async_api", "POST /orders stays fast while the pipeline behind it is slowed"
    ),
    Entry(
        "event-driven",
        "demos.event_driven",
        "a brand-new consumer group replays `orders` and rebuilds a view, API untouched",
    ),
    Entry(
        "concurrency", "demos.concurrency", "worker concurrency against throughput, 100 ms gateway"
    ),
    Entry("scaling", "demos.scaling", "1 -> 2 -> 4 workers, and API processes behind nginx"),
    Entry(
        "fault-tolerance",
        "demos.fault_tolerance",
        "kill -9 of each kind of process under load; counts orders lost, doubled, stuck",
    ),
    Entry("security", "demos.security", "forged, expired, cross-role, cross-tenant: each refused"),
    Entry(
        "separation",
        "demos.separation",
        "the feed consumer stopped: orders keep completing, the feed catches up later",
    ),
)


def find(name: str) -> Entry | None:
    return next((d for d in DEMOS if d.name == name), None)


def load(entry: Entry):
    """The demo's module; it has ``run(ctx, short) -> Outcome``."""
    return importlib.import_module(entry.module)
