"""Token forgeries an attacker (or a stale client) would try. Pure functions over strings."""

from __future__ import annotations

import base64
import json
import time

import jwt


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def header(token: str) -> dict:
    return jwt.get_unverified_header(token)


def resign(token: str, secret: str, **changes: object) -> str:
    """The same claims and ``kid``, changed as asked, signed with ``secret``."""
    body = {**claims(token), **changes}
    return jwt.encode(body, secret, algorithm="HS256", headers={"kid": header(token).get("kid")})


def expired(token: str, secret: str, seconds_ago: int = 3600) -> str:
    now = int(time.time())
    return resign(token, secret, iat=now - 2 * seconds_ago, nbf=now - 2 * seconds_ago,
                  exp=now - seconds_ago)  # fmt: skip


def fresh(token: str, secret: str) -> str:
    """Re-signed with a new validity window: accepted only if ``secret`` is the stack's key."""
    now = int(time.time())
    return resign(token, secret, iat=now, nbf=now, exp=now + 300)


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def tampered(token: str, **changes: object) -> str:
    """Claims changed, the original signature kept (e.g. a customer promoting itself)."""
    head, _, sig = token.split(".")
    return f"{head}.{_b64({**claims(token), **changes})}.{sig}"


def alg_none(token: str, **changes: object) -> str:
    """An unsigned token that says ``alg: none``."""
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({**claims(token), **changes})}."
