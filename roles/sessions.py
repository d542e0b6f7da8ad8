"""Login, refresh rotation with reuse detection, and logout.

A login opens a session; its refresh tokens form one family. Refreshing uses a token up
and issues the next; presenting a used token again means it was stolen, so the whole
session is revoked. Access tokens name their session and die with it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.core.db import driver_row
from app.core.errors import Unauthorized
from app.core.models import AuthSession, RefreshToken, User, utcnow
from app.core.settings import get_settings
from roles import throttle
from roles.emails import normalise
from roles.passwords import verify_password
from roles.tokens import issue_access


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _pair(session: Session, user: User, auth: AuthSession) -> dict:
    refresh = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            jti=_digest(refresh),
            session_id=auth.id,
            expires_at=auth.expires_at,
        )
    )
    access, expires_in = issue_access(user.id, user.role, user.restaurant_id, auth.id)
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": expires_in,
    }


def find_user(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == normalise(email))).first()


def login(session: Session, email: str, password: str, client: str) -> dict:
    """Check the throttle, then the password: the same bcrypt work whether or not the
    account exists, so timing does not tell which e-mails are registered."""
    account = normalise(email)  # look-alikes of an address are that address
    throttle.check(session, account, client)
    user = find_user(session, account)
    if not verify_password(password, user.password_hash if user else None) or user is None:
        throttle.failed(session, account, client)
        session.commit()  # the failure must count even though a 401 follows
        raise Unauthorized("invalid e-mail or password")
    throttle.succeeded(session, account)
    auth = AuthSession(
        id=uuid.uuid4(),
        user_id=user.id,
        expires_at=utcnow() + timedelta(seconds=get_settings().refresh_token_seconds),
    )
    session.add(auth)
    session.flush()
    return _pair(session, user, auth)


def refresh(session: Session, token: str) -> dict:
    found = session.scalars(
        select(RefreshToken).where(RefreshToken.jti == _digest(token)).with_for_update()
    ).one_or_none()
    if found is None:
        raise Unauthorized("refresh token is invalid")
    auth = session.get(AuthSession, found.session_id, with_for_update=True)
    now = utcnow()
    if found.used_at is not None:
        if auth.revoked_at is None:
            auth.revoked_at, auth.revoked_reason = now, "refresh_token_reuse"
            session.commit()  # the revocation must survive the 401 that follows
        raise Unauthorized("refresh token was already used; the session is revoked")
    if auth.revoked_at is not None or auth.expires_at <= now or found.expires_at <= now:
        raise Unauthorized("refresh token is no longer valid")
    found.used_at = now
    return _pair(session, session.get(User, auth.user_id), auth)


def logout(session: Session, session_id: uuid.UUID) -> None:
    auth = session.get(AuthSession, session_id, with_for_update=True)
    if auth is not None and auth.revoked_at is None:
        auth.revoked_at, auth.revoked_reason = func.now(), "logout"


@dataclass(frozen=True)
class Holder:
    """Who a live session belongs to, as the database says now."""

    user_id: int
    role: str
    restaurant_id: int | None


# The guard's one statement per request (app/api/guards.py): psycopg's own SQL, run by
# db.driver_row, so a request pays no query construction, compilation or SQLAlchemy
# execution context for it. Still a read of the database on every request: a revoked
# session is refused on the very next one.
LIVE_HOLDER = (
    "SELECT u.id, u.role, u.restaurant_id FROM auth_sessions AS s JOIN users AS u"
    " ON u.id = s.user_id"
    " WHERE s.id = %(session_id)s AND s.revoked_at IS NULL AND s.expires_at > now()"
)


def holder(db: Session | Connection, session_id: uuid.UUID) -> Holder | None:
    """The user of a live (not revoked, not expired) session: one query joining the
    session to its user, on the session's primary key. None when it is not live."""
    conn = db.connection() if isinstance(db, Session) else db
    row = driver_row(conn, LIVE_HOLDER, {"session_id": session_id})
    return Holder(*row) if row is not None else None


def is_live(session: Session, session_id: uuid.UUID) -> bool:
    return holder(session, session_id) is not None
