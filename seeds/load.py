"""Load the demo data straight into PostgreSQL, idempotently (by e-mail and name)."""

from __future__ import annotations

import os
import sys

from sqlalchemy import select

from app.core.db import unit_of_work
from app.core.errors import AppError
from app.core.models import MenuItem, Restaurant, User
from app.core.settings import get_settings
from roles import Role
from roles.passwords import hash_password
from seeds.demo import ADMIN, CUSTOMERS, RESTAURANTS


def progress(done: int, total: int, label: str) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    sys.stdout.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label:<40}")
    sys.stdout.flush()
    if done == total:
        sys.stdout.write("\n")


def _user(
    session, email: str, password: str, name: str, role: Role, restaurant_id: int | None = None
) -> bool:
    if session.scalars(select(User).where(User.email == email)).first() is not None:
        return False
    session.add(
        User(
            email=email,
            password_hash=hash_password(password),
            name=name,
            role=role,
            restaurant_id=restaurant_id,
        )
    )
    return True


def load_demo() -> int:
    """Create what is missing; return how many rows were added."""
    settings = get_settings()
    if not settings.seed_default_passwords:
        password = os.environ.get("COMANDA_ADMIN_PASSWORD")
        if not password or len(password) < 12:
            raise AppError(
                "set COMANDA_ADMIN_PASSWORD (12+ characters): default passwords "
                "are not seeded in production"
            )
        with unit_of_work() as session:
            added = _user(session, ADMIN[0], password, ADMIN[2], Role.ADMIN)
        print("  admin account", "created" if added else "already present")
        return int(added)
    steps = 1 + len(RESTAURANTS) + len(CUSTOMERS)
    added, done = 0, 0
    with unit_of_work() as session:
        added += _user(session, *ADMIN, Role.ADMIN)
    done += 1
    progress(done, steps, "admin")
    for spec in RESTAURANTS:
        with unit_of_work() as session:
            restaurant = session.scalars(
                select(Restaurant).where(Restaurant.name == spec["name"])
            ).first()
            if restaurant is None:
                restaurant = Restaurant(
                    name=spec["name"],
                    cuisine=spec["cuisine"],
                    is_open=True,
                    acceptance_seconds=settings.acceptance_seconds,
                )
                session.add(restaurant)
                session.flush()
                for name, price, stock in spec["menu"]:
                    session.add(
                        MenuItem(
                            restaurant_id=restaurant.id,
                            name=name,
                            price_cents=price,
                            stock=stock,
                            available=True,
                        )
                    )
                added += 1 + len(spec["menu"])
            added += _user(session, *spec["user"], Role.RESTAURANT, restaurant.id)
        done += 1
        progress(done, steps, spec["name"])
    for customer in CUSTOMERS:
        with unit_of_work() as session:
            added += _user(session, *customer, Role.CUSTOMER)
        done += 1
        progress(done, steps, customer[0])
    return added
