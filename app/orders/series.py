"""Time series for the admin console's charts, from the admin projection: orders placed and
orders that reached AWAITING_ACCEPTANCE per time bucket (throughput), and the PLACED ->
AWAITING_ACCEPTANCE latency (p50, p95) of the orders that got there in each bucket.

``fill`` is pure (tests/unit): it lays the rows from SQL onto every bucket of the window, so a
quiet bucket is a zero on the chart rather than a gap.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.models import ProjectedOrder as P


def bucket_of(at: datetime, seconds: int) -> int:
    return math.floor(at.timestamp() / seconds)


def fill(
    first: int,
    count: int,
    seconds: int,
    placed: dict[int, int],
    reached: dict[int, tuple[int, float | None, float | None]],
) -> list[dict]:
    """One point per bucket ``first .. first+count-1``; ``reached`` is bucket -> (n, p50, p95)."""
    points = []
    for b in range(first, first + count):
        n, p50, p95 = reached.get(b, (0, None, None))
        points.append(
            {
                "at": datetime.fromtimestamp(b * seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "placed": placed.get(b, 0),
                "awaiting": n,
                "p50_ms": round(p50, 1) if p50 is not None else None,
                "p95_ms": round(p95, 1) if p95 is not None else None,
            }
        )
    return points


def order_series(session: Session, now: datetime, minutes: int, seconds: int) -> dict:
    last = bucket_of(now, seconds)
    count = max(1, minutes * 60 // seconds)
    first = last - count + 1
    since = datetime.fromtimestamp(first * seconds, UTC)
    created = func.floor(func.extract("epoch", P.created_at) / seconds)
    placed = dict(
        session.execute(
            select(created, func.count()).where(P.created_at >= since).group_by(created)
        ).all()
    )
    awaited = func.floor(func.extract("epoch", P.awaiting_at) / seconds)
    latency = func.extract("epoch", P.awaiting_at - P.created_at) * 1000
    reached = {
        int(b): (n, p50, p95)
        for b, n, p50, p95 in session.execute(
            select(
                awaited,
                func.count(),
                func.percentile_cont(0.5).within_group(latency),
                func.percentile_cont(0.95).within_group(latency),
            )
            .where(P.awaiting_at >= since)
            .group_by(awaited)
        ).all()
    }
    return {
        "bucket_seconds": seconds,
        "points": fill(first, count, seconds, {int(b): n for b, n in placed.items()}, reached),
    }
