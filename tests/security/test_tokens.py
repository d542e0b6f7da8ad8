"""Tokens: the algorithm allow-list, every required claim, short lifetimes, refresh rotation
with reuse detection, logout, the signing key from the environment (refused in production
when default or short) and key rotation by kid.

Forged tokens are signed with the stack's own key (the tests run with the stack's
environment), so each is refused for the one reason it names; the positive control shows
that the same claims, unchanged, are accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import uuid

import jwt
import pytest
from sqlalchemy import text

from app.core.settings import PUBLISHED_DEV_SECRET, Settings, use_settings
from roles import tokens
from tests.support.client import describe, expect

from .conftest import assert_error
from .test_authz_matrix import OPS

pytestmark = pytest.mark.security

STACK = Settings.from_env()
REQUIRED = ("exp", "iat", "nbf", "iss", "aud", "sub", "jti", "sid", "role")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def sign(claims: dict, key: str = STACK.jwt_secret, alg: str = "HS256", **header) -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": STACK.jwt_kid, **header})


def hand_made(header: dict, claims: dict, key: str | None = STACK.jwt_secret) -> str:
    """A token PyJWT would not make: any header, HMAC-SHA256 signature (or none)."""
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    if key is None:
        return head + "."
    return head + "." + b64(hmac.new(key.encode(), head.encode(), hashlib.sha256).digest())


@pytest.fixture(scope="module")
def live(make_customer):
    """A customer's real access token and its claims (never revoked in this module)."""
    customer = make_customer()
    return customer.access_token, claims_of(customer.access_token)


def me(api, token):
    return api.get("auth/me", token=token)


def test_the_stack_key_is_the_one_the_tests_forge_with(api, live):
    """Positive control: the live claims, re-signed with the stack's key, are accepted."""
    token, claims = live
    resp = me(api, sign(claims))
    assert resp.status_code == 200, (
        "the tests need the stack's COMANDA_JWT_SECRET in their environment; " + describe(resp)
    )


def forged(claims: dict, now: int, case: str) -> str:
    c = dict(claims)
    makers = {
        "alg-none": lambda: hand_made({"alg": "none", "typ": "JWT", "kid": "k1"}, c, key=None),
        "alg-none-signed": lambda: hand_made({"alg": "none", "kid": STACK.jwt_kid}, c),
        "alg-HS384": lambda: sign(c, alg="HS384"),
        "alg-HS512": lambda: sign(c, alg="HS512"),
        "alg-RS256-hmac": lambda: hand_made({"alg": "RS256", "kid": STACK.jwt_kid}, c),
        "wrong-key": lambda: sign(c, key="not-the-key-" + "x" * 40),
        "unknown-kid": lambda: sign(c, kid="k-unknown"),
        "no-kid": lambda: hand_made({"alg": "HS256", "typ": "JWT"}, c),
        "expired": lambda: sign({**c, "iat": now - 3600, "nbf": now - 3600, "exp": now - 60}),
        "not-yet-valid": lambda: sign({**c, "nbf": now + 600}),
        "issued-in-future": lambda: sign({**c, "iat": now + 600}),
        "wrong-issuer": lambda: sign({**c, "iss": "someone-else"}),
        "wrong-audience": lambda: sign({**c, "aud": "another-api"}),
        "audience-list-without-us": lambda: sign({**c, "aud": ["a", "b"]}),
        "refresh-typ": lambda: sign({**c, "typ": "refresh"}),
        "no-typ": lambda: sign({k: v for k, v in c.items() if k != "typ"}),
        "sub-not-a-number": lambda: sign({**c, "sub": "admin"}),
        "sid-not-a-uuid": lambda: sign({**c, "sid": "x"}),
        "sid-of-no-session": lambda: sign({**c, "sid": str(uuid.uuid4())}),
        "tampered-payload": lambda: tamper(sign(c), role="admin"),
    }
    for claim in REQUIRED:
        makers[f"no-{claim}"] = lambda claim=claim: sign({k: v for k, v in c.items() if k != claim})
    return makers[case]()


def tamper(token: str, **changes) -> str:
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return ".".join((head, b64(json.dumps({**claims, **changes}).encode()), sig))


BAD = [
    "alg-none",
    "alg-none-signed",
    "alg-HS384",
    "alg-HS512",
    "alg-RS256-hmac",
    "wrong-key",
    "unknown-kid",
    "no-kid",
    "expired",
    "not-yet-valid",
    "issued-in-future",
    "wrong-issuer",
    "wrong-audience",
    "audience-list-without-us",
    "refresh-typ",
    "no-typ",
    "sub-not-a-number",
    "sid-not-a-uuid",
    "sid-of-no-session",
    "tampered-payload",
    *(f"no-{claim}" for claim in REQUIRED),
]


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS384/512
@pytest.mark.parametrize("case", BAD)
def test_forged_and_invalid_tokens_are_401(api, live, case):
    _, claims = live
    assert_error(me(api, forged(claims, int(time.time()), case)), 401)


