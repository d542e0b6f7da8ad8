"""When the pipeline consumer gathers: while the workers are behind, and how that is known.

A step task carries the orders one poll handed on (workers/tasks.py). Tasks queued in
RabbitMQ behind others do not merge with them, so once the workers fell behind with small
tasks, the queue stayed one of small tasks: each cost a message, a transaction and a
follow-up, and the workers could stay behind for as long as orders kept coming. The sign
that they are behind is RabbitMQ's own count of the step queue's messages that no worker
has taken (each worker already holds its prefetch: a few per thread). While there are
some, the consumer polls a little longer (settings.pipeline_gather_ms), and hands on fewer,
larger tasks, which cost the workers less per order; once the queue is empty it hands each
poll on at once again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# RabbitMQ is asked at most this often; between two answers the last one stands.
ASK_EVERY_S = 0.1


def gather_seconds(waiting: int, gather_ms: int) -> float:
    """How long a poll should go on gathering, given the messages no worker has taken."""
    return gather_ms / 1000 if waiting > 0 and gather_ms > 0 else 0.0


class Backpressure:
    """gather_seconds() over a count read through ``ask`` at most every ASK_EVERY_S. A
    failed ask counts as no backlog: the broker's trouble surfaces where the consumer
    publishes, which waits it out."""

    def __init__(
        self,
        ask: Callable[[], int],
        gather_ms: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ask, self.gather_ms, self.clock = ask, gather_ms, clock
        self.waiting, self._asked_at = 0, float("-inf")

    def __call__(self) -> float:
        now = self.clock()
        if self.gather_ms > 0 and now - self._asked_at >= ASK_EVERY_S:
            self._asked_at = now
            try:
                self.waiting = self.ask()
            except Exception:  # noqa: BLE001 - see the class docstring
                self.waiting = 0
        return gather_seconds(self.waiting, self.gather_ms)
