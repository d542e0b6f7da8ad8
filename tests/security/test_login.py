"""Passwords and login: bcrypt at a sane cost, the same work (and time) for an unknown e-mail
and a wrong password, and the throttle: 10 failures per account and 100 per client address
in 15 minutes, 429 with Retry-After, shared by every API process through PostgreSQL.

Failures from 127.0.0.1 are budgeted (100 lock every login from it), so the failing logins
here go through ``inproc`` - a second API instance on the same database - from made-up
addresses; what the live API must show (the lock it shares) is then asked over HTTP.
"""

from __future__ import annotations

import statistics
import time
import uuid

import bcrypt
import pytest
import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import text

from app.core.settings import Settings
from stack.config import Config
from tests import tls
from tests.support.client import DEFAULT_PASSWORD, describe, fresh_email

from .conftest import assert_error

pytestmark = pytest.mark.security

STACK = Settings.from_env()


def address() -> str:
    """A client address no earlier run has used (IPv6 documentation prefix)."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


def login(client, email: str, password: str, addr: str, **headers):
    return client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": addr},
        headers=headers,
    )


def rounds(hashed: bytes | str) -> int:
    hashed = hashed.encode() if isinstance(hashed, str) else hashed
    return int(hashed.split(b"$")[2])


def test_passwords_are_bcrypt_at_cost_12(customer, db_engine):
    with db_engine.connect() as conn:
        stored = conn.execute(
            text("select password_hash from users where email = :e"), {"e": customer.email}
        ).scalar_one()
    assert stored.startswith("$2b$") and rounds(stored) == STACK.bcrypt_rounds >= 12
    assert customer.password not in stored


def test_unknown_email_and_wrong_password_do_the_same_bcrypt_work(inproc, customer, monkeypatch):
    """Structural: each path checks exactly one hash of the configured cost, and neither
    hashes anything (the dummy is made when the app starts, not on the first unknown e-mail)."""
    client = inproc()
    checked, hashed = [], []
    real_checkpw, real_hashpw = bcrypt.checkpw, bcrypt.hashpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda p, h: checked.append(h) or real_checkpw(p, h))
    monkeypatch.setattr(bcrypt, "hashpw", lambda p, s: hashed.append(s) or real_hashpw(p, s))
    addr = address()

    unknown = login(client, fresh_email("nobody"), DEFAULT_PASSWORD, addr)
    work_unknown, checked[:] = list(checked), []
    wrong = login(client, customer.email, "wrong-password", addr)
    work_wrong = list(checked)

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.get_json() == wrong.get_json()  # the same words: nothing to tell apart
    assert len(work_unknown) == len(work_wrong) == 1
    assert rounds(work_unknown[0]) == rounds(work_wrong[0]) == STACK.bcrypt_rounds
    assert hashed == []


def test_unknown_email_and_wrong_password_take_the_same_time(inproc, customer):
    """Statistical, with a generous tolerance: on this 2-core machine a single login varies
    a lot, so medians of 7 tries each must agree within a factor of 1.5. The bcrypt check
    (~0.25 s at cost 12) dominates both; a path that skipped it would be ~50x faster, and
    one that hashed twice ~2x slower, so the tolerance still catches what matters."""
    client = inproc()
    addr = address()
    login(client, fresh_email("warm"), DEFAULT_PASSWORD, addr)  # warm connections and caches

    def timed(email: str, password: str) -> float:
        started = time.perf_counter()
        assert login(client, email, password, addr).status_code == 401
        return time.perf_counter() - started

    unknown, wrong = [], []
    for _ in range(7):  # interleaved, so load changes hit both alike
        unknown.append(timed(fresh_email("nobody"), DEFAULT_PASSWORD))
        wrong.append(timed(customer.email, "wrong-password"))
    ratio = statistics.median(unknown) / statistics.median(wrong)
    assert 1 / 1.5 < ratio < 1.5, (unknown, wrong)
    assert login(client, customer.email, customer.password, addr).status_code == 200


def test_ten_failures_lock_the_account_in_every_api_process(inproc, make_customer, api):
    """Ten failures at a second API instance, from another address: the live API (other
    processes, other address) now refuses even the right password, with Retry-After."""
    victim = make_customer()
    client, addr = inproc(), address()
    results = [login(client, victim.email, f"guess-{n}", addr).status_code for n in range(10)]
    assert results == [401] * 10
    assert login(client, victim.email, "guess-10", addr).status_code == 429

    resp = api.post(
        "auth/login",
        json={"email": victim.email, "password": victim.password},
        token=None,
        retry_429=False,
    )
    assert_error(resp, 429)
    retry_after = int(resp.headers["Retry-After"])
    assert 1 <= retry_after <= STACK.login_window_seconds, retry_after
    # The same account in another case and with spaces is the same account.
    resp = api.post(
        "auth/login",
        json={"email": f"  {victim.email.upper()} ", "password": victim.password},
        token=None,
        retry_429=False,
    )
    assert_error(resp, 429)
    # Other accounts are untouched, and the victim's live session too.
    assert victim.get("auth/me").status_code == 200


def test_an_unknown_email_locks_like_a_real_one(inproc):
    """Otherwise the lock itself would tell which e-mails are registered."""
    client, addr, email = inproc(), address(), fresh_email("nobody")
    results = [login(client, email, f"guess-{n}", addr).status_code for n in range(11)]
    assert results == [401] * 10 + [429]


def test_one_address_is_throttled_after_100_failures_on_any_accounts(inproc):
    """The generous per-address limit (many users may share one), at the stack's setting;
    bcrypt cost 4 keeps the 100 failures quick."""
    assert STACK.login_failures_per_client == 100
    client, addr = inproc(bcrypt_rounds=4), address()
    codes = [
        login(client, fresh_email("spray"), "password-spray", addr).status_code for _ in range(100)
    ]
    assert codes == [401] * 100
    refused = login(client, fresh_email("spray"), "password-spray", addr)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert set(refused.get_json()) == {"message"}
    elsewhere = login(client, fresh_email("spray"), "password-spray", address())
    assert elsewhere.status_code == 401, "another address must not be throttled"


def test_the_client_address_is_the_peer_not_a_header(inproc, db_engine):
    """X-Forwarded-For from a peer that is not the proxy (nginx, on loopback) is not trusted,
    so it cannot spread guesses over made-up addresses to dodge the per-address limit."""
    client, peer, email = inproc(), address(), fresh_email("xff")
    resp = login(client, email, "wrong", peer, **{"X-Forwarded-For": "192.0.2.1"})
    assert resp.status_code == 401
    with db_engine.connect() as conn:
        clients = conn.execute(
            text("select client from login_failures where account = :a"), {"a": email}
        ).scalars()
        assert list(clients) == [peer]


def test_a_success_clears_the_accounts_failures(inproc, make_customer, api):
    user = make_customer()
    client, addr = inproc(), address()
    for n in range(9):
        assert login(client, user.email, f"guess-{n}", addr).status_code == 401
    resp = api.post("auth/login", json={"email": user.email, "password": user.password}, token=None)
    assert resp.status_code == 200, describe(resp)
    assert [login(client, user.email, "again", addr).status_code for _ in range(9)] == [401] * 9


# --------------------------------------------------------------------------- behind nginx


class FromAddress(HTTPAdapter):
    """Connect from a chosen local address: all of 127.0.0.0/8 is loopback on Linux, so a
    test can be a client nginx sees as 127.x.y.z, not 127.0.0.1."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        return super().init_poolmanager(*args, **kwargs)


