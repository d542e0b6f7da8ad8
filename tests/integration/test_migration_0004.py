"""Migration 0004 on a database that holds what issue 8 found: an order planted for a
restaurant that did not exist yet, and look-alike e-mails of one person."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.integration.conftest import alembic, scratch_database_url
from tests.integration.test_wiring import _recreate_database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def migrated():
    url = scratch_database_url().replace("/comanda_test", "/comanda_migration_0004")
    _recreate_database(url)
    done = alembic("upgrade", "0003", database_url=url)
    assert done.returncode == 0, done.stderr
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "insert into restaurants (id, name, cuisine, is_open, acceptance_seconds, created_at)"
            " values (1, 'r', '', true, 300, now())"
        )
        users = [
            (1, "ana@x.dev"),
            (2, "an\u200ba@x.dev"),  # the same person, with a zero-width space: newer
            (3, "ｂｏｂ@x.dev."),  # full-width letters and a trailing dot
        ]
        for user_id, email in users:
            conn.execute(
                "insert into users (id, email, password_hash, name, role, created_at)"
                " values (%s, %s, 'x', 'n', 'customer', now())",
                (user_id, email),
            )
        conn.execute(
            "insert into orders (id, customer_id, restaurant_id, status, stage,"
            " delivery_address, payment_method, payment_token, version, created_at,"
            " updated_at) values (1, 1, 7, 'REJECTED', 'new', 'a', 'card', 't', 1, now(), now())"
        )  # planted for restaurant 7, which does not exist yet
    done = alembic("upgrade", "head", database_url=url)
    assert done.returncode == 0, done.stderr
    with psycopg.connect(dsn, autocommit=True) as conn:
        yield conn
    done = alembic("downgrade", "0003", database_url=url)
    assert done.returncode == 0, done.stderr


def test_no_restaurant_created_later_gets_a_planted_orders_id(migrated):
    created = migrated.execute(
        "insert into restaurants (name, cuisine, is_open, acceptance_seconds, created_at)"
        " values ('new', '', true, 300, now()) returning id"
    ).fetchone()[0]
    assert created > 7


def test_new_orders_must_name_an_existing_restaurant(migrated):
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        migrated.execute(
            "insert into orders (id, customer_id, restaurant_id, status, stage, delivery_address,"
            " payment_method, payment_token, version, created_at, updated_at, unknown_items)"
            " values (2, 1, 999, 'PLACED', 'new', 'a', 'card', 't', 1, now(), now(), false)"
        )


def test_emails_are_stored_in_their_normal_form(migrated):
    emails = dict(migrated.execute("select id, email from users").fetchall())
    assert emails[1] == "ana@x.dev" and emails[3] == "bob@x.dev"
    assert emails[2] == "an\u200ba@x.dev"  # a look-alike of an older account: left for an admin


def test_money_is_64_bit(migrated):
    types = set(
        migrated.execute(
            "select data_type from information_schema.columns where column_name like '%\\_cents'"
        ).fetchall()
    )
    assert types == {("bigint",)}
