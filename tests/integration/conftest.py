"""Integration tests talk to the real services of the running stack.

Tests that drive use-case functions directly use the separate ``comanda_test`` database
(migrated here), so the stack's own workers never act on their rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy.engine import make_url

from app.core.db import dispose_all
from app.core.settings import Settings, get_settings, use_settings
from tests.support.rabbit import private_app

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def scratch_database_url() -> str:
    url = make_url(os.environ["DATABASE_URL"]).set(database="comanda_test")
    return url.render_as_string(hide_password=False)


def alembic(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="session")
def test_db() -> str:
    url = scratch_database_url()
    done = alembic("upgrade", "head", database_url=url)
    assert done.returncode == 0, done.stderr
    return url


@pytest.fixture
def on_test_db(test_db):
    """Point the app's settings at comanda_test for the duration of one test."""
    before = get_settings()
    use_settings(Settings.from_env().with_(database_url=test_db, bcrypt_rounds=4))
    yield test_db
    use_settings(before)
    dispose_all()


@pytest.fixture
def private_topic():
    """A fresh one-partition topic and its own dead-letter topic (the settings' DLQ points at
    it while the test runs), so a consumer loop under test reads only what the test sends."""
    import uuid

    from kafka.admin import NewTopic

    from events.kafka import make_admin

    name = f"it-{uuid.uuid4().hex[:8]}"
    admin = make_admin()
    admin.create_topics([NewTopic(name, 1, 1), NewTopic(f"{name}.dlq", 1, 1)])
    admin.close()
    before = get_settings()
    use_settings(before.with_(dlq_topic=f"{name}.dlq"))
    yield name
    use_settings(before)


@pytest.fixture
def queue():
    """A private RabbitMQ queue (tests/support/rabbit.py), deleted after the test."""
    name = f"comanda-confirms-{uuid.uuid4().hex[:8]}"
    yield name
    with private_app(name).connection_for_write() as conn:
        conn.default_channel.queue_delete(name)