def client_from(source: str) -> requests.Session:
    http = tls.session()
    for scheme in ("http://", "https://"):
        http.mount(scheme, FromAddress(source))
    return http


def loopback_address() -> str:
    """A loopback address other than 127.0.0.1 that no earlier run has used (likely)."""
    n = uuid.uuid4().int
    return f"127.{n % 250 + 1}.{(n >> 8) % 250 + 1}.{(n >> 16) % 250 + 2}"


def recorded_clients(db_engine, email: str) -> list[str]:
    with db_engine.connect() as conn:
        return list(
            conn.execute(
                text("select client from login_failures where account = :a"), {"a": email}
            ).scalars()
        )


def test_behind_nginx_the_throttle_counts_the_real_client_address(base_url, db_engine):
    """nginx passes the client's address in X-Forwarded-For, the app believes it from nginx
    only: the per-address limit then applies per client, not to everyone as 127.0.0.1.
    A forged X-Forwarded-For is replaced by nginx, so it cannot spread the guesses."""
    source, email = loopback_address(), fresh_email("behind-nginx")
    http = client_from(source)
    for forged in ({}, {"X-Forwarded-For": "192.0.2.77"}):
        resp = http.post(
            f"{base_url}/api/v1/auth/login",
            json={"email": email, "password": "wrong-password"},
            headers=forged,
            timeout=30,
        )
        assert resp.status_code == 401, describe(resp)
    assert recorded_clients(db_engine, email) == [source, source]


def test_the_app_believes_forwarded_headers_only_from_the_proxy(db_engine):
    """Straight to an API process (its loopback port), from an address that is not nginx's:
    the header is ignored and the TCP peer is the client."""
    source, email = loopback_address(), fresh_email("direct")
    port = Config.from_env().api_port
    resp = client_from(source).post(
        f"http://127.0.0.1:{port}/api/v1/auth/login",
        json={"email": email, "password": "wrong-password"},
        headers={"X-Forwarded-For": "192.0.2.78"},
        timeout=30,
    )
    assert resp.status_code == 401, describe(resp)
    assert recorded_clients(db_engine, email) == [source]
