"""Access tokens: short-lived HS256 JWTs with an explicit algorithm allow-list.

The header's ``kid`` names the key: the current one signs, earlier ones (listed in
COMANDA_JWT_PREVIOUS_SECRETS) still verify, so the key can be rotated without logging
everyone out. Refresh tokens are opaque random strings stored hashed (see roles.sessions),
so they can be rotated and revoked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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


def _key(token: str) -> str:
    s = get_settings()
    kid = jwt.get_unverified_header(token).get("kid")
    keys = {**dict(s.jwt_previous_secrets), s.jwt_kid: s.jwt_secret}
    if not isinstance(kid, str) or kid not in keys:
        raise InvalidToken("token is invalid")
    return keys[kid]


def verify_access(token: str) -> Principal:
    s = get_settings()
    try:
        claims = jwt.decode(
            token,
            _key(token),
            algorithms=ALGORITHMS,
            audience=s.jwt_audience,
            issuer=s.jwt_issuer,
            options={"require": REQUIRED},
            leeway=5,
        )
        if claims.get("typ") != "access":
            raise InvalidToken("not an access token")
        restaurant_id = claims.get("restaurant_id")
        return Principal(
            user_id=int(claims["sub"]),
            role=str(claims["role"]),
            restaurant_id=int(restaurant_id) if restaurant_id is not None else None,
            session_id=uuid.UUID(claims["sid"]),
            jti=str(claims["jti"]),
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token has expired") from exc
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken("token is invalid") from exc
