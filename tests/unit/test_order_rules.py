"""The pure order rules of issue 8: the total's bound and the acceptance deadline."""

from datetime import UTC, datetime, timedelta

import pytest

from app.core.lifecycle import Status, past_acceptance_deadline
from app.orders.rules import MAX_ORDER_TOTAL_CENTS, order_total, total_allowed

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def test_the_total_is_exact_past_32_bits():
    # The order: 3 lines x 99 at R$ 100,000 overflowed a 32-bit total.
    total = order_total([(10_000_000, 99)] * 3)
    assert total == 2_970_000_000 > 2**31
    assert not total_allowed(total)


@pytest.mark.parametrize(
    "total,allowed",
    [(0, True), (MAX_ORDER_TOTAL_CENTS, True), (MAX_ORDER_TOTAL_CENTS + 1, False), (-1, False)],
)
def test_the_bound_is_inclusive(total, allowed):
    assert total_allowed(total) is allowed


@pytest.mark.parametrize(
    "status,deadline,past",
    [
        (Status.AWAITING_ACCEPTANCE, NOW - timedelta(seconds=3), True),
        (Status.AWAITING_ACCEPTANCE, NOW - timedelta(microseconds=1), True),
        (Status.AWAITING_ACCEPTANCE, NOW, False),
        (Status.AWAITING_ACCEPTANCE, NOW + timedelta(seconds=2), False),
        (Status.AWAITING_ACCEPTANCE, None, False),
        # a PLACED order's deadline is the pipeline's: customers may still cancel it
        (Status.PLACED, NOW - timedelta(hours=1), False),
        (Status.CONFIRMED, NOW - timedelta(hours=1), False),
        (Status.CANCELLED, NOW - timedelta(hours=1), False),
    ],
)
def test_the_acceptance_deadline(status, deadline, past):
    assert past_acceptance_deadline(status, deadline, NOW) is past
