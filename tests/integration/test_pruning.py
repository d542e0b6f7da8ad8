"""Retention against the real PostgreSQL (database comanda_test): beat's prune tasks delete
only published outbox rows and acknowledged feed rows past their time, in bounded batches."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from app.core.db import get_engine, read_only, unit_of_work
from app.core.models import OutboxEvent, RestaurantEvent, utcnow
from app.core.settings import get_settings, use_settings
from app.orders import retention
from workers import pruning

pytestmark = pytest.mark.integration


@pytest.fixture
def small_batches(on_test_db):
    before = get_settings()
    use_settings(before.with_(prune_batch=3, prune_keep_minutes=60))
    yield
    use_settings(before)


def outbox_row(tag: str, published_minutes_ago: float | None) -> OutboxEvent:
    published = None
    if published_minutes_ago is not None:
        published = utcnow() - timedelta(minutes=published_minutes_ago)
    return OutboxEvent(
        event_id=uuid.uuid4(), topic=tag, key="1", payload={}, headers={}, published_at=published
    )


def feed_row(restaurant_id: int, acked_minutes_ago: float | None) -> RestaurantEvent:
    acked = None if acked_minutes_ago is None else utcnow() - timedelta(minutes=acked_minutes_ago)
    return RestaurantEvent(
        event_id=uuid.uuid4(),
        restaurant_id=restaurant_id,
        type="order.placed",
        order_id=1,
        occurred_at=utcnow(),
        data={},
        acked_at=acked,
    )


def test_only_published_outbox_rows_past_their_time_go_in_bounded_batches(small_batches):
    tag = f"prune-{uuid.uuid4().hex[:8]}"
    with unit_of_work() as s:
        s.add_all([outbox_row(tag, 120) for _ in range(7)])  # old, published: go
        s.add_all([outbox_row(tag, 5), outbox_row(tag, None), outbox_row(tag, None)])  # stay
    assert pruning.prune_published_outbox() >= 7  # 3 + 3 + 1: three batches
    with read_only() as s:
        left = (
            s.execute(select(OutboxEvent.published_at).where(OutboxEvent.topic == tag))
            .scalars()
            .all()
        )
    assert len(left) == 3 and sum(at is None for at in left) == 2


def test_only_acknowledged_feed_rows_past_their_time_go(small_batches):
    shop = 1_900_000_000 + uuid.uuid4().int % 1_000_000
    with unit_of_work() as s:
        s.add_all(
            [feed_row(shop, 120) for _ in range(4)] + [feed_row(shop, 1), feed_row(shop, None)]
        )
    assert pruning.prune_acknowledged_feed() >= 4
    with read_only() as s:
        left = s.scalar(
            select(func.count())
            .select_from(RestaurantEvent)
            .where(RestaurantEvent.restaurant_id == shop)
        )
    assert left == 2


def test_the_outbox_prune_reads_only_the_rows_it_may_delete(on_test_db):
    """With 20,000 published rows still inside the keep, the prune's statement starts from
    outbox_published (migration s9b) and reads a few buffers: in id order, with no index on
    published_at, it read the whole outbox on every run. In a transaction rolled back."""
    with get_engine().connect() as conn, conn.begin() as tx:
        conn.execute(
            text(
                "insert into outbox (event_id, topic, key, payload, headers, created_at,"
                " published_at) select gen_random_uuid(), 'plan', '1', '{}', '{}', now(), now()"
                " from generate_series(1, 20000)"
            )
        )
        conn.execute(text("analyze outbox"))
        before = utcnow() - timedelta(minutes=60)
        plan = conn.execute(
            text("explain (analyze, buffers, format json) " + str(retention.OUTBOX)),
            {"before": before, "n": 2000},
        ).scalar()[0]
        tx.rollback()
    shown = json.dumps(plan)
    assert "outbox_published" in shown and "Seq Scan" not in shown, shown
    assert plan["Plan"]["Shared Hit Blocks"] + plan["Plan"].get("Shared Read Blocks", 0) < 100
