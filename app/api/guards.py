"""The guards every endpoint goes through: a valid token of a live session, the right
role, and (for restaurant users) the tenant their token names."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from app.core.db import read_only
from app.core.errors import Forbidden, Unauthorized
from roles import Role
from roles.sessions import is_live
from roles.tokens import InvalidToken, Principal, verify_access


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    return token.strip()


def authenticate() -> Principal:
    try:
        principal = verify_access(bearer_token())
    except InvalidToken as exc:
        raise Unauthorized(str(exc)) from exc
    with read_only() as session:
        if not is_live(session, principal.session_id):
            raise Unauthorized("token has been revoked")
    return principal


def requires(*roles: Role) -> Callable:
    """Allow only callers with one of ``roles`` (any role when none is given)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            principal = authenticate()
            if roles and principal.role not in roles:
                raise Forbidden(f"this endpoint is for {', '.join(roles)} accounts")
            if principal.role == Role.RESTAURANT and principal.restaurant_id is None:
                raise Forbidden("restaurant account without a restaurant")
            g.principal = principal
            return view(*args, **kwargs)

        return guarded

    return decorate


def current() -> Principal:
    return g.principal
