"""A read-only view reads one snapshot (app/core/db.py read_only): a commit that lands
between two of its statements is not half seen. The CI run of 29 November caught a reply
with a captured payment but no payment_captured row in its timeline (the order view loads
the order, its timeline and its payment in three statements)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.core.db import get_engine, read_only

pytestmark = pytest.mark.integration


@pytest.fixture
def probe():
    engine = get_engine()
    with engine.begin() as conn:
        conn.execute(text("create table if not exists snapshot_probe (id int primary key, v int)"))
        conn.execute(text("delete from snapshot_probe"))
        conn.execute(text("insert into snapshot_probe values (1, 1)"))
    yield engine
    with engine.begin() as conn:
        conn.execute(text("drop table snapshot_probe"))


def _read(session) -> int:
    return session.execute(text("select v from snapshot_probe where id = 1")).scalar_one()


def test_a_commit_between_two_statements_of_a_view_is_not_half_seen(probe):
    with read_only() as session:
        first = _read(session)
        with probe.begin() as conn:  # another transaction commits meanwhile
            conn.execute(text("update snapshot_probe set v = 2 where id = 1"))
        second = _read(session)
    assert (first, second) == (1, 1)
    with read_only() as session:  # the next view sees the commit
        assert _read(session) == 2


def test_a_read_keeps_what_psycopg_prepared_on_its_connection(probe):
    """read_only() ends with COMMIT: psycopg drops every prepared statement of a connection
    at each ROLLBACK, and the pooled connection's next statements were planned again."""
    with read_only() as session:
        raw = session.connection().connection.dbapi_connection
        for _ in range(6):  # psycopg prepares a statement at its 5th execution
            raw.execute("select v from snapshot_probe where id = %(id)s", {"id": 1})
        prepared = dict(raw._prepared._names)
        assert _read(session) == 1
    assert prepared
    assert dict(raw._prepared._names).keys() >= prepared.keys()
