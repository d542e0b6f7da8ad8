"""What the harness did and what it was answered: the expectations the invariants check.

Times are wall-clock seconds (``time.time()``) so they compare with the timestamps the app
writes into PostgreSQL on the same machine.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Outcomes of an order POST.
ACCEPTED, REFUSED, REJECTED_4XX, UNRESOLVED = "accepted", "refused", "4xx", "unresolved"


@dataclass
class Action:
    """One state-changing call on an order: cancel, accept, reject, or a kitchen step."""

    kind: str  # cancel | accept | reject | PREPARING | READY | DISPATCHED | DELIVERED
    outcome: str  # "202", "409", "404", "503", "error:<name>", ...
    sent: float
    received: float

    @property
    def done(self) -> bool:
        return self.outcome == "202"

    @property
    def unknown(self) -> bool:
        """No answer, or a 5xx that is not 503: the call may or may not have taken effect."""
        return self.outcome.startswith("error:") or (
            self.outcome.isdigit() and int(self.outcome) >= 500 and self.outcome != "503"
        )


@dataclass
class Attempt:
    """One order the harness tried to place (one Idempotency-Key)."""

    key: str
    customer_id: int
    restaurant_id: int
    body: dict[str, Any]
    token: str
    flags: frozenset[str]  # foreign_item | unavailable_item | small_stock
    sent: float
    outcome: str = UNRESOLVED
    status_code: int | None = None
    order_id: int | None = None
    tries: int = 0
    unknown_tries: int = 0  # tries that got no answer (retried with the same key)
    answered: float = 0.0
    actions: list[Action] = field(default_factory=list)

    def did(self, kind: str) -> list[Action]:
        return [a for a in self.actions if a.kind == kind]


class Ledger:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.attempts: dict[str, Attempt] = {}
        self.by_order: dict[int, Attempt] = {}
        self.customers: set[int] = set()
        self.restaurants: dict[int, dict[str, Any]] = {}  # id -> {acceptance_seconds, ...}
        self.items: dict[int, dict[str, Any]] = {}  # menu item id -> {restaurant_id, stock, ...}
        self.poison: list[dict[str, Any]] = []  # {partition, offset, kind, key}

    def add(self, attempt: Attempt) -> None:
        with self.lock:
            self.attempts[attempt.key] = attempt

    def resolve(self, attempt: Attempt, outcome: str, status: int | None, order_id=None) -> None:
        with self.lock:
            attempt.outcome, attempt.status_code = outcome, status
            if order_id is not None:
                attempt.order_id = order_id
                self.by_order[order_id] = attempt

    def act(self, order_id: int, action: Action) -> None:
        with self.lock:
            self.by_order[order_id].actions.append(action)

    def accepted(self) -> list[Attempt]:
        with self.lock:
            return [a for a in self.attempts.values() if a.outcome == ACCEPTED]

    def counts(self) -> Counter:
        with self.lock:
            return Counter(a.outcome for a in self.attempts.values())

    def accepted_count(self) -> int:
        with self.lock:
            return len(self.by_order)
