"""The exporter's two counts (migration s9a) on the real PostgreSQL (database comanda_test):
proj_status_counts and feed_backlog stay equal to counting the tables, through each path
that writes those tables: the feed consumer's insert (a redelivery inserts nothing), an
ack, an ack of nothing, a script that un-acks, the retention prune, deletes, the
projector's batches (a redelivered event changes nothing), a projection rebuild's wipe,
and a TRUNCATE."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update

from app.core.db import read_only, transaction, unit_of_work
from app.core.envelope import Envelope, EventType
from app.core.json_rows import rows_json
from app.core.models import FeedBacklog, ProjectedOrder, RestaurantEvent, utcnow
from app.orders.feed import feed_rows
from events.consumers import feed, projector
from workers import pruning

pytestmark = pytest.mark.integration

FEED_COUNTED = text(
    "select restaurant_id, count(*) from restaurant_events"
    " where acked_at is null group by 1 order by 1"
)
FEED_KEPT = text("select restaurant_id, unacked from feed_backlog where unacked <> 0 order by 1")
STATUS_COUNTED = text("select status, count(*) from proj_orders group by 1 order by 1")
STATUS_KEPT = text("select status, orders from proj_status_counts where orders <> 0 order by 1")


def kept_equals_counted(kept, counted) -> None:
    with read_only() as s:
        assert s.execute(kept).all() == s.execute(counted).all()


def backlog(shop: int) -> int:
    with read_only() as s:
        return s.scalar(
            select(func.coalesce(func.sum(FeedBacklog.unacked), 0)).where(
                FeedBacklog.restaurant_id == shop
            )
        )


def placed(order_id: int, shop: int) -> Envelope:
    return event(EventType.ORDER_PLACED, order_id, shop, 1, "PLACED")


def event(kind: EventType, order_id: int, shop: int, version: int, status: str) -> Envelope:
    snapshot = {"id": order_id, "status": status, "created_at": "2026-01-01T12:00:00.000000Z"}
    return Envelope(
        type=kind,
        order_id=order_id,
        restaurant_id=shop,
        customer_id=1,
        occurred_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC) + timedelta(seconds=version),
        data={"version": version, "order": snapshot},
    )


class Undo(Exception):
    """Raised to roll a transaction back."""


@pytest.fixture
def shop(on_test_db) -> int:
    return 1_800_000_000 + uuid.uuid4().int % 100_000_000


def test_the_feed_backlog_follows_every_path_that_writes_the_feed(shop):
    other = shop + 1
    envelopes = [placed(1_000 + i, shop) for i in range(5)] + [placed(2_000, other)]
    rows = rows_json(feed_rows(envelopes))
    with unit_of_work() as s:  # the feed consumer's statement, twice: a redelivery
        s.execute(feed.INSERT, {"rows": rows})
    with unit_of_work() as s:
        s.execute(feed.INSERT, {"rows": rows})
    assert (backlog(shop), backlog(other)) == (5, 1)

    ids = [e.event_id for e in envelopes[:2]]
    ack = (
        update(RestaurantEvent)
        .where(
            RestaurantEvent.event_id.in_(ids),
            RestaurantEvent.restaurant_id == shop,
            RestaurantEvent.acked_at.is_(None),
        )
        .values(acked_at=utcnow())
    )  # what POST /restaurant/events/ack runs
    with unit_of_work() as s:
        s.execute(ack)
    with unit_of_work() as s:
        s.execute(ack)  # acked already: nothing changes
    assert backlog(shop) == 3

    with unit_of_work() as s:  # a script un-acks one, then deletes an unacked one
        s.execute(
            update(RestaurantEvent).where(RestaurantEvent.event_id == ids[0]).values(acked_at=None)
        )
        s.execute(delete(RestaurantEvent).where(RestaurantEvent.event_id == envelopes[4].event_id))
    assert backlog(shop) == 3

    with unit_of_work() as s:  # acknowledged long ago: the retention prune takes it
        s.execute(
            update(RestaurantEvent)
            .where(RestaurantEvent.event_id == ids[1])
            .values(acked_at=utcnow() - timedelta(days=30))
        )
    pruning.prune_acknowledged_feed()
    with read_only() as s:
        assert s.get(RestaurantEvent, ids[1]) is None
    assert (backlog(shop), backlog(other)) == (3, 1)
    kept_equals_counted(FEED_KEPT, FEED_COUNTED)


def test_a_truncate_empties_the_backlog_with_its_table(shop):
    with unit_of_work() as s:
        s.execute(feed.INSERT, {"rows": rows_json(feed_rows([placed(1, shop)]))})
    with pytest.raises(Undo), transaction() as conn:
        conn.execute(text("truncate restaurant_events"))
        assert conn.execute(text("select count(*) from feed_backlog")).scalar() == 0
        raise Undo  # rolled back: the other tests' rows stay
    assert backlog(shop) == 1


def test_the_status_counts_follow_the_projection(shop):
    first = 1_500_000_000 + shop % 10_000_000 * 10  # ids no real order has
    orders = [first + i for i in range(4)]
    placed_events = [placed(o, shop) for o in orders]
    moved = [
        event(EventType.ORDER_AWAITING_ACCEPTANCE, o, shop, 3, "AWAITING_ACCEPTANCE")
        for o in orders[:3]
    ]
    late = event(EventType.ORDER_PLACED, orders[3], shop, 1, "PLACED")  # older version, late
    with unit_of_work() as s:
        assert projector.apply_batch(s, placed_events) == 4
    with unit_of_work() as s:  # a poll with moves, one redelivered event and a late one
        assert projector.apply_batch(s, [*moved, placed_events[0], late]) == 4
    with unit_of_work() as s:
        assert projector.apply_batch(s, moved) == 0  # redelivered: nothing changes
    with read_only() as s:
        statuses = dict(
            s.execute(
                select(ProjectedOrder.order_id, ProjectedOrder.status).where(
                    ProjectedOrder.order_id.in_(orders)
                )
            ).all()
        )
    assert sorted(statuses.values()) == ["AWAITING_ACCEPTANCE"] * 3 + ["PLACED"]
    kept_equals_counted(STATUS_KEPT, STATUS_COUNTED)

    with unit_of_work() as s:  # a rebuild's wipe, here of these orders only
        s.execute(delete(ProjectedOrder).where(ProjectedOrder.order_id.in_(orders)))
    kept_equals_counted(STATUS_KEPT, STATUS_COUNTED)
