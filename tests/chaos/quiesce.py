"""Quiescence: the moment the checks may run. None of the harness's orders is PLACED or
AWAITING_ACCEPTANCE, the outbox is fully published, the three consumer groups have no lag,
every payment of a finished order is settled (captured, voided or declined), and the
simulated people have nothing left to do."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.chaos.probe import Probe
from tests.chaos.traffic import Traffic

SETTLED = """
select
  count(*) filter (where o.status = 'PLACED') as placed,
  count(*) filter (where o.status = 'AWAITING_ACCEPTANCE') as awaiting,
  count(*) filter (where o.status in ('REJECTED', 'CANCELLED')
                   and p.status in ('PENDING', 'AUTHORIZED')) as dead_unvoided,
  count(*) filter (where o.status in ('CONFIRMED', 'PREPARING', 'READY', 'DISPATCHED',
                                       'DELIVERED')
                   and p.status is distinct from 'CAPTURED') as uncaptured
from orders o left join payments p on p.order_id = o.id
where o.customer_id = any(:c)
"""


def state(probe: Probe, traffic: Traffic) -> dict[str, object]:
    found = probe.rows(SETTLED, c=probe.customers)
    now = {
        "db": found is not None,
        "unpublished": probe.scalar("select count(*) from outbox where published_at is null"),
        "lag": probe.lag(),
        "busy": traffic.busy(),
    }
    if found:
        now.update(found[0]._asdict())
    return now


def is_quiet(now: dict[str, object]) -> bool:
    lag = now.get("lag")
    return bool(
        now["db"]
        and now.get("placed") == 0
        and now.get("awaiting") == 0
        and now.get("dead_unvoided") == 0
        and now.get("uncaptured") == 0
        and now["unpublished"] == 0
        and isinstance(lag, dict)
        and all(v == 0 for v in lag.values())
        and not now["busy"]
    )


def wait_quiet(
    probe: Probe, traffic: Traffic, limit: float, log: Callable[[str], None] = print
) -> tuple[bool, float, dict[str, object]]:
    """Wait until quiet twice in a row; (quiet, seconds waited, last state)."""
    t0 = time.monotonic()
    streak, last_print = 0, 0.0
    now: dict[str, object] = {}
    while time.monotonic() - t0 < limit:
        now = state(probe, traffic)
        streak = streak + 1 if is_quiet(now) else 0
        if streak >= 2:
            return True, time.monotonic() - t0, now
        if time.monotonic() - last_print > 10:
            log(f"settling ({time.monotonic() - t0:.0f}s): {describe(now)}")
            last_print = time.monotonic()
        time.sleep(2)
    return False, time.monotonic() - t0, now


def describe(now: dict[str, object]) -> str:
    keys = ("placed", "awaiting", "dead_unvoided", "uncaptured", "unpublished", "lag", "busy")
    return ", ".join(f"{k}={now.get(k)}" for k in keys)
