"""Order rules checked at intake and again by the pipeline. Pure: plain numbers in."""

from __future__ import annotations

from collections.abc import Iterable

# The largest order total accepted: R$ 1,000,000.00. The contract's bound (API.md): above
# it, 400 at intake, or REJECTED invalid_order if prices rose before the pipeline ran.
# Money is 64-bit everywhere, so the bound is policy, not a guard against overflow.
MAX_ORDER_TOTAL_CENTS = 100_000_000


def order_total(lines: Iterable[tuple[int, int]]) -> int:
    """Sum of unit price x quantity over (unit_price_cents, quantity) lines."""
    return sum(price * quantity for price, quantity in lines)


def total_allowed(total_cents: int) -> bool:
    return 0 <= total_cents <= MAX_ORDER_TOTAL_CENTS