PROTECTED = [op for op in OPS if op.who != "public"]
SPOILED = ["expired", "alg-none", "wrong-key", "tampered-payload"]


@pytest.mark.parametrize("case", SPOILED)
@pytest.mark.parametrize("op", PROTECTED, ids=[op.key for op in PROTECTED])
def test_every_protected_endpoint_refuses_a_spoiled_token(api, live, op, case):
    """401, before the role or the object is even looked at: no 403 or 404 leaks."""
    _, claims = live
    path = op.path.lstrip("/")
    for name in ("order_id", "item_id", "restaurant_id"):
        path = path.replace(f"{{{name}}}", "1")
    token = forged(claims, int(time.time()), case)
    assert_error(api.request(op.method, path, token=token, json={}), 401)


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "Token abc", "Bearer a.b.c", "Bearer ..."],
)
def test_malformed_authorization_headers_are_401(api, header):
    assert_error(api.get("auth/me", token=None, headers={"Authorization": header}), 401)


def test_access_tokens_are_short_lived_hs256_with_every_claim(customer):
    token = customer.access_token
    header, claims = jwt.get_unverified_header(token), claims_of(token)
    assert header["alg"] == "HS256" and header["kid"] == STACK.jwt_kid
    assert set(REQUIRED) <= set(claims) and claims["typ"] == "access"
    assert claims["iss"] == STACK.jwt_issuer and claims["aud"] == STACK.jwt_audience
    lifetime = claims["exp"] - claims["iat"]
    assert lifetime == STACK.access_token_seconds <= 15 * 60
    assert claims["nbf"] <= claims["iat"] + 1
    resp = customer.post("auth/refresh", json={"refresh_token": customer.refresh_token}, token=None)
    assert expect(resp, 200).json()["expires_in"] == lifetime


def test_a_refresh_token_is_not_a_bearer_token(api, customer):
    assert_error(me(api, customer.refresh_token), 401)


def test_refresh_tokens_are_stored_only_as_hashes(customer, db_engine):
    digest = hashlib.sha256(customer.refresh_token.encode()).hexdigest()
    with db_engine.connect() as conn:
        stored = conn.execute(
            text("select count(*) from refresh_tokens where jti = :d"), {"d": digest}
        ).scalar()
        raw = conn.execute(
            text("select count(*) from refresh_tokens where jti = :t"),
            {"t": customer.refresh_token},
        ).scalar()
    assert (stored, raw) == (1, 0)


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(api, customer):
    first_access, first_refresh = customer.access_token, customer.refresh_token
    second = expect(
        api.post("auth/refresh", json={"refresh_token": first_refresh}, token=None), 200
    ).json()
    third = expect(
        api.post("auth/refresh", json={"refresh_token": second["refresh_token"]}, token=None),
        200,
    ).json()
    expect(me(api, third["access_token"]), 200)

    # A thief replays the first refresh token: refused, and the session is over for all.
    assert_error(api.post("auth/refresh", json={"refresh_token": first_refresh}, token=None), 401)
    assert_error(
        api.post("auth/refresh", json={"refresh_token": third["refresh_token"]}, token=None), 401
    )
    for access in (first_access, second["access_token"], third["access_token"]):
        assert_error(me(api, access), 401)


def test_a_family_revocation_leaves_the_users_other_sessions_alone(api, new_client, customer):
    other = new_client()
    other.login(customer.email, customer.password)
    old = customer.refresh_token
    expect(api.post("auth/refresh", json={"refresh_token": old}, token=None), 200)
    assert_error(api.post("auth/refresh", json={"refresh_token": old}, token=None), 401)
    expect(me(api, other.access_token), 200)


def test_logout_revokes_the_access_and_the_refresh_token(api, customer):
    access, refresh = customer.access_token, customer.refresh_token
    expect(api.post("auth/logout", token=access), 204)
    assert_error(me(api, access), 401)
    assert_error(api.get("orders", token=access), 401)
    assert_error(api.post("auth/refresh", json={"refresh_token": refresh}, token=None), 401)
    assert_error(api.post("auth/logout", token=access), 401)


# ------------------------------------------------------------------------------ the key


