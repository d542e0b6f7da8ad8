"""The pipeline consumer's gather decision (events/consumers/backpressure.py) and the
latencies it reads off the events (events/consumers/pipeline.py): pure, with a fake clock
and a counting ask, no broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.envelope import Envelope, EventType, iso
from events.consumers.backpressure import ASK_EVERY_S, SLOW_HOLDS_S, Backpressure, gather_seconds
from events.consumers.base import Received
from events.consumers.pipeline import through

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("waiting", "slow", "gather_ms", "seconds"),
    [
        (0, False, 100, 0.0),
        (1, False, 100, 0.1),
        (500, False, 100, 0.1),
        (0, True, 100, 0.1),
        (3, True, 0, 0.0),
    ],
)
def test_it_gathers_only_while_the_workers_are_behind(waiting, slow, gather_ms, seconds):
    assert gather_seconds(waiting, slow, gather_ms) == seconds


class Broker:
    def __init__(self, *answers):
        self.answers, self.asked = list(answers), 0

    def __call__(self) -> int:
        self.asked += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_rabbitmq_is_asked_at_most_every_tenth_of_a_second():
    now = [100.0]
    broker = Broker(5, 0)
    gather = Backpressure(broker, gather_ms=80, slow_ms=250, clock=lambda: now[0])
    assert gather() == 0.08 and broker.asked == 1
    now[0] += ASK_EVERY_S / 2
    assert gather() == 0.08 and broker.asked == 1  # the last answer stands
    now[0] += ASK_EVERY_S * 0.6
    assert gather() == 0.0 and broker.asked == 2  # caught up: each poll goes on at once


def test_an_unanswered_ask_counts_as_no_backlog_and_is_asked_again_later():
    now = [0.0]
    broker = Broker(ConnectionError("rabbitmq down"), 2)
    gather = Backpressure(broker, gather_ms=100, slow_ms=250, clock=lambda: now[0])
    assert gather() == 0.0
    now[0] += ASK_EVERY_S
    assert gather() == 0.1 and broker.asked == 2


def test_a_gather_of_zero_never_asks():
    broker = Broker()
    gather = Backpressure(broker, gather_ms=0, slow_ms=250)
    gather.observe([10_000])
    assert gather() == 0.0 and broker.asked == 0


def test_a_slow_order_makes_it_gather_for_a_while_even_with_an_empty_queue():
    now = [0.0]
    gather = Backpressure(lambda: 0, gather_ms=100, slow_ms=250, clock=lambda: now[0])
    gather.observe([40, 250])  # not over the threshold
    assert gather() == 0.0
    gather.observe([40, 251])
    assert gather() == 0.1
    now[0] += SLOW_HOLDS_S * 0.9
    assert gather() == 0.1
    now[0] += SLOW_HOLDS_S * 0.2  # no slow order since: an idle pipeline never gathers
    assert gather() == 0.0


def received(kind: EventType, data: dict, at: datetime) -> Received:
    return Received(
        Envelope(type=kind, order_id=1, restaurant_id=1, customer_id=1, data=data, occurred_at=at)
    )


def test_the_latency_is_read_off_the_awaiting_acceptance_events_only():
    placed = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    order = {"order": {"created_at": iso(placed)}}
    batch = [
        received(EventType.ORDER_PLACED, order, placed),
        received(EventType.ORDER_AWAITING_ACCEPTANCE, order, placed + timedelta(milliseconds=320)),
        received(EventType.ORDER_AWAITING_ACCEPTANCE, {"order": {}}, placed),  # no time: skipped
        received(EventType.ORDER_AWAITING_ACCEPTANCE, {"order": "?"}, placed),
        received(EventType.ORDER_AWAITING_ACCEPTANCE, {"order": {"created_at": "x"}}, placed),
    ]
    assert through(batch) == [pytest.approx(320)]
