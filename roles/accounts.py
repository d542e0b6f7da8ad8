"""Creating an account: the one place a user row is made (customer sign-up, and the admin
creating a restaurant's login)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from app.core.db import unit_of_work
from app.core.errors import Conflict
from app.core.models import User
from roles import Role
from roles.emails import normalise
from roles.passwords import hash_password


def create_user(
    email: str, password: str, name: str, role: Role, restaurant_id: int | None = None
) -> User:
    """Create an account (Conflict if the e-mail, in its normal form, is taken); returns the
    detached row. ``email`` is already normalised by the API's schema; doing it again is a
    no-op that keeps every stored address in the one form the unique key compares."""
    email = normalise(email)
    hashed = hash_password(password)
    try:
        with unit_of_work() as session:
            user = User(
                email=email, password_hash=hashed, name=name, role=role, restaurant_id=restaurant_id
            )
            session.add(user)
            session.flush()
            return user
    except IntegrityError as exc:
        raise Conflict("e-mail is already registered") from exc
