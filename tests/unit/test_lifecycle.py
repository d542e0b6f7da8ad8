"""Every pair of statuses against the table in ../shared/API.md."""

import itertools

import pytest

from app.core.lifecycle import (
    ALLOWED,
    TERMINAL,
    InvalidTransition,
    Reason,
    Status,
    can_transition,
    is_cancellable,
    next_kitchen_step,
    transition,
)

pytestmark = pytest.mark.unit
S, R = Status, Reason

# Written out from the contract's diagram, independently of app.core.lifecycle.ALLOWED.
CONTRACT = {
    (S.PLACED, S.AWAITING_ACCEPTANCE): set(),
    (S.AWAITING_ACCEPTANCE, S.CONFIRMED): set(),
    (S.CONFIRMED, S.PREPARING): set(),
    (S.PREPARING, S.READY): set(),
    (S.READY, S.DISPATCHED): set(),
    (S.DISPATCHED, S.DELIVERED): set(),
    (S.PLACED, S.REJECTED): {"invalid_order", "unavailable", "out_of_stock", "payment_declined"},
    (S.AWAITING_ACCEPTANCE, S.REJECTED): {"restaurant_rejected"},
    (S.PLACED, S.CANCELLED): {"customer_cancelled", "acceptance_timeout"},
    (S.AWAITING_ACCEPTANCE, S.CANCELLED): {"customer_cancelled", "acceptance_timeout"},
}
PAIRS = list(itertools.product(Status, Status))


def test_table_is_exactly_the_contract():
    assert {k: {str(r) for r in v} for k, v in ALLOWED.items()} == CONTRACT


@pytest.mark.parametrize(("current", "target"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_every_pair(current, target):
    reasons = CONTRACT.get((current, target))
    if reasons is None:
        for reason in [None, *Reason]:
            assert not can_transition(current, target, reason)
            with pytest.raises(InvalidTransition):
                transition(current, target, reason)
        return
    if not reasons:
        assert transition(current, target) == target
        for reason in Reason:
            with pytest.raises(InvalidTransition):
                transition(current, target, reason)
        return
    with pytest.raises(InvalidTransition):
        transition(current, target)  # a reason is required
    for reason in Reason:
        if str(reason) in reasons:
            assert transition(current, target, reason) == target
        else:
            with pytest.raises(InvalidTransition):
                transition(current, target, reason)


def test_terminal_statuses_have_no_way_out():
    for status in TERMINAL:
        assert not any(src == status for src, _ in ALLOWED)


def test_kitchen_steps_go_one_at_a_time():
    assert next_kitchen_step(S.CONFIRMED) == S.PREPARING
    assert next_kitchen_step(S.PREPARING) == S.READY
    assert next_kitchen_step(S.READY) == S.DISPATCHED
    assert next_kitchen_step(S.DISPATCHED) == S.DELIVERED
    for status in (S.DELIVERED, S.PLACED, S.AWAITING_ACCEPTANCE, S.REJECTED, S.CANCELLED):
        assert next_kitchen_step(status) is None


def test_cancellable_only_before_confirmation():
    assert {s for s in Status if is_cancellable(s)} == {S.PLACED, S.AWAITING_ACCEPTANCE}


def test_error_names_both_statuses():
    with pytest.raises(InvalidTransition, match="from CANCELLED to CONFIRMED"):
        transition(S.CANCELLED, S.CONFIRMED)
