"""The outbox backlog: events committed with their change but not yet on Kafka. It grows
while the relay or Kafka is down and drains when they are back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.models import OutboxEvent


def outbox_backlog(session: Session, now: datetime) -> dict:
    count, oldest = session.execute(
        select(func.count(), func.min(OutboxEvent.created_at)).where(
            OutboxEvent.published_at.is_(None)
        )
    ).one()
    age = (now - oldest).total_seconds() if oldest is not None else None
    return {"unpublished": count, "oldest_age_seconds": round(age, 1) if age else None}
