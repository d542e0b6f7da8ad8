"""What is kept and for how long: published outbox rows and acknowledged restaurant feed
rows are history once their minutes are up. Deleted in bounded batches (one short
statement each, oldest first), so a prune never holds long locks or one huge transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

# The outbox is walked in publish order through outbox_published (migration s9b), which
# holds only published rows: each statement reads the rows it deletes, unpublished rows are
# never touched, and the last, short statement stops at the first row too young (in id
# order, with no index on published_at, it read the whole outbox every run).
OUTBOX = text(
    "delete from outbox where id in (select id from outbox where published_at is not null"
    " and published_at < :before order by published_at limit :n)"
)
FEED = text(
    "delete from restaurant_events where ctid in (select ctid from restaurant_events"
    " where acked_at is not null and acked_at < :before limit :n)"
)


def prune(session: Session, statement, before: datetime, batch: int) -> int:
    """One bounded delete; how many rows went."""
    return session.execute(statement, {"before": before, "n": batch}).rowcount
