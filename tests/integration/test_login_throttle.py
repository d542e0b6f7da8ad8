"""Login throttling against the real PostgreSQL: per account, per client address, with a
Retry-After, and the same for every API process since the counts live in the database."""

from __future__ import annotations

import uuid

import pytest

from app.core.db import unit_of_work
from app.core.errors import TooManyRequests, Unauthorized
from app.core.models import User
from app.core.settings import get_settings, use_settings
from roles import sessions
from roles.passwords import hash_password

pytestmark = pytest.mark.integration


@pytest.fixture
def account(on_test_db):
    email = f"{uuid.uuid4().hex}@t.io"
    with unit_of_work() as s:
        s.add(
            User(
                email=email,
                password_hash=hash_password("right-password"),
                name="u",
                role="customer",
            )
        )
    return email


def attempt(email: str, password: str, client: str) -> str:
    try:
        with unit_of_work() as s:
            sessions.login(s, email, password, client)
        return "ok"
    except Unauthorized:
        return "401"
    except TooManyRequests as exc:
        assert exc.retry_after >= 1
        return "429"


def test_ten_failures_lock_the_account_even_for_the_right_password(account):
    client = f"10.{uuid.uuid4().int % 250}.0.1"
    assert [attempt(account, "wrong", client) for _ in range(10)] == ["401"] * 10
    assert attempt(account, "right-password", client) == "429"
    assert attempt(account, "right-password", "192.0.2.99") == "429"  # any address


def test_a_success_clears_the_account_failures(account):
    client = f"10.{uuid.uuid4().int % 250}.0.2"
    for _ in range(9):
        attempt(account, "wrong", client)
    assert attempt(account, "right-password", client) == "ok"
    assert [attempt(account, "wrong", client) for _ in range(9)] == ["401"] * 9


def test_one_address_guessing_many_accounts_is_throttled(on_test_db):
    use_settings(get_settings().with_(login_failures_per_client=5))
    client = f"198.51.100.{uuid.uuid4().int % 250}"
    results = [attempt(f"{uuid.uuid4().hex}@t.io", "x", client) for _ in range(7)]
    assert results == ["401"] * 5 + ["429"] * 2