def start_in(env: dict) -> subprocess.CompletedProcess:
    """Build the API as gunicorn would, in a fresh process with this environment."""
    return subprocess.run(
        [sys.executable, "-c", "from app.api import create_app; create_app()"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


PRODUCTION = {"COMANDA_ENV": "production", "COMANDA_SEED_DEFAULT_PASSWORDS": "off"}


@pytest.mark.parametrize(
    "env",
    [
        {},  # the default key
        {"COMANDA_JWT_SECRET": PUBLISHED_DEV_SECRET},
        {"COMANDA_JWT_SECRET": "short-but-not-default"},
        {"COMANDA_JWT_SECRET": "k" * 40, "COMANDA_JWT_PREVIOUS_SECRETS": "k0:short"},
        {"COMANDA_JWT_SECRET": "k" * 40, "COMANDA_SEED_DEFAULT_PASSWORDS": "on"},
    ],
    ids=["unset", "default", "short", "short-previous", "seeding-default-passwords"],
)
def test_production_refuses_to_start_with_a_weak_key(env):
    env = {"COMANDA_JWT_SECRET": "", "COMANDA_JWT_PREVIOUS_SECRETS": "", **PRODUCTION, **env}
    done = start_in(env)
    assert done.returncode != 0
    assert "ConfigError" in done.stderr and "COMANDA_" in done.stderr, done.stderr[-2000:]


def test_production_starts_with_a_strong_key():
    done = start_in({**PRODUCTION, "COMANDA_JWT_SECRET": os.urandom(24).hex()})
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture
def settings_restored():
    yield
    use_settings(STACK)


def test_key_rotation_by_kid(settings_restored):
    old_key, new_key = "old-" + "o" * 40, "new-" + "n" * 40
    sid = uuid.uuid4()
    use_settings(STACK.with_(jwt_kid="k1", jwt_secret=old_key))
    before, _ = tokens.issue_access(7, "customer", None, sid)

    # Rotated: k2 signs, k1 still verifies the tokens issued before.
    rotated = STACK.with_(jwt_kid="k2", jwt_secret=new_key, jwt_previous_secrets=(("k1", old_key),))
    use_settings(rotated)
    after, _ = tokens.issue_access(7, "customer", None, sid)
    assert jwt.get_unverified_header(after)["kid"] == "k2"
    assert tokens.verify_access(before).user_id == tokens.verify_access(after).user_id == 7
    # A token naming k1 but signed with k2's key (or the reverse) is refused.
    claims = claims_of(before)
    for forged_token in (sign(claims, key=new_key, kid="k1"), sign(claims, key=old_key, kid="k2")):
        with pytest.raises(tokens.InvalidToken):
            tokens.verify_access(forged_token)

    # Once k1 is retired (after the access-token lifetime), its tokens stop working.
    use_settings(STACK.with_(jwt_kid="k2", jwt_secret=new_key))
    with pytest.raises(tokens.InvalidToken):
        tokens.verify_access(before)
    assert tokens.verify_access(after).user_id == 7


def test_previous_keys_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("COMANDA_JWT_KID", "k3")
    monkeypatch.setenv("COMANDA_JWT_PREVIOUS_SECRETS", "k1:" + "a" * 32 + ", k2:" + "b" * 32)
    s = Settings.from_env()
    assert s.jwt_kid == "k3" and dict(s.jwt_previous_secrets) == {"k1": "a" * 32, "k2": "b" * 32}
    monkeypatch.setenv("COMANDA_JWT_PREVIOUS_SECRETS", "k3:" + "c" * 32)  # the current kid
    with pytest.raises(Exception, match="COMANDA_JWT_PREVIOUS_SECRETS"):
        Settings.from_env()
    monkeypatch.setenv("COMANDA_JWT_PREVIOUS_SECRETS", "no-colon")
    with pytest.raises(Exception, match="COMANDA_JWT_PREVIOUS_SECRETS"):
        Settings.from_env()


# ------------------------------------------------------------------------------ issue 8


def test_this_install_signs_with_a_key_of_its_own():
    """`stack up` made a random key for this install and `stack env` exported it; the key
    that used to be written in the source is not it (and is refused even if configured)."""
    assert STACK.jwt_secret != PUBLISHED_DEV_SECRET and len(STACK.jwt_secret) >= 32


def test_a_token_signed_with_the_published_development_key_is_refused(api, live):
    """Issue 8: `make run` signed with the key in the source, so anyone could mint tokens."""
    _, claims = live
    for kid in (STACK.jwt_kid, "k1"):
        forged_token = jwt.encode(claims, PUBLISHED_DEV_SECRET, "HS256", headers={"kid": kid})
        assert_error(me(api, forged_token), 401)


@pytest.mark.parametrize(
    "changes",
    [
        {"sub": "999999"},
        {"sub": "-1"},
        {"sub": "2147483648"},
        {"sub": "9" * 400},
        {"sub": "9" * 5000},
        {"sub": "1.5"},
        {"sub": "0x10"},
        {"sub": 7},
        {"sub": None},
        {"sid": "garbage"},
        {"sid": ""},
        {"sid": 12},
        {"sid": {"a": 1}},
        {"sid": "00000000-0000-0000-0000-000000000000"},
        {"role": "superuser"},
        {"role": ["admin"]},
        {"restaurant_id": 1.5},
        {"restaurant_id": "1"},
        {"restaurant_id": 2**63},
        {"restaurant_id": -1},
        {"jti": {"x": 1}},
    ],
    ids=lambda c: ",".join(f"{k}={str(v)[:20]}" for k, v in c.items()),
)
def test_no_claim_the_stack_key_signs_gives_a_5xx(api, live, changes):
    """Issue 8: a sub of 999999 or -1 gave a 500. Whatever a (leaked-key) token claims, the
    answer is a clean 401 on every kind of endpoint."""
    _, claims = live
    token = sign({**claims, **changes})
    for method, path in (("GET", "auth/me"), ("GET", "orders"), ("GET", "admin/stats")):
        assert_error(api.request(method, path, token=token), 401)
