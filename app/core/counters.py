"""Counters kept in PostgreSQL so that every process adds to the same numbers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.core.models import Counter


def bump(session: Session, name: str, by: int = 1) -> None:
    if by <= 0:
        return
    statement = insert(Counter).values(name=name, value=by)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[Counter.name], set_={"value": Counter.value + by}
        )
    )


def all_counters(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Counter.name, Counter.value)).all())
