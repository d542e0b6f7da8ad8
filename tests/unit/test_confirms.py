"""Tracking publisher confirms on one channel (app/core/confirms.py)."""

import pytest

from app.core.confirms import Unconfirmed

pytestmark = pytest.mark.unit


def test_tags_count_up_from_one_and_each_waits_for_its_answer():
    pending = Unconfirmed()
    assert [pending.published() for _ in range(3)] == [1, 2, 3]
    pending.ack(2)
    assert pending.waiting == {1, 3} and not pending.settled()
    pending.ack(1)
    pending.ack(3)
    assert pending.settled() and pending.nacked == 0


def test_a_multiple_ack_settles_every_tag_up_to_it():
    pending = Unconfirmed()
    for _ in range(5):
        pending.published()
    pending.ack(3, multiple=True)
    assert pending.waiting == {4, 5}
    pending.ack(5, multiple=True)
    assert pending.settled()


def test_a_nack_settles_but_is_counted_as_refused():
    pending = Unconfirmed()
    for _ in range(4):
        pending.published()
    pending.nack(2)
    pending.ack(4, multiple=True)
    assert pending.settled() and pending.nacked == 1
    pending.published()
    pending.nack(5, multiple=True)
    assert pending.nacked == 2


def test_an_answer_twice_or_for_an_unknown_tag_changes_nothing():
    pending = Unconfirmed()
    pending.published()
    pending.ack(1)
    pending.nack(1)
    pending.ack(7)
    assert pending.settled() and pending.nacked == 0
    assert pending.published() == 2  # tags keep counting on the same channel
