"""The sweeps' partial indexes and the lifecycle tables stay in step: the model's index
predicate is written from lifecycle.PAYMENT_OPEN, and the migration that creates the index
holds the same text (a snapshot). A new open payment status added to the lifecycle without
a migration would leave the stuck-order sweep blind to its payments."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from app.core.lifecycle import PAYMENT_OPEN
from app.core.models import Payment, RestaurantEvent

pytestmark = pytest.mark.unit

MIGRATION = Path(__file__).parents[2] / "migrations" / "versions" / "s7a_sweep_indexes.py"


def _migration():
    spec = importlib.util.spec_from_file_location("s7a_sweep_indexes", MIGRATION)
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
