"""Reply shapes that more than one namespace sends: the Swagger model beside the function
that builds the reply, so the two cannot drift apart. Namespaces import these instead of
each other."""

from __future__ import annotations

from flask_restx import Namespace, fields

from app.api.docs import nullable
from app.core.models import Restaurant, User
from roles import Role


def restaurant_model(ns: Namespace):
    return ns.model(
        "Restaurant",
        {
            "id": fields.Integer(example=1),
            "name": fields.String(example="Cantina da Vila"),
            "is_open": fields.Boolean(example=True),
            "cuisine": fields.String(example="brasileira"),
        },
    )


def restaurant_view(r: Restaurant) -> dict:
    return {"id": r.id, "name": r.name, "is_open": r.is_open, "cuisine": r.cuisine}


def user_model(ns: Namespace):
    return ns.model(
        "User",
        {
            "id": fields.Integer(example=7),
            "email": fields.String(example="ana@example.com"),
            "name": fields.String(example="Ana"),
            "role": fields.String(enum=[r.value for r in Role]),
            "restaurant_id": nullable(fields.Integer, example=3),
        },
    )


def user_view(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "restaurant_id": user.restaurant_id,
    }
