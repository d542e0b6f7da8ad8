"""Every pair of the stage, payment and line-stock machines against their tables, written
out here independently of app.core.lifecycle."""

import itertools

import pytest

from app.core.lifecycle import (
    PAYMENT_MOVES,
    STAGE_MOVES,
    STOCK_MOVES,
    InvalidMove,
    PaymentStatus,
    Stage,
    StockState,
    advance_stage,
    can_advance_stage,
    can_move_payment,
    can_move_stock,
    move_payment,
    move_stock,
)

pytestmark = pytest.mark.unit

STAGES = {("new", "validated"), ("validated", "stock_reserved"), ("stock_reserved", "authorized")}
PAYMENTS = {
    ("PENDING", "AUTHORIZED"),
    ("PENDING", "DECLINED"),
    ("PENDING", "VOIDED"),
    ("AUTHORIZED", "CAPTURED"),
    ("AUTHORIZED", "VOIDED"),
}
STOCK = {("none", "reserved"), ("reserved", "released"), ("reserved", "sold")}

MACHINES = [
    ("stage", Stage, STAGE_MOVES, STAGES, can_advance_stage, advance_stage),
    ("payment", PaymentStatus, PAYMENT_MOVES, PAYMENTS, can_move_payment, move_payment),
    ("stock_state", StockState, STOCK_MOVES, STOCK, can_move_stock, move_stock),
]
CASES = [
    (name, enum, table, contract, can, move, a, b)
    for name, enum, table, contract, can, move in MACHINES
    for a, b in itertools.product(enum, enum)
]


@pytest.mark.parametrize(
    ("name", "enum", "table", "contract", "can", "move"),
    MACHINES,
    ids=[m[0] for m in MACHINES],
)
def test_table_is_exactly_the_contract(name, enum, table, contract, can, move):
    assert {(str(a), str(b)) for a, b in table} == contract


@pytest.mark.parametrize(
    ("name", "enum", "table", "contract", "can", "move", "current", "target"),
    CASES,
    ids=[f"{c[0]}:{c[6]}->{c[7]}" for c in CASES],
)
def test_every_pair(name, enum, table, contract, can, move, current, target):
    if (str(current), str(target)) in contract:
        assert can(current, target)
        assert move(current, target) == target
        assert move(str(current), str(target)) is enum(target)  # plain strings from the database
    else:
        assert not can(current, target)
        with pytest.raises(InvalidMove, match=f"{name} from {current} to {target}"):
            move(current, target)


def test_terminal_states_have_no_way_out():
    assert not any(a == Stage.AUTHORIZED for a, _ in STAGE_MOVES)
    for end in (PaymentStatus.CAPTURED, PaymentStatus.DECLINED, PaymentStatus.VOIDED):
        assert not any(a == end for a, _ in PAYMENT_MOVES)
    for end in (StockState.RELEASED, StockState.SOLD):
        assert not any(a == end for a, _ in STOCK_MOVES)


def test_unknown_values_are_refused():
    with pytest.raises(ValueError):
        move_payment("REFUNDED", "VOIDED")
