"""How long the relay gathers after a wakeup: long enough that a batch holds about
settings.relay_gather_rows events at the rate events are coming, and never longer than
settings.relay_gather_ms.

A batch costs the relay, Kafka and every consumer group about the same whether it holds
one event or five, so at a moderate rate a longer gather saves CPU on every process
downstream. At a high rate batches fill on their own, and a long gather only sends the
orders downstream in larger bursts. Measured (docs/PERFORMANCE.md, "Eighth round"): at 50
orders/s a 20 ms gather cost about 5 ms less CPU per order than 10 ms, with a lower pipeline
p50; at 100 orders/s it saved 0.7 ms but doubled the pipeline p99 (400 -> 770 ms).
Aiming at a batch size gives each rate its own gather: with the default 5 rows, 20 ms up
to about 80 orders/s (250 events/s), 17 ms at 100 and 13 ms at 125 ("Tenth round": 5 rows
against 3).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

# How fast the rate forgets: the weight of an event halves every HALF_LIFE_S.
HALF_LIFE_S = 1.0


def gather_seconds(events_per_s: float, rows: int, longest_ms: int) -> float:
    """The gather that fills a batch of ``rows`` events at ``events_per_s``, at most
    ``longest_ms`` (pure). No rate known yet (an idle relay): the longest. 0 ms: never."""
    longest = max(longest_ms, 0) / 1000
    if events_per_s <= 0 or rows <= 0:
        return longest
    return min(longest, rows / events_per_s)


class EventRate:
    """Events per second over the last few seconds: an exponentially decayed count, so
    batches at irregular times need no window of their own."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._tau = HALF_LIFE_S / math.log(2)
        self._weight = 0.0
        self._at = clock()

    def _decay(self) -> None:
        now = self.clock()
        self._weight *= math.exp(-(now - self._at) / self._tau)
        self._at = now

    def add(self, events: int) -> None:
        self._decay()
        self._weight += events

    def per_second(self) -> float:
        # A steady rate r keeps the decayed count at r * tau.
        self._decay()
        return self._weight / self._tau
