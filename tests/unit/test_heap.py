"""Startup objects are frozen out of the cyclic collector's walk (app/core/heap.py)."""

from __future__ import annotations

import gc

import pytest

from app.core.heap import freeze_startup_objects

pytestmark = pytest.mark.unit


@pytest.fixture
def unfrozen():
    yield
    gc.unfreeze()


def test_what_exists_is_frozen_and_what_comes_later_is_still_collected(unfrozen):
    class Node:
        pass

    frozen = freeze_startup_objects()
    assert frozen > 0 and gc.get_freeze_count() == frozen
    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle made after the freeze
    del a, b
    assert gc.collect() >= 2


def test_the_garbage_of_starting_is_collected_not_frozen(unfrozen):
    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    freeze_startup_objects()
    gc.unfreeze()
    assert gc.collect() == 0  # the cycle was gone before the freeze
