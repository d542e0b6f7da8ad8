"""Login throttling, shared by every API process through PostgreSQL.

An account is locked for the rest of the window after ``per_account`` failures in it; a
client address after ``per_client`` (generous: many users may share one address). The
answer is 429 with Retry-After: the seconds until the oldest counted failure ages out.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from app.core.errors import TooManyRequests
from app.core.models import LoginFailure, utcnow
from app.core.settings import get_settings


def _limits() -> tuple[timedelta, int, int]:
    s = get_settings()
    return (
        timedelta(seconds=s.login_window_seconds),
        s.login_failures_per_account,
        s.login_failures_per_client,
    )


def check(session: Session, account: str, client: str) -> None:
    """Raise TooManyRequests while the account or the client address is throttled."""
    window, per_account, per_client = _limits()
    # Serialise attempts on one account so parallel guesses cannot all slip under the limit.
    session.execute(text("select pg_advisory_xact_lock(hashtext(:a))"), {"a": account})
    since = utcnow() - window
    for column, value, limit in (
        (LoginFailure.account, account, per_account),
        (LoginFailure.client, client, per_client),
    ):
        count, oldest = session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(
                column == value, LoginFailure.at > since
            )
        ).one()
        if count >= limit:
            wait = (oldest + window - utcnow()).total_seconds()
            raise TooManyRequests(
                "too many failed logins; try again later", retry_after=max(1, math.ceil(wait))
            )


def failed(session: Session, account: str, client: str) -> None:
    session.add(LoginFailure(account=account, client=client[:64]))


def succeeded(session: Session, account: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.account == account))


def purge(session: Session) -> int:
    window, _, _ = _limits()
    return session.execute(delete(LoginFailure).where(LoginFailure.at < utcnow() - window)).rowcount
