"""The admin projection's rule, pure: an order event and the order's current read row
(plain dicts, no session) give the row to write. The projector consumer only loads the
rows, calls ``fold`` and writes what it returns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.core.envelope import Envelope, EventType, PoisonMessage, iso, parse_iso

Row = dict[str, Any]
# proj_orders' columns, in the order the consumer writes them.
COLUMNS = (
    "order_id",
    "restaurant_id",
    "customer_id",
    "status",
    "reason",
    "version",
    "doc",
    "created_at",
    "awaiting_at",
    "accepted_at",
    "captured_cents",
)


def _snapshot(envelope: Envelope) -> tuple[dict[str, Any], int]:
    snapshot, version = envelope.data.get("order"), envelope.data.get("version")
    if not isinstance(snapshot, dict) or not isinstance(version, int):
        raise PoisonMessage("event data lacks the order snapshot or its version")
    if not isinstance(snapshot.get("status"), str) or not isinstance(
        snapshot.get("created_at"), str
    ):
        raise PoisonMessage("order snapshot lacks its status or created_at")
    return snapshot, version


def new_row(envelope: Envelope, snapshot: dict[str, Any]) -> Row:
    try:
        created_at = parse_iso(snapshot["created_at"])
    except ValueError as exc:
        raise PoisonMessage(f"order snapshot has a bad created_at: {exc}") from exc
    return {
        "order_id": envelope.order_id,
        "restaurant_id": envelope.restaurant_id,
        "customer_id": envelope.customer_id,
        "status": snapshot["status"],
        "reason": snapshot.get("reason"),
        "version": 0,
        "doc": snapshot,
        "created_at": created_at,
        "awaiting_at": None,
        "accepted_at": None,
        "captured_cents": 0,
    }


def project(row: Row | None, envelope: Envelope) -> Row:
    """The read row after ``envelope``. Tolerant of reordering: the status and snapshot
    only move to a higher version; the timeline keeps every event, sorted by time."""
    snapshot, version = _snapshot(envelope)
    current = row if row is not None else new_row(envelope, snapshot)
    timeline = list(current["doc"].get("timeline", []))
    timeline.append(
        {
            "at": iso(envelope.occurred_at),
            "status": snapshot["status"],
            "event": str(envelope.type),
            "detail": envelope.data.get("detail"),
        }
    )
    timeline.sort(key=lambda entry: entry["at"])
    out = dict(current)
    if version > current["version"]:
        out["version"] = version
        out["status"], out["reason"] = snapshot["status"], snapshot.get("reason")
        out["doc"] = {**snapshot, "timeline": timeline}
    else:
        out["doc"] = {**current["doc"], "timeline": timeline}
    if envelope.type == EventType.ORDER_AWAITING_ACCEPTANCE:
        out["awaiting_at"] = envelope.occurred_at
    elif envelope.type == EventType.ORDER_ACCEPTED:
        out["accepted_at"] = envelope.occurred_at
    elif envelope.type == EventType.PAYMENT_CAPTURED:
        out["captured_cents"] = current["captured_cents"] + int(
            envelope.data.get("amount_cents") or 0
        )
    return out


def fold(rows: dict[int, Row], envelopes: Iterable[Envelope]) -> dict[int, Row]:
    """Apply fresh events in order over the current rows (order_id -> row); return the
    rows that changed, keyed by order_id. ``rows`` is left as it was."""
    changed: dict[int, Row] = {}
    for envelope in envelopes:
        before = changed.get(envelope.order_id, rows.get(envelope.order_id))
        changed[envelope.order_id] = project(before, envelope)
    return changed


def first_seen(envelopes: Iterable[Envelope], fresh: set) -> list[Envelope]:
    """The envelopes whose event_id is in ``fresh`` (not applied before), each once, in order."""
    out, seen = [], set()
    for envelope in envelopes:
        if envelope.event_id in fresh and envelope.event_id not in seen:
            seen.add(envelope.event_id)
            out.append(envelope)
    return out
