"""How long the relay gathers after a wakeup (events/relay_pace.py): pure, with a fake
clock, no PostgreSQL or Kafka."""

from __future__ import annotations

import pytest

from events.relay_pace import HALF_LIFE_S, EventRate, gather_seconds

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("events_per_s", "rows", "longest_ms", "seconds"),
    [
        (150, 3, 20, 0.02),  # 50 orders/s: the longest
        (300, 3, 20, 0.01),  # 100 orders/s: half of it
        (600, 3, 20, 0.005),
        (30, 3, 20, 0.02),  # slower than a batch per longest: never longer
        (0, 3, 20, 0.02),  # idle: no rate known
        (300, 0, 20, 0.02),
        (300, 3, 0, 0.0),  # 0 ms: read at once, whatever the rate
        (0, 3, 0, 0.0),
    ],
)
def test_the_gather_fills_a_batch_at_the_rate_events_come(events_per_s, rows, longest_ms, seconds):
    assert gather_seconds(events_per_s, rows, longest_ms) == pytest.approx(seconds)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def publish(clock: Clock, rate: EventRate, every_s: float, seconds: float) -> None:
    """Batches of 3 events every ``every_s`` for ``seconds``."""
    for _ in range(round(seconds / every_s)):
        clock.now += every_s
        rate.add(3)


def test_a_steady_rate_is_read_back():
    clock = Clock()
    rate = EventRate(clock)
    publish(clock, rate, every_s=0.01, seconds=20)
    assert rate.per_second() == pytest.approx(300, rel=0.03)


def test_the_rate_follows_a_change_within_a_few_half_lives():
    clock = Clock()
    rate = EventRate(clock)
    publish(clock, rate, every_s=0.01, seconds=10)
    publish(clock, rate, every_s=0.02, seconds=5 * HALF_LIFE_S)
    assert rate.per_second() == pytest.approx(150, rel=0.06)


def test_an_idle_relay_forgets_its_rate():
    clock = Clock()
    rate = EventRate(clock)
    rate.add(300)
    clock.now += 10 * HALF_LIFE_S
    assert rate.per_second() < 1
    assert gather_seconds(rate.per_second(), 3, 20) == pytest.approx(0.02)


def test_nothing_published_adds_nothing():
    clock = Clock()
    rate = EventRate(clock)
    rate.add(0)
    clock.now += 1
    rate.add(0)
    assert rate.per_second() == 0
