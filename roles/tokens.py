"""Access tokens: short-lived HS256 JWTs with an explicit algorithm allow-list.

The header's ``kid`` names the key: the current one signs, earlier ones (listed in
COMANDA_JWT_PREVIOUS_SECRETS) still verify, so the key can be rotated without logging
everyone out. Refresh tokens are opaque random strings stored hashed (see roles.sessions),
so they can be rotated and revoked.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt

from app.core.settings import get_settings

ALGORITHMS = ["HS256"]
REQUIRED = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti", "sid", "role"]


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Principal:
    user_id: int
    role: str
    restaurant_id: int | None
    session_id: uuid.UUID
    jti: str


def issue_access(
    user_id: int, role: str, restaurant_id: int | None, session_id: uuid.UUID
) -> tuple[str, int]:
    s = get_settings()
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "role": role,
        "restaurant_id": restaurant_id,
        "sid": str(session_id),
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(seconds=s.access_token_seconds),
        "iss": s.jwt_issuer,
        "aud": s.jwt_audience,
        "typ": "access",
    }
    token = jwt.encode(claims, s.jwt_secret, algorithm="HS256", headers={"kid": s.jwt_kid})
    return token, s.access_token_seconds


def _key(token: str, kid_now: str, secret: str, previous: tuple[tuple[str, str], ...]) -> str:
    kid = jwt.get_unverified_header(token).get("kid")
    keys = {**dict(previous), kid_now: secret}
    if not isinstance(kid, str) or kid not in keys:
        raise InvalidToken("token is invalid")
    return keys[kid]


def _claimed_id(value: object) -> int:
    """A user id as issue_access writes it: a string of at most 10 ASCII digits. Anything
    else (a negative, a float, a 5,000-digit number, a non-numeric string) is invalid here,
    before it can reach a query or an int() that overflows."""
    if not (isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10):
        raise InvalidToken("token is invalid")
    return int(value)


def _claimed_tenant(value: object) -> int | None:
    if value is None:
        return None
    if type(value) is not int:  # bool is an int subclass; floats and strings are not ids
        raise InvalidToken("token is invalid")
    return value


LEEWAY = 5  # seconds of clock skew allowed on exp, nbf and iat
# Tokens verified lately, by their exact text and the settings they were checked against.
VERIFIED_CACHE_SIZE = 4096


def verify_access(token: str) -> Principal:
    """The token's claims, once its signature, algorithm, kid, lifetime, issuer and
    audience check out. They are still only claims: the guard compares them with the
    server-side session they name (app/api/guards.py), on every request.

    A token that verified is remembered until it expires: the checks are a pure function
    of its text, the keys and the time, and a client sends the same token with every
    request, so repeating them is waste (a tenth of an order's API CPU). Only successes
    are remembered, and a remembered token is refused once past its lifetime, as PyJWT
    would. A change of keys (rotation) is a new cache key."""
    s = get_settings()
    principal, expires_at = _verified(
        token, s.jwt_kid, s.jwt_secret, s.jwt_previous_secrets, s.jwt_audience, s.jwt_issuer
    )
    if time.time() >= expires_at + LEEWAY:  # PyJWT's own rule: exp <= now - leeway
        raise InvalidToken("token has expired")
    return principal


def _verify(
    token: str,
    kid: str,
    secret: str,
    previous: tuple[tuple[str, str], ...],
    audience: str,
    issuer: str,
) -> tuple[Principal, int]:
    try:
        claims = jwt.decode(
            token,
            _key(token, kid, secret, previous),
            algorithms=ALGORITHMS,
            audience=audience,
            issuer=issuer,
            options={"require": REQUIRED},
            leeway=LEEWAY,
        )
        if claims.get("typ") != "access":
            raise InvalidToken("not an access token")
        if not isinstance(claims["role"], str) or not isinstance(claims["sid"], str):
            raise InvalidToken("token is invalid")
        principal = Principal(
            user_id=_claimed_id(claims["sub"]),
            role=claims["role"],
            restaurant_id=_claimed_tenant(claims.get("restaurant_id")),
            session_id=uuid.UUID(claims["sid"]),
            jti=str(claims["jti"]),
        )
        return principal, int(claims["exp"])
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token has expired") from exc
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError) as exc:
        raise InvalidToken("token is invalid") from exc


# functools' LRU: thread-safe, bounded, and it never keeps an exception (a refused token is
# checked in full every time).
_verified = lru_cache(maxsize=VERIFIED_CACHE_SIZE)(_verify)
