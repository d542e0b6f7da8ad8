"""When the pipeline consumer gathers: while the workers are behind, and how that is known.

A step task carries the orders one poll handed on (workers/tasks.py). Tasks queued in
RabbitMQ behind others do not merge with them, so once the workers fell behind with small
tasks, the queue stayed one of small tasks: each cost a message, a transaction and a
follow-up, and the workers could stay behind for as long as orders kept coming. While they
are behind, the consumer polls a little longer (settings.pipeline_gather_ms) and hands on
fewer, larger tasks, which cost the workers less per order; once they keep up again it
hands each poll on at once. Two signs, either enough:

- RabbitMQ's own count of step messages no worker has taken (a deep backlog: each worker
  already holds its prefetch, a few messages per thread), asked at most every ASK_EVERY_S;
- the pipeline's own latency, read off the events this group reads anyway: an
  order.awaiting_acceptance event carries when it happened and when its order was placed.
  Orders taking longer than settings.pipeline_slow_ms mean a backlog, in the worker's
  prefetch where RabbitMQ cannot count it; the sign holds for SLOW_HOLDS_S after the last
  slow order, so an idle pipeline never gathers for an order that comes later.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime

# RabbitMQ is asked at most this often; between two answers the last one stands.
ASK_EVERY_S = 0.1
# How long one slow order keeps the consumer gathering.
SLOW_HOLDS_S = 1.0


def gather_seconds(waiting: int, slow: bool, gather_ms: int) -> float:
    """How long a poll should go on gathering, given the step messages no worker has taken
    and whether orders are coming through slowly."""
    return gather_ms / 1000 if (waiting > 0 or slow) and gather_ms > 0 else 0.0


def latency_ms(placed_at: datetime, through_at: datetime) -> float:
    return (through_at - placed_at).total_seconds() * 1000


class Backpressure:
    """gather_seconds() over RabbitMQ's count (read through ``ask``; a failed ask counts as
    no backlog: the broker's trouble surfaces where the consumer publishes, which waits it
    out) and the latencies ``observe`` was given."""

    def __init__(
        self,
        ask: Callable[[], int],
        gather_ms: int,
        slow_ms: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ask, self.gather_ms, self.slow_ms, self.clock = ask, gather_ms, slow_ms, clock
        self.waiting, self._asked_at = 0, float("-inf")
        self._slow_until = float("-inf")

    def observe(self, latencies_ms: Iterable[float]) -> None:
        """Latencies (ms) of orders that just came through the pipeline."""
        if any(ms > self.slow_ms for ms in latencies_ms):
            self._slow_until = self.clock() + SLOW_HOLDS_S

    def __call__(self) -> float:
        if self.gather_ms <= 0:
            return 0.0
        now = self.clock()
        if now - self._asked_at >= ASK_EVERY_S:
            self._asked_at = now
            try:
                self.waiting = self.ask()
            except Exception:  # noqa: BLE001 - see the class docstring
                self.waiting = 0
        return gather_seconds(self.waiting, now < self._slow_until, self.gather_ms)
