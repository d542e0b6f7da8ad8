"""Admin aggregates, computed from the projection the admin consumer builds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from app.core.models import ProjectedOrder as P
from app.core.models import Restaurant


def _window(query, since: datetime | None, until: datetime | None):
    if since is not None:
        query = query.where(P.created_at >= since)
    if until is not None:
        query = query.where(P.created_at < until)
    return query


def admin_stats(session: Session, since: datetime | None, until: datetime | None) -> dict:
    by_status = dict(
        session.execute(
            _window(select(P.status, func.count()).group_by(P.status), since, until)
        ).all()
    )
    revenue = session.execute(
        _window(select(func.coalesce(func.sum(P.captured_cents), 0)), since, until)
    ).scalar_one()
    cancellations = dict(
        session.execute(
            _window(
                select(P.reason, func.count()).where(P.status == "CANCELLED").group_by(P.reason),
                since,
                until,
            )
        ).all()
    )
    to_accept = func.extract("epoch", P.accepted_at - P.awaiting_at)
    pipeline_ms = func.extract("epoch", P.awaiting_at - P.created_at) * 1000
    rows = session.execute(
        _window(
            select(
                P.restaurant_id,
                func.max(Restaurant.name),
                func.count(),
                func.count(P.accepted_at),
                func.count(
                    case((and_(P.status == "REJECTED", P.reason == "restaurant_rejected"), 1))
                ),
                func.count(P.awaiting_at),
                func.coalesce(func.sum(P.captured_cents), 0),
                func.avg(to_accept),
            )
            .outerjoin(Restaurant, Restaurant.id == P.restaurant_id)
            .group_by(P.restaurant_id)
            .order_by(P.restaurant_id),
            since,
            until,
        )
    ).all()
    p50, p95 = session.execute(
        _window(
            select(
                func.percentile_cont(0.5).within_group(pipeline_ms),
                func.percentile_cont(0.95).within_group(pipeline_ms),
            ).where(P.awaiting_at.is_not(None)),
            since,
            until,
        )
    ).one()
    return {
        "orders_by_status": by_status,
        "gross_revenue_cents": int(revenue),
        "restaurants": [
            {
                "restaurant_id": rid,
                "name": name,
                "orders": orders,
                "accepted": accepted,
                "rejected": rejected,
                "revenue_cents": int(cents),
                "acceptance_rate": round(accepted / offered, 4) if offered else None,
                "avg_seconds_to_accept": round(float(avg), 3) if avg is not None else None,
            }
            for rid, name, orders, accepted, rejected, offered, cents, avg in rows
        ],
        "cancellations_by_reason": cancellations,
        "pipeline": {
            "p50_ms": round(float(p50), 1) if p50 is not None else None,
            "p95_ms": round(float(p95), 1) if p95 is not None else None,
        },
    }
