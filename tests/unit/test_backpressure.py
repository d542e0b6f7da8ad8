"""The pipeline consumer's gather decision (events/consumers/backpressure.py): pure, with a
fake clock and a counting ask, no broker."""

from __future__ import annotations

import pytest

from events.consumers.backpressure import ASK_EVERY_S, Backpressure, gather_seconds

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("waiting", "gather_ms", "seconds"),
    [(0, 100, 0.0), (1, 100, 0.1), (500, 100, 0.1), (3, 0, 0.0)],
)
def test_it_gathers_only_while_messages_wait_for_a_worker(waiting, gather_ms, seconds):
    assert gather_seconds(waiting, gather_ms) == seconds


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
    gather = Backpressure(broker, gather_ms=80, clock=lambda: now[0])
    assert gather() == 0.08 and broker.asked == 1
    now[0] += ASK_EVERY_S / 2
    assert gather() == 0.08 and broker.asked == 1  # the last answer stands
    now[0] += ASK_EVERY_S * 0.6
    assert gather() == 0.0 and broker.asked == 2  # caught up: each poll goes on at once


def test_an_unanswered_ask_counts_as_no_backlog_and_is_asked_again_later():
    now = [0.0]
    broker = Broker(ConnectionError("rabbitmq down"), 2)
    gather = Backpressure(broker, gather_ms=100, clock=lambda: now[0])
    assert gather() == 0.0
    now[0] += ASK_EVERY_S
    assert gather() == 0.1 and broker.asked == 2


def test_a_gather_of_zero_never_asks():
    broker = Broker()
    assert Backpressure(broker, gather_ms=0)() == 0.0 and broker.asked == 0
