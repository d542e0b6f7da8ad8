"""Shared fixtures for every test folder.

The running stack is described by environment variables (``make test`` sets them):
``COMANDA_URL``, ``DATABASE_URL``, ``KAFKA_BOOTSTRAP_SERVERS``, ``CELERY_BROKER_URL``.
A fixture that needs one of them fails loudly when it is missing: nothing is skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from seeds import waiting

# The shared fixtures (clients, users, fresh tenants) for every folder.
pytest_plugins = ["tests.support.fixtures"]

SUITES = ("unit", "integration", "e2e", "security", "recovery", "chaos")
# Tests that stop, restart or kill services or app processes run after all the others,
# whatever folder they sit in, so no other test ever meets one on its way back up. The
# demos restart workers, stop a consumer and (fault-tolerance) kill processes.
DESTRUCTIVE = ("recovery", "chaos", "demo")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [i.nodeid for i in items if not any(i.get_closest_marker(m) for m in SUITES)]
    if unmarked:
        raise pytest.UsageError(f"tests without a suite marker {SUITES}: {unmarked[:5]}")
    items.sort(key=lambda i: any(i.get_closest_marker(m) for m in DESTRUCTIVE))


STACK_HINT = (
    "is not set: the tests run against the live stack. Run them with `make test` "
    '(or `eval "$(python -m stack env)"` first).'
)


def _env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        pytest.fail(f"{name} {STACK_HINT}", pytrace=False)
    return value


# --------------------------------------------------------------------------- stack endpoints


@pytest.fixture(scope="session")
def base_url() -> str:
    """The API root, e.g. ``http://127.0.0.1:8000`` (no trailing slash)."""
    return _env("COMANDA_URL").rstrip("/")


@pytest.fixture(scope="session")
def database_url() -> str:
    return _env("DATABASE_URL")


@pytest.fixture(scope="session")
def kafka_bootstrap_servers() -> str:
    return _env("KAFKA_BOOTSTRAP_SERVERS")


@pytest.fixture(scope="session")
def celery_broker_url() -> str:
    return _env("CELERY_BROKER_URL")


@pytest.fixture(scope="session")
def db_engine(database_url: str):
    """A SQLAlchemy engine on the stack's database. Tests only ever read through it."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url, pool_pre_ping=True, pool_size=2, max_overflow=4)
    yield engine
    engine.dispose()


# --------------------------------------------------------------------------- helpers


def unique(prefix: str = "t") -> str:
    """A short id no other test (or earlier run) will ever produce."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def unique_email(prefix: str = "user") -> str:
    return f"{unique(prefix)}@e2e.comanda.test"


# One polling helper for the fixtures, the tests that import it from here, and the demos.
wait_until = waiting.wait_until


@pytest.fixture
def uid() -> Callable[[str], str]:
    """``uid("rest")`` -> a fresh unique string for this test."""
    return unique


@pytest.fixture(scope="session")
def wait() -> Callable[..., Any]:
    """The ``wait_until`` helper, for test folders that cannot import this module."""
    return wait_until
