"""Projects order events into the admin read tables (proj_orders).

A poll's events are applied in one transaction of four statements: one INSERT into
proj_events of the batch's event ids as one array (the event_id dedupe; RETURNING says which
are new), one SELECT ... FOR UPDATE of the orders' current rows, then
app.orders.projection.fold (pure) and one upsert of the rows it changed, sent as one JSON
array. The three statements are fixed text whatever the batch size: a multi-row VALUES built
with SQLAlchemy was compiled anew for every batch, and its compiling was the projector's
biggest cost (docs/perf-events.md). Tolerant of reordering: an order's row only takes a
snapshot with a higher version. ``--rebuild`` wipes the read tables and replays the
whole topic; the live projector may keep running meanwhile.
"""

from __future__ import annotations

import argparse
import logging

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from app.core.db import unit_of_work
from app.core.envelope import Envelope, PoisonMessage
from app.core.json_rows import rows_json
from app.core.logs import setup_logging
from app.core.models import ProjectedEvent, ProjectedOrder
from app.core.settings import get_settings
from app.orders.projection import COLUMNS, first_seen, fold
from events.consumers.base import Received, batched_fetch, main
from events.kafka import make_consumer
from events.reading import read_to_end

GROUP = "comanda-admin-projection"
NAME = "admin"
log = logging.getLogger("comanda.projector")
# Events a rebuild applies per transaction: one at a time, a replay of 100,000 events took
# minutes (a transaction each); the fold is the same either way.
REBUILD_BATCH = 500
_COLS = ", ".join(COLUMNS)
DEDUPE = text(
    "insert into proj_events (consumer, event_id, applied_at)"
    " select :consumer, unnest(cast(:ids as uuid[])), now()"
    " on conflict do nothing returning event_id"
)
CURRENT = text(
    f"select {_COLS} from proj_orders where order_id = any(:ids) order by order_id for update"
)
UPSERT = text(
    f"insert into proj_orders ({_COLS}) select {_COLS}"
    " from jsonb_populate_recordset(null::proj_orders, cast(:rows as jsonb))"
    " on conflict (order_id) do update set "
    + ", ".join(f"{name} = excluded.{name}" for name in COLUMNS if name != "order_id")
)


def handle(batch: list[Received]) -> None:
    with unit_of_work() as session:
        apply_batch(session, [received.envelope for received in batch])


def apply_batch(session: Session, envelopes: list[Envelope]) -> int:
    """Apply the events not applied before; return how many were new."""
    if not envelopes:
        return 0
    ids = list(dict.fromkeys(e.event_id for e in envelopes))
    fresh = set(session.scalars(DEDUPE, {"consumer": NAME, "ids": ids}))
    todo = first_seen(envelopes, fresh)
    if not todo:
        return 0
    order_ids = sorted({e.order_id for e in todo})  # locked in one order: no deadlock
    current = {
        row["order_id"]: dict(row)
        for row in session.execute(CURRENT, {"ids": order_ids}).mappings()
    }
    changed = fold(current, todo)  # raises PoisonMessage: the loop replays one by one
    session.execute(UPSERT, {"rows": rows_json([changed[k] for k in sorted(changed)])})
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
    applied, batch = 0, []
    try:
        for message in read_to_end(consumer, get_settings().orders_topic):
            try:
                batch.append(Envelope.from_bytes(message.value))
            except PoisonMessage:
                continue  # the live projector dead-letters it; a rebuild skips it
            if len(batch) == REBUILD_BATCH:
                applied += _replay(batch)
                batch = []
        applied += _replay(batch)
    finally:
        consumer.close()
    return applied


def _replay(envelopes: list[Envelope]) -> int:
    """A rebuild's batch in one transaction, as the live projector applies a poll; a batch
    holding an event the fold refuses is applied one event at a time, skipping that one."""
    try:
        with unit_of_work() as session:
            return apply_batch(session, envelopes)
    except PoisonMessage:
        applied = 0
        for envelope in envelopes:
            try:
                with unit_of_work() as session:
                    applied += apply(session, envelope)
            except PoisonMessage:
                continue
        return applied


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rebuild", action="store_true", help="replay the topic from the start")
    if parser.parse_args().rebuild:
        setup_logging("projector-rebuild")
        print(f"rebuilt admin projection from {rebuild()} events")
    else:
        main(GROUP, handle, batched_fetch(get_settings().projector_fetch_wait_ms))
