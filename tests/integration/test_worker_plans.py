"""The worker's connections plan prepared statements once (db.tune_for_worker): a step's
batch read (``id = ANY(...)``) was otherwise planned again on every call."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.core import db

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh_engines(monkeypatch):
    monkeypatch.setattr(db, "_engines", {})
    monkeypatch.setattr(db, "_options", "")
    monkeypatch.setattr(db, "_prepare_threshold", None)
    monkeypatch.setattr(db, "_pre_ping", True)
    monkeypatch.setattr(db, "_pool_size", 5)
    yield
    for engine in db._engines.values():
        engine.dispose()


def _plan_cache_mode(engine) -> str:
    with engine.connect() as conn:
        return conn.execute(text("show plan_cache_mode")).scalar_one()


def test_only_a_tuned_worker_asks_postgresql_for_generic_plans(fresh_engines):
    assert _plan_cache_mode(db.get_engine()) == "auto"
    db.dispose_all()
    db._engines.clear()
    db.tune_for_worker(2)
    assert _plan_cache_mode(db.get_engine()) == "force_generic_plan"
    assert _plan_cache_mode(db.autocommit_engine()) == "force_generic_plan"


def _prepared_after(engine, runs: int) -> bool:
    """Whether a statement run ``runs`` times on one connection is prepared there."""
    probe = "SELECT %(n)s::int + 1 AS worker_plans_probe"
    with engine.connect() as conn:
        for n in range(runs):
            db.driver_row(conn, probe, {"n": n})
        names = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_prepared_statements"
            " WHERE statement LIKE '%%worker_plans_probe%%'"
        ).scalar_one()
        conn.rollback()
    return names > 0


def test_a_tuned_worker_prepares_a_statement_on_its_second_run(fresh_engines):
    assert not _prepared_after(db.get_engine(), 2)  # psycopg's default: after 5 runs
    db.dispose_all()
    db._engines.clear()
    db.tune_for_worker(2)
    assert not _prepared_after(db.get_engine(), 1)  # a shape seen once is never prepared
    db.dispose_all()
    db._engines.clear()
    assert _prepared_after(db.get_engine(), 2)
