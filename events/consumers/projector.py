"""Projects order events into the admin read tables (proj_orders).

A poll's events are applied in one transaction of four statements: one multi-row INSERT
into proj_events (the event_id dedupe; RETURNING says which are new), one SELECT ... FOR
UPDATE of the orders' current rows, then app.orders.projection.fold (pure) and one
multi-row upsert of the rows it changed. Tolerant of reordering: an order's row only takes
a snapshot with a higher version. ``--rebuild`` wipes the read tables and replays the
whole topic; the live projector may keep running meanwhile.
"""

from __future__ import annotations

import argparse
import logging

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.core.db import unit_of_work
from app.core.envelope import Envelope, PoisonMessage
from app.core.logs import setup_logging
from app.core.models import ProjectedEvent, ProjectedOrder
from app.core.settings import get_settings
from app.orders.projection import COLUMNS, first_seen, fold
from events.consumers.base import Received, main
from events.kafka import make_consumer
from events.reading import read_to_end

GROUP = "comanda-admin-projection"
NAME = "admin"
log = logging.getLogger("comanda.projector")
TABLE = ProjectedOrder.__table__


def handle(batch: list[Received]) -> None:
    with unit_of_work() as session:
        apply_batch(session, [received.envelope for received in batch])


def apply_batch(session: Session, envelopes: list[Envelope]) -> int:
    """Apply the events not applied before; return how many were new."""
    if not envelopes:
        return 0
    ids = list(dict.fromkeys(e.event_id for e in envelopes))
    fresh = set(
        session.scalars(
            insert(ProjectedEvent)
            .values([{"consumer": NAME, "event_id": event_id} for event_id in ids])
            .on_conflict_do_nothing()
            .returning(ProjectedEvent.event_id)
        )
    )
    todo = first_seen(envelopes, fresh)
    if not todo:
        return 0
    order_ids = sorted({e.order_id for e in todo})  # locked in one order: no deadlock
    current = {
        row["order_id"]: dict(row)
        for row in session.execute(
            select(*(TABLE.c[name] for name in COLUMNS))
            .where(TABLE.c.order_id.in_(order_ids))
            .order_by(TABLE.c.order_id)
            .with_for_update()
        ).mappings()
    }
    changed = fold(current, todo)  # raises PoisonMessage: the loop replays one by one
    upsert = insert(ProjectedOrder).values([changed[k] for k in sorted(changed)])
    session.execute(
        upsert.on_conflict_do_update(
            index_elements=["order_id"],
            set_={name: upsert.excluded[name] for name in COLUMNS if name != "order_id"},
        )
    )
    return len(todo)


def apply(session: Session, envelope: Envelope) -> bool:
    """Apply one event; False when it was applied before."""
    return apply_batch(session, [envelope]) == 1


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
            try:
                with unit_of_work() as session:
                    applied += apply(session, envelope)
            except PoisonMessage:
                continue  # the live projector dead-letters it; a rebuild skips it
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
