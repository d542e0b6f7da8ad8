"""Projects order events into the admin read tables (proj_orders).

Idempotent on event_id (proj_events) and tolerant of reordering: an order's row only
takes a snapshot with a higher version. ``--rebuild`` wipes the read tables and replays
the whole topic; the live projector may keep running meanwhile.
"""

from __future__ import annotations

import argparse
import logging

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.core.db import unit_of_work
from app.core.envelope import Envelope, EventType, PoisonMessage, parse_iso
from app.core.logs import setup_logging
from app.core.models import ProjectedEvent, ProjectedOrder
from app.core.settings import get_settings
from events.consumers.base import main
from events.kafka import make_consumer
from events.reading import read_to_end

GROUP = "comanda-admin-projection"
NAME = "admin"
log = logging.getLogger("comanda.projector")


def handle(envelope: Envelope) -> None:
    with unit_of_work() as session:
        apply(session, envelope)


def apply(session: Session, envelope: Envelope) -> bool:
    """Apply one event; False when it was applied before."""
    fresh = session.execute(
        insert(ProjectedEvent)
        .values(consumer=NAME, event_id=envelope.event_id)
        .on_conflict_do_nothing()
        .returning(ProjectedEvent.event_id)
    ).first()
    if fresh is None:
        return False
    snapshot = envelope.data.get("order")
    version = envelope.data.get("version")
    if not isinstance(snapshot, dict) or not isinstance(version, int):
        raise PoisonMessage("event data lacks the order snapshot or its version")
    row = session.scalars(
        select(ProjectedOrder).where(ProjectedOrder.order_id == envelope.order_id).with_for_update()
    ).one_or_none()
    if row is None:
        row = ProjectedOrder(
            order_id=envelope.order_id,
            restaurant_id=envelope.restaurant_id,
            customer_id=envelope.customer_id,
            status=snapshot["status"],
            reason=snapshot.get("reason"),
            version=0,
            doc=snapshot,
            created_at=parse_iso(snapshot["created_at"]),
            captured_cents=0,
        )
        session.add(row)
    timeline = list(row.doc.get("timeline", []))
    timeline.append(
        {
            "at": envelope.to_dict()["occurred_at"],
            "status": snapshot["status"],
            "event": str(envelope.type),
            "detail": envelope.data.get("detail"),
        }
    )
    timeline.sort(key=lambda entry: entry["at"])
    if version > row.version:
        row.version = version
        row.status, row.reason = snapshot["status"], snapshot.get("reason")
        row.doc = {**snapshot, "timeline": timeline}
    else:
        row.doc = {**row.doc, "timeline": timeline}
    if envelope.type == EventType.ORDER_AWAITING_ACCEPTANCE:
        row.awaiting_at = envelope.occurred_at
    elif envelope.type == EventType.ORDER_ACCEPTED:
        row.accepted_at = envelope.occurred_at
    elif envelope.type == EventType.PAYMENT_CAPTURED:
        row.captured_cents += int(envelope.data.get("amount_cents") or 0)
    return True


def rebuild() -> int:
    """Wipe the read tables and replay ``orders`` from the start; return events applied."""
    with unit_of_work() as session:
        session.execute(delete(ProjectedEvent).where(ProjectedEvent.consumer == NAME))
        session.execute(delete(ProjectedOrder))
    consumer = make_consumer(None, consumer_timeout_ms=2000)
    applied = 0
    try:
        for message in read_to_end(consumer, get_settings().orders_topic):
            try:
                envelope = Envelope.from_bytes(message.value)
            except PoisonMessage:
                continue
            with unit_of_work() as session:
                applied += apply(session, envelope)
    finally:
        consumer.close()
    return applied


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rebuild", action="store_true", help="replay the topic from the start")
    if parser.parse_args().rebuild:
        setup_logging("projector-rebuild")
        print(f"rebuilt admin projection from {rebuild()} events")
    else:
        main(GROUP, handle)
