"""The outbox writer: an event row in the caller's transaction, never a direct send."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.core import correlation
from app.core.envelope import Envelope
from app.core.models import OutboxEvent
from app.core.settings import get_settings


def row(envelope: Envelope, correlation_id: str | None = None) -> dict[str, Any]:
    """The outbox row of an event (the columns the relay reads), for ``record`` and for
    the intake's one-statement write (app/orders/intake.py)."""
    correlation_id = correlation_id or correlation.current()
    return {
        "event_id": envelope.event_id,
        "topic": get_settings().orders_topic,
        "key": envelope.key,
        "payload": envelope.to_dict(),
        "headers": {"correlation_id": correlation_id} if correlation_id else {},
        "created_at": envelope.occurred_at,
    }


def record(session: Session, envelope: Envelope, correlation_id: str | None = None) -> None:
    """Add the event to the current transaction; the relay publishes it after commit."""
    # One Core INSERT, no ORM object to track (the caller's pending changes flush first).
    session.execute(insert(OutboxEvent).values(row(envelope, correlation_id)))
