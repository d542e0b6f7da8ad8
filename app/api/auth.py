"""Accounts and sessions: register, login, refresh, logout, me."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource, fields
from sqlalchemy.exc import IntegrityError

from app.api.docs import body, documented, nullable
from app.api.guards import current, requires
from app.api.schemas import LoginIn, RefreshIn, RegisterIn
from app.api.validation import parse
from app.core.db import read_only, unit_of_work
from app.core.errors import Conflict
from app.core.models import User
from roles import Role, emails, sessions
from roles.passwords import hash_password

PATH = "/auth"
ns = Namespace("auth", description="Accounts, login and tokens")

user_model = ns.model(
    "User",
    {
        "id": fields.Integer(example=7),
        "email": fields.String(example="ana@example.com"),
        "name": fields.String(example="Ana"),
        "role": fields.String(enum=[r.value for r in Role]),
        "restaurant_id": nullable(fields.Integer, example=3),
    },
)
tokens_model = ns.model(
    "Tokens",
    {
        "access_token": fields.String(),
        "refresh_token": fields.String(),
        "token_type": fields.String(example="Bearer"),
        "expires_in": fields.Integer(example=900),
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


def create_user(
    email: str, password: str, name: str, role: Role, restaurant_id: int | None = None
) -> dict:
    """Create an account (409 if the e-mail, in its normal form, is taken). Also used by the
    admin API. ``email`` is already normalised by the schema; doing it again is a no-op that
    keeps every stored address in the one form the unique key compares."""
    email = emails.normalise(email)
    hashed = hash_password(password)
    try:
        with unit_of_work() as session:
            user = User(
                email=email, password_hash=hashed, name=name, role=role, restaurant_id=restaurant_id
            )
            session.add(user)
            session.flush()
            return user_view(user)
    except IntegrityError as exc:
        raise Conflict("e-mail is already registered") from exc


def client_address() -> str:
    return request.remote_addr or "unknown"


@ns.route("/register")
class Register(Resource):
    @ns.expect(body(ns, RegisterIn))
    @ns.response(201, "customer account created", user_model)
    @documented(ns, 400, 409, 413)
    def post(self):
        """Register a customer account."""
        data = parse(RegisterIn)
        return create_user(data.email, data.password, data.name, Role.CUSTOMER), 201


@ns.route("/login")
class Login(Resource):
    @ns.expect(body(ns, LoginIn))
    @ns.response(200, "tokens", tokens_model)
    @documented(ns, 400, 401, 413, 429)
    def post(self):
        """Exchange e-mail and password for an access and a refresh token."""
        data = parse(LoginIn)
        with unit_of_work() as session:
            return sessions.login(session, data.email, data.password, client_address())


@ns.route("/refresh")
class Refresh(Resource):
    @ns.expect(body(ns, RefreshIn))
    @ns.response(200, "a new token pair; the old refresh token stops working", tokens_model)
    @documented(ns, 400, 401, 413)
    def post(self):
        """Rotate the refresh token. Reusing an old one revokes the whole session."""
        data = parse(RefreshIn)
        with unit_of_work() as session:
            return sessions.refresh(session, data.refresh_token)


@ns.route("/logout")
class Logout(Resource):
    @ns.doc(security="Bearer")
    @ns.response(204, "the session's refresh and access tokens stop working")
    @documented(ns, 401)
    @requires()
    def post(self):
        """End the session."""
        with unit_of_work() as session:
            sessions.logout(session, current().session_id)
        return "", 204


@ns.route("/me")
class Me(Resource):
    @ns.doc(security="Bearer")
    @ns.response(200, "the caller", user_model)
    @documented(ns, 401)
    @requires()
    def get(self):
        """Who the token belongs to."""
        with read_only() as session:
            return user_view(session.get(User, current().user_id))
