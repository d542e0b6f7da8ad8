"""The intake's pure decisions (app/orders/commands.py): what POST /orders refuses before
anything is written, from the plain values the one read statement returns."""

import pytest

from app.core.errors import BadRequest, Conflict
from app.orders.commands import check_intake, check_replay, request_hash
from app.orders.rules import MAX_ORDER_TOTAL_CENTS

pytestmark = pytest.mark.unit


def lines(*pairs):
    return [{"menu_item_id": item, "quantity": qty, "notes": None} for item, qty in pairs]


def test_an_unknown_restaurant_is_a_400_on_restaurant_id():
    with pytest.raises(BadRequest) as info:
        check_intake(False, {}, lines((1, 1)))
    assert set(info.value.errors) == {"restaurant_id"}


def test_every_line_known_says_so():
    assert check_intake(True, {1: 500, 2: 700}, lines((1, 2), (2, 1))) is True


def test_a_line_naming_no_item_of_the_restaurant_is_left_to_the_pipeline():
    # Not a 400: the contract says the pipeline rejects it (invalid_order).
    assert check_intake(True, {1: 500}, lines((1, 1), (99, 1))) is False
    assert check_intake(True, {}, lines((99, 1))) is False


def test_the_total_bound_is_checked_at_todays_prices():
    exactly = MAX_ORDER_TOTAL_CENTS // 2
    assert check_intake(True, {1: exactly}, lines((1, 2))) is True
    with pytest.raises(BadRequest) as info:
        check_intake(True, {1: exactly + 1}, lines((1, 2)))
    assert set(info.value.errors) == {"items"}


def test_unknown_lines_do_not_count_toward_the_total():
    assert check_intake(True, {1: 100}, lines((1, 1), (2, 99))) is False


def test_a_repeated_item_counts_every_line():
    price = MAX_ORDER_TOTAL_CENTS // 100
    with pytest.raises(BadRequest):
        check_intake(True, {1: price}, lines((1, 99), (1, 2)))


def test_a_replay_with_the_same_body_passes_and_another_body_is_a_409():
    body = {"restaurant_id": 1, "items": lines((1, 1))}
    digest = request_hash(body)
    check_replay(digest, request_hash(dict(reversed(body.items()))))  # key order is not the body
    with pytest.raises(Conflict):
        check_replay(digest, request_hash({**body, "restaurant_id": 2}))
