"""The guards every endpoint goes through: a valid token of a live session, the right
role, and (for restaurant users) their tenant.

Who the caller is (user, role, restaurant) comes from the server-side session, not from the
token: a token is only a signed pointer to its session. Claims that disagree with the
session (a re-signed role, another user's sub, another tenant) mean the token was not
issued as it is, so it is refused (401) rather than trusted or silently corrected."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from app.api.connection import first_statement, release_connection
from app.core.errors import Forbidden, Unauthorized
from roles import Role
from roles.sessions import Holder, holder
from roles.tokens import InvalidToken, Principal, verify_access


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    return token.strip()


def agreed(claims: Principal, live: Holder | None) -> Principal:
    """The caller, from the session (``live``) the token names, if the token's claims say
    exactly what the session says; else Unauthorized. Pure: unit-tested alone."""
    if live is None:
        raise Unauthorized("token has been revoked")
    if (claims.user_id, claims.role, claims.restaurant_id) != (
        live.user_id,
        live.role,
        live.restaurant_id,
    ):
        raise Unauthorized("token is invalid")
    return Principal(
        user_id=live.user_id,
        role=live.role,
        restaurant_id=live.restaurant_id,
        session_id=claims.session_id,
        jti=claims.jti,
    )


def authenticate() -> Principal:
    try:
        claims = verify_access(bearer_token())
    except InvalidToken as exc:
        raise Unauthorized(str(exc)) from exc
    return agreed(claims, first_statement(lambda conn: holder(conn, claims.session_id)))


def requires(*roles: Role, keep_connection: bool = False) -> Callable:
    """Allow only callers with one of ``roles`` (any role when none is given).

    The session is checked on the request's connection (app/api/connection.py). A view
    that works on that connection too says ``keep_connection=True``; for the others it
    goes back to the pool before the view runs, so no request holds two."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            principal = authenticate()
            if roles and principal.role not in roles:
                raise Forbidden(f"this endpoint is for {', '.join(roles)} accounts")
            if principal.role == Role.RESTAURANT and principal.restaurant_id is None:
                raise Forbidden("restaurant account without a restaurant")
            g.principal = principal
            if not keep_connection:
                release_connection()
            return view(*args, **kwargs)

        return guarded

    return decorate


def current() -> Principal:
    return g.principal
