"""Schemathesis hooks for the fuzz run, loaded through ``SCHEMATHESIS_HOOKS`` (see fuzz.py).

Two endpoints need care, or the fuzzer would sabotage the run and the suites after it:

- ``POST /auth/login``: every failed login counts against the client address, and all tests
  come from 127.0.0.1, where 100 failures in 15 minutes lock every login out. So the e-mail of
  each schema-valid body is replaced by one throwaway address: its wrong guesses lock that
  account after 10 failures, and a locked account's attempts are answered 429 without being
  counted again. The password, and every invalid body, is still the fuzzer's own.
- ``POST /auth/logout`` with the run's token would end the session every other request
  uses; it gets a token of a fresh session of another account instead.

And to reach past "not found", half the generated ids (the even ones, of the valid ones)
are swapped for ids of the run's real objects (COMANDA_FUZZ_IDS): its restaurant, menu
items and orders, so bodies are fuzzed against objects in every state.

The token goes on through auth providers rather than a fixed header, so the checks that
drop or spoil it (``ignored_auth``, ``missing_required_header``) really send none.

Issue 8's cases: half the generated cursors (the even-length ones) are swapped for crafted
ones (``id:2147483648``, negative, zero, huge), which must be a documented 400, never a
5xx; and the ``tampered`` run (COMANDA_FUZZ_TAMPER) re-signs its customer's token as an
admin with the stack's own key, which every operation that requires a token must refuse
(check ``tampered_token_is_refused``).
"""

from __future__ import annotations

import base64
import json
import os

import jwt
import schemathesis
from hypothesis.internal import lambda_sources

from tests import tls

# CPython 3.11.7's ast.parse can raise SystemError ("AST constructor recursion depth
# mismatch", a CPython bug fixed in later 3.11 releases) when called deep in a stack, which
# hypothesis does to describe a lambda for a repr. The description is cosmetic, so such a
# failure gives a generic one instead of aborting the operation's tests.
_describe_lambda = lambda_sources._lambda_description


def _lambda_description(f, *args, **kwargs):
    try:
        return _describe_lambda(f, *args, **kwargs)
    except SystemError:
        return "lambda: <unknown>"


lambda_sources._lambda_description = _lambda_description

LOGIN_EMAIL = os.environ.get("COMANDA_FUZZ_LOGIN_EMAIL", "login-fuzz@security.comanda.test")
IDS: dict[str, list[int]] = json.loads(os.environ.get("COMANDA_FUZZ_IDS") or "{}")
MAX_ID = 2**31 - 1


def _real(name: str, value: object) -> object:
    known = IDS.get(name)
    if known and type(value) is int and 0 <= value <= MAX_ID and value % 2 == 0:
        return known[value // 2 % len(known)]
    return value


# Who this run is (none for the anonymous one), and the account logout spends sessions of.
CALLER = (os.environ.get("COMANDA_FUZZ_EMAIL"), os.environ.get("COMANDA_FUZZ_PASSWORD"))
LOGOUT = (
    os.environ.get("COMANDA_FUZZ_LOGOUT_EMAIL"),
    os.environ.get("COMANDA_FUZZ_LOGOUT_PASSWORD"),
)


TAMPER = bool(os.environ.get("COMANDA_FUZZ_TAMPER"))


def _token(email: str, password: str) -> str:
    resp = tls.post(
        f"{os.environ['COMANDA_URL']}/api/v1/auth/login",
        json={"email": email, "password": password},
        timeout=30,
    )
    resp.raise_for_status()
    token = resp.json()["access_token"]
    return _as_admin(token) if TAMPER else token


def _as_admin(token: str) -> str:
    """The same session's token, its claims changed to an admin's and signed again with the
    stack's key: what a leaked key would let anyone do."""
    claims = jwt.decode(token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(token)["kid"]
    claims.update(role="admin", restaurant_id=None)
    return jwt.encode(claims, os.environ["COMANDA_JWT_SECRET"], "HS256", headers={"kid": kid})


# What may answer a tampered token before the guard runs: routing (404, 405) and the
# repeated-parameter rule (400). Anything else means the claims were believed.
BEFORE_THE_GUARD = {400, 401, 404, 405}


@schemathesis.check
def tampered_token_is_refused(ctx, response, case):
    if not TAMPER or not (case.operation.definition.raw or {}).get("security"):
        return None
    if response.request.method.upper() != case.operation.method.upper():
        return None  # e.g. the coverage phase's OPTIONS: a CORS preflight, no view runs
    sent = (case.headers or {}).get("Authorization") or response.request.headers.get(
        "Authorization"
    )
    if sent and response.status_code not in BEFORE_THE_GUARD:
        raise AssertionError(
            f"a token re-signed as admin got {response.status_code}, not 401: "
            "the guard believed claims that disagree with the session"
        )
    return None


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


CRAFTED_CURSORS = [
    _b64(f"id:{value}") for value in ("2147483648", "-1", "0", "99999999999", "4294967296")
]


@schemathesis.hook
def map_query(context, query):
    if isinstance(query, dict) and isinstance(query.get("cursor"), str):
        cursor = query["cursor"]
        if len(cursor) % 2 == 0:
            return {**query, "cursor": CRAFTED_CURSORS[len(cursor) // 2 % len(CRAFTED_CURSORS)]}
    return query


class _Bearer:
    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


# The first provider that returns a token wins; in the anonymous run neither does. The
# caller logs in again every 10 minutes (tokens live 15), never on a 401: a 401 is an
# answer to check.
@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(path="/auth/logout")
class FreshSession(_Bearer):
    def get(self, case, ctx):
        return _token(*LOGOUT) if CALLER[0] else None


@schemathesis.auth(refresh_interval=600, retry_on=[])
class CallerToken(_Bearer):
    def get(self, case, ctx):
        return _token(*CALLER) if CALLER[0] else None


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    if not isinstance(path_parameters, dict):
        return path_parameters
    return {name: _real(name, value) for name, value in path_parameters.items()}


@schemathesis.hook("map_body")
def real_ids_in_orders(context, body):
    if context.operation.path == "/orders" and isinstance(body, dict):
        body = dict(body)
        if "restaurant_id" in body:
            body["restaurant_id"] = _real("restaurant_id", body["restaurant_id"])
        if isinstance(body.get("items"), list):
            body["items"] = [
                {**line, "menu_item_id": _real("item_id", line.get("menu_item_id"))}
                if isinstance(line, dict) and "menu_item_id" in line
                else line
                for line in body["items"]
            ]
    return body


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.path == "/auth/login" and isinstance(case.body, dict):
        email = case.body.get("email")
        if isinstance(email, str) and len(email) <= 254:  # only where the e-mail is valid
            case.body["email"] = LOGIN_EMAIL
