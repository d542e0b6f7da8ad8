"""Tokens are pointers to sessions (issue 8): the guard's rule, and claims that cannot be
ids are invalid tokens, never a 5xx."""

import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from app.api.guards import agreed
from app.core.errors import Unauthorized
from app.core.settings import Settings, get_settings, use_settings
from roles.sessions import Holder
from roles.tokens import InvalidToken, Principal, verify_access

pytestmark = pytest.mark.unit
SID = uuid.uuid4()
CUSTOMER = Holder(user_id=7, role="customer", restaurant_id=None)
STAFF = Holder(user_id=8, role="restaurant", restaurant_id=3)


def claims(user_id=7, role="customer", restaurant_id=None) -> Principal:
    return Principal(user_id, role, restaurant_id, SID, "j")


def test_claims_that_match_the_session_give_the_sessions_caller():
    assert agreed(claims(), CUSTOMER) == claims()
    assert agreed(claims(8, "restaurant", 3), STAFF).restaurant_id == 3


@pytest.mark.parametrize(
    "forged,live",
    [
        (claims(role="admin"), CUSTOMER),  # a customer's token re-signed as admin
        (claims(role="restaurant", restaurant_id=25), CUSTOMER),
        (claims(user_id=99), CUSTOMER),  # another user's sub with the caller's sid
        (claims(8, "restaurant", 4), STAFF),  # another tenant
        (claims(8, "admin", None), STAFF),
        (claims(), None),  # revoked, expired or unknown session
    ],
)
def test_claims_that_disagree_with_the_session_are_401(forged, live):
    with pytest.raises(Unauthorized):
        agreed(forged, live)


@pytest.fixture
def key():
    before = get_settings()
    settings = Settings(jwt_secret="unit-" + "k" * 40)
    use_settings(settings)
    yield settings
    use_settings(before)


def signed(settings: Settings, **changes) -> str:
    now = datetime.now(UTC)
    body = {
        "sub": "7",
        "role": "customer",
        "restaurant_id": None,
        "sid": str(SID),
        "jti": "j",
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "typ": "access",
        **changes,
    }
    return jwt.encode(body, settings.jwt_secret, "HS256", headers={"kid": settings.jwt_kid})


def test_a_well_formed_token_parses(key):
    assert verify_access(signed(key)).user_id == 7


@pytest.mark.parametrize(
    "changes",
    [
        {"sub": "-1"},
        {"sub": "9" * 11},
        {"sub": "9" * 5000},
        {"sub": "1e3"},
        {"sub": "²"},
        {"sub": "admin"},
        {"sub": ""},
        {"sid": "garbage"},
        {"sid": 12},
        {"sid": ["x"]},
        {"role": 1},
        {"role": None},
        {"restaurant_id": 1.0},
        {"restaurant_id": 1e308},
        {"restaurant_id": "3"},
        {"restaurant_id": True},
        {"restaurant_id": {"a": 1}},
    ],
    ids=str,
)
def test_claims_that_cannot_be_what_we_issue_are_invalid(key, changes):
    with pytest.raises(InvalidToken):
        verify_access(signed(key, **changes))


def test_a_huge_float_claim_is_invalid_not_a_crash(key):
    token = signed(key)
    head, body, _ = token.split(".")
    raw = jwt.utils.base64url_decode(body).replace(
        b'"restaurant_id": null', b'"restaurant_id": 1e999'
    )
    raw = raw.replace(b'"restaurant_id":null', b'"restaurant_id":1e999')
    assert b"1e999" in raw
    forged_body = jwt.utils.base64url_encode(raw).decode()
    sig = hmac.new(key.jwt_secret.encode(), f"{head}.{forged_body}".encode(), hashlib.sha256)
    forged = f"{head}.{forged_body}.{jwt.utils.base64url_encode(sig.digest()).decode()}"
    with pytest.raises(InvalidToken):
        verify_access(forged)
