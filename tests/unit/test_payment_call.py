"""Whose turn it is, as a gateway step reads it before its call (app/orders/steps.py)."""

import pytest

from app.core.lifecycle import PaymentStatus, Stage, Status
from app.orders.steps import PaymentCall, Step

pytestmark = pytest.mark.unit


def call(status, stage, payment) -> PaymentCall:
    return PaymentCall(1, status, stage, payment, "order-1-payment", "tok_ok", 1500, 300)


def test_authorize_is_due_only_once_stock_is_reserved():
    assert call(Status.PLACED, Stage.STOCK_RESERVED, PaymentStatus.PENDING).step == Step.AUTHORIZE
    assert call(Status.PLACED, Stage.VALIDATED, PaymentStatus.PENDING).step == Step.RESERVE


def test_a_cancel_during_the_call_turns_it_into_a_void():
    dead = call(Status.CANCELLED, Stage.STOCK_RESERVED, PaymentStatus.PENDING)
    assert dead.step == Step.VOID
    assert call(Status.CONFIRMED, Stage.AUTHORIZED, PaymentStatus.AUTHORIZED).step == Step.CAPTURE
    assert call(Status.AWAITING_ACCEPTANCE, Stage.AUTHORIZED, PaymentStatus.AUTHORIZED).step is None
