"""The sweeps' partial indexes and the lifecycle tables stay in step: the model's index
predicates are written from lifecycle.PAYMENT_OPEN and HOLDS_RESERVATION, and the
migrations that create the indexes (and s8a's triggers, which keep payments.order_held in
step with the order's status) hold the same text (a snapshot). A new open payment status
or held order status added to the lifecycle without a migration would leave the
stuck-order sweep blind to some payments."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from app.core import models
from app.core.lifecycle import HOLDS_RESERVATION, PAYMENT_OPEN
from app.core.models import OutboxEvent, Payment, RestaurantEvent
from app.orders import retention

pytestmark = pytest.mark.unit

VERSIONS = Path(__file__).parents[2] / "migrations" / "versions"


def _migration(name: str = "s7a_sweep_indexes"):
    spec = importlib.util.spec_from_file_location(name, VERSIONS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _where(table, name: str) -> str:
    index = next(i for i in table.__table__.indexes if i.name == name)
    ddl = str(CreateIndex(index).compile(dialect=postgresql.dialect()))
    return ddl.split(" WHERE ", 1)[1].strip()


def _statuses(predicate: str) -> set[str]:
    match = re.fullmatch(r"status in \(((?:'[A-Z_]+'(?:, )?)+)\)", predicate)
    assert match, predicate
    return set(re.findall(r"'([A-Z_]+)'", match.group(1)))


def test_the_open_payments_index_covers_exactly_the_lifecycle_open_statuses():
    model = _where(Payment, "payments_open")
    assert _statuses(model) == {str(s) for s in PAYMENT_OPEN}
    assert model == _migration().PAYMENTS_OPEN_WHERE


def test_the_acknowledged_feed_index_matches_its_migration():
    assert _where(RestaurantEvent, "restaurant_events_acked") == _migration().FEED_ACKED_WHERE


def test_the_migration_follows_the_chain():
    migration = _migration()
    assert (migration.revision, migration.down_revision) == ("s7a", "s5i")


SETTLE = "s8a_payments_order_held"


def test_the_settle_due_index_covers_open_payments_of_orders_not_held():
    model = _where(Payment, "payments_settle_due")
    assert model == _migration(SETTLE).SETTLE_DUE_WHERE
    opened, rest = model.split(" and ", 1)
    assert _statuses(opened) == {str(s) for s in PAYMENT_OPEN}
    assert rest == "not order_held"


def test_the_order_held_triggers_test_exactly_the_lifecycle_held_statuses():
    migration = _migration(SETTLE)
    assert _statuses(migration.HELD) == {str(s) for s in HOLDS_RESERVATION}
    assert migration.HELD == models.ORDER_HELD
    held = migration.HELD.split(" in ", 1)[1]
    # the orders trigger's WHEN clause and function, and the payments insert trigger
    assert migration.ORDER_MOVED.count(f"OLD.status in {held}") == 1
    assert migration.ORDER_MOVED.count(f"NEW.status in {held}") == 3
    assert f"SELECT status in {held} FROM orders" in migration.PAYMENT_ADDED


def test_the_settle_migration_follows_the_chain():
    migration = _migration(SETTLE)
    assert (migration.revision, migration.down_revision) == ("s8a", "s7a")


PUBLISHED = "s9b_outbox_published"


def test_the_published_outbox_index_matches_its_migration_and_the_prune():
    migration = _migration(PUBLISHED)
    assert _where(OutboxEvent, "outbox_published") == migration.OUTBOX_PUBLISHED_WHERE
    assert (migration.revision, migration.down_revision) == ("s9b", "s9a")
    # the prune's statement names the predicate, so PostgreSQL may use the partial index
    assert migration.OUTBOX_PUBLISHED_WHERE in str(retention.OUTBOX)
    assert "order by published_at" in str(retention.OUTBOX)
