"""The restaurant feed's rule, pure: which row an order event becomes in its restaurant's
feed. The feed consumer writes these rows, once per event_id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.core.envelope import Envelope


def feed_row(envelope: Envelope) -> dict[str, Any]:
    return {
        "event_id": envelope.event_id,
        "restaurant_id": envelope.restaurant_id,
        "type": str(envelope.type),
        "order_id": envelope.order_id,
        "occurred_at": envelope.occurred_at,
        "data": envelope.data,
    }


def feed_rows(envelopes: Iterable[Envelope]) -> list[dict[str, Any]]:
    """One row per distinct event_id, first occurrence first (a redelivery in the same batch
    is written once)."""
    rows, seen = [], set()
    for envelope in envelopes:
        if envelope.event_id not in seen:
            seen.add(envelope.event_id)
            rows.append(feed_row(envelope))
    return rows
