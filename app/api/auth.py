"""Accounts and sessions: register, login, refresh, logout, me."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource, fields

from app.api import replies
from app.api.docs import body, documented
from app.api.guards import current, requires
from app.api.schemas import LoginIn, RefreshIn, RegisterIn
from app.api.validation import parse
from app.core.db import read_only, unit_of_work
from app.core.models import User
from roles import Role, accounts, sessions

PATH = "/auth"
ns = Namespace("auth", description="Accounts, login and tokens")

user_model = replies.user_model(ns)
tokens_model = ns.model(
    "Tokens",
    {
        "access_token": fields.String(),
        "refresh_token": fields.String(),
        "token_type": fields.String(example="Bearer"),
        "expires_in": fields.Integer(example=900),
    },
)


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
        user = accounts.create_user(data.email, data.password, data.name, Role.CUSTOMER)
        return replies.user_view(user), 201


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
            return replies.user_view(session.get(User, current().user_id))
