"""The authorization matrix: every endpoint of the Swagger spec x every kind of caller x
(where the path names an object) the caller's own object and another's, with the exact
status of ../shared/API.md: 401 without a valid token, 403 for a wrong role (whatever the
object), 404 for another customer's or tenant's object, else the endpoint's own answer.

The expected status is computed from one rule (``expected``), not written per cell; the
table below only says who each endpoint is for and what it answers. A new endpoint in the
spec without a row here fails ``test_the_matrix_covers_every_operation_of_the_spec``.

Callers: anonymous, customers A and B, the users of restaurants X and Y, the admin. A and X
are one "side" (A's orders are at X), B and Y the other. Mutations on one's own order use a
finished (CANCELLED) one, so they answer 409 and change nothing; on another's, a live one,
which must answer 404 and stay as it was.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

import jwt
import pytest
import requests

from app.core.settings import Settings
from tests import tls
from tests.support.client import DEFAULT_PASSWORD, Client, describe, expect, fresh_email

from .conftest import World, assert_error

pytestmark = pytest.mark.security

CALLERS = ("anonymous", "customer_a", "customer_b", "restaurant_x", "restaurant_y", "admin")
ROLE = {
    "customer_a": "customer",
    "customer_b": "customer",
    "restaurant_x": "restaurant",
    "restaurant_y": "restaurant",
    "admin": "admin",
}
SIDE_B = {"customer_b", "restaurant_y"}  # everyone else is on A's and X's side


@dataclass(frozen=True)
class Op:
    method: str
    path: str  # exactly as in the spec
    who: str  # public | any | customer | restaurant | admin
    ok: int  # the answer to the right caller on its own object
    obj: str | None = None  # live | done | item | restaurant: what the path id names
    body: Callable[[World], dict] | None = None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def menu_item(_: World) -> dict:
    return {"name": "Matrix Soup", "price_cents": 1500, "stock": 5}


def new_user(_: World) -> dict:
    return {"email": fresh_email("matrix"), "password": DEFAULT_PASSWORD, "name": "Matrix"}


OPS = [
    Op("POST", "/auth/register", "public", 201, body=new_user),
    Op("POST", "/auth/login", "public", 200),  # body: see call()
    Op("POST", "/auth/refresh", "public", 200),  # body: see call()
    Op("POST", "/auth/logout", "any", 204),  # token: a fresh session's, see call()
    Op("GET", "/auth/me", "any", 200),
    Op("GET", "/restaurants", "public", 200),
    Op("GET", "/restaurants/{restaurant_id}", "public", 200, obj="restaurant"),
    Op(
        "POST",
        "/orders",
        "customer",
        202,
        body=lambda w: {
            "restaurant_id": w.x.id,
            "items": [{"menu_item_id": w.x.item_id(0), "quantity": 1}],
            "delivery_address": "Rua da Matriz, 1",
            "payment": {"method": "card", "token": "tok_ok"},
        },
    ),
    Op("GET", "/orders", "customer", 200),
    Op("GET", "/orders/{order_id}", "customer", 200, obj="live"),
    Op("POST", "/orders/{order_id}/cancel", "customer", 409, obj="done", body=lambda w: {}),
    Op("GET", "/restaurant/orders", "restaurant", 200),
    Op("GET", "/restaurant/orders/{order_id}", "restaurant", 200, obj="live"),
    Op("POST", "/restaurant/orders/{order_id}/accept", "restaurant", 409, obj="done"),
    Op(
        "POST",
        "/restaurant/orders/{order_id}/reject",
        "restaurant",
        409,
        obj="done",
        body=lambda w: {"reason": "matrix"},
    ),
    Op(
        "POST",
        "/restaurant/orders/{order_id}/status",
        "restaurant",
        409,
        obj="done",
        body=lambda w: {"status": "PREPARING"},
    ),
    Op("GET", "/restaurant/menu", "restaurant", 200),
    Op("POST", "/restaurant/menu", "restaurant", 201, body=menu_item),
    Op(
        "PATCH",
        "/restaurant/menu/{item_id}",
        "restaurant",
        200,
        obj="item",
        body=lambda w: {"available": True},
    ),
    Op("PATCH", "/restaurant", "restaurant", 200, body=lambda w: {"is_open": True}),
    Op("GET", "/restaurant/events", "restaurant", 200),
    Op("POST", "/restaurant/events/ack", "restaurant", 204, body=lambda w: {"event_ids": []}),
    Op(
        "POST",
        "/admin/restaurants",
        "admin",
        201,
        body=lambda w: {"name": "Matrix Bistro", "cuisine": "matrix"},
    ),
    Op("POST", "/admin/restaurants/{restaurant_id}/users", "admin", 201, "restaurant", new_user),
    Op("GET", "/admin/orders", "admin", 200),
    Op("GET", "/admin/stats", "admin", 200),
    Op("GET", "/restaurant", "restaurant", 200),
    Op("GET", "/admin/ops/kafka", "admin", 200),
    Op("GET", "/admin/ops/celery", "admin", 200),
    Op("GET", "/admin/ops/outbox", "admin", 200),
    Op("GET", "/admin/ops/series", "admin", 200),
    Op("GET", "/admin/ops/dlq", "admin", 200),
    Op("GET", "/admin/ops/demo", "admin", 200),
    # The demo controls get bodies the admin's call refuses (400, checked before whether
    # COMANDA_DEMO is on), so the matrix never stops a process or starts traffic.
    Op("POST", "/admin/ops/dlq/replay", "admin", 400, body=lambda w: {"spots": []}),
    Op(
        "POST",
        "/admin/ops/demo/processes/{target}",
        "admin",
        400,
        body=lambda w: {"action": "reset"},
    ),
    Op("POST", "/admin/ops/demo/gateway-latency", "admin", 400, body=lambda w: {"ms": -1}),
    Op("POST", "/admin/ops/demo/traffic", "admin", 400, body=lambda w: {"rate": -1}),
]
OWNED = {"live", "done", "item"}  # objects that belong to one customer or tenant


def expected(op: Op, caller: str, own: bool) -> int:
    if op.who == "public":
        return op.ok
    if caller == "anonymous":
        return 401
    if op.who != "any" and ROLE[caller] != op.who:
        return 403
    if op.obj in OWNED and not own:
        return 404
    return op.ok


def cases():
    for op in OPS:
        for caller in CALLERS:
            for own in (True, False) if op.obj in OWNED else (True,):
                label = f"{op.key} | {caller} | {'own' if own else 'foreign'}"
                yield pytest.param(op, caller, own, id=label)


def client_of(world: World, caller: str) -> Client:
    return {
        "anonymous": world.a,
        "customer_a": world.a,
        "customer_b": world.b,
        "restaurant_x": world.x.client,
        "restaurant_y": world.y.client,
        "admin": world.admin,
    }[caller]


def object_id(world: World, op: Op, caller: str, own: bool) -> int:
    """The caller's own object (its side's), or the other side's. Another's order is always
    a live one: a foreign call must not be able to change it."""
    home_b = caller in SIDE_B
    side_b = home_b if own else not home_b
    kind = op.obj if own else ("live" if op.obj == "done" else op.obj)
    return {
        "live": world.live_by if side_b else world.live_ax,
        "done": world.done_by if side_b else world.done_ax,
        "item": (world.y if side_b else world.x).item_id(0),
        "restaurant": world.x.id,
    }[kind]


def call(world: World, new_client, op: Op, caller: str, own: bool) -> requests.Response:
    client = client_of(world, caller)
    path = op.path.lstrip("/")
    if op.obj:
        name = op.path[op.path.index("{") + 1 : op.path.index("}")]
        path = path.replace(f"{{{name}}}", str(object_id(world, op, caller, own)))
    kwargs: dict = {}
    if op.body:
        kwargs["json"] = op.body(world)
    if op.key == "POST /auth/login":  # the caller's own credentials (anonymous: A's)
        kwargs["json"] = {"email": client.email, "password": client.password}
    elif op.key in ("POST /auth/refresh", "POST /auth/logout"):
        fresh = new_client()  # a session of its own, so the caller's stays alive
        fresh.login(client.email, client.password)
        if op.key == "POST /auth/refresh":
            kwargs["json"] = {"refresh_token": fresh.refresh_token}
        elif caller != "anonymous":
            kwargs["token"] = fresh.access_token
    if caller == "anonymous":
        kwargs["token"] = None
    return client.request(op.method, path, **kwargs)


@pytest.mark.parametrize("op,caller,own", cases())
def test_authorization_matrix(world, new_client, op, caller, own):
    want = expected(op, caller, own)
    resp = call(world, new_client, op, caller, own)
    if want >= 400:
        assert_error(resp, want)
    else:
        assert resp.status_code == want, describe(resp)
        scoped(world, op, caller, resp)


def scoped(world: World, op: Op, caller: str, resp: requests.Response) -> None:
    """What a successful read shows is the caller's own, and only that."""
    body = resp.json() if resp.content else None
    mine_b = caller in SIDE_B
    own_orders = {world.live_by, world.done_by} if mine_b else {world.live_ax, world.done_ax}
    other_orders = {world.live_ax, world.done_ax} if mine_b else {world.live_by, world.done_by}
    tenant = world.y if mine_b else world.x
    if op.key == "GET /auth/me":
        assert body["id"] == client_of(world, caller).me()["id"]
        assert body["role"] == ROLE[caller]
    elif op.key in ("GET /orders", "GET /restaurant/orders"):
        ids = {o["id"] for o in body["items"]}
        assert own_orders <= ids and not ids & other_orders, (caller, ids)
    elif op.key == "GET /restaurant/menu":
        other = world.x if mine_b else world.y
        ids = {m["id"] for m in body}
        assert {i["id"] for i in tenant.items} <= ids, body
        assert not ids & {i["id"] for i in other.items}, body
    elif op.key == "GET /restaurant/events":
        assert not {e["order_id"] for e in body} & other_orders, body
    elif op.key == "PATCH /restaurant":
        assert body["id"] == tenant.id, body
    elif op.key == "POST /restaurant/menu":
        assert body["id"] in tenant.menu(), body


def test_the_matrix_covers_every_operation_of_the_spec(base_url):
    spec = tls.get(f"{base_url}/api/v1/swagger.json", timeout=30).json()
    in_spec = {
        f"{method.upper()} {path}"
        for path, ops in spec["paths"].items()
        for method in ops
        if method != "parameters"
    }
    assert in_spec == {op.key for op in OPS}


def test_the_spec_declares_bearer_auth_exactly_where_the_matrix_wants_a_token(base_url):
    spec = tls.get(f"{base_url}/api/v1/swagger.json", timeout=30).json()
    for op in OPS:
        declared = spec["paths"][op.path][op.method.lower()].get("security")
        assert bool(declared) == (op.who != "public"), op.key


def test_a_users_endpoint_on_an_unknown_restaurant_is_404(world):
    resp = world.admin.post("admin/restaurants/987654321/users", json=new_user(world))
    assert_error(resp, 404)


def test_foreign_calls_changed_nothing(world):
    """Runs after the matrix (file order): every foreign accept, reject, status and cancel
    was a 404, and the live orders are still waiting for their restaurant."""
    assert world.a.order(world.live_ax)["status"] == "AWAITING_ACCEPTANCE"
    assert world.b.order(world.live_by)["status"] == "AWAITING_ACCEPTANCE"
    assert world.x.menu()[world.x.item_id(0)]["available"] is True
    assert world.y.menu()[world.y.item_id(0)]["available"] is True


# ------------------------------------------------------------------------------ issue 8
# Tokens whose claims were re-signed (a leaked key, an insider): the caller is the session's
# user, so claims that disagree with it are a 401 on every protected operation, whatever
# the claimed role, tenant or user could have done.

STACK = Settings.from_env()
TAMPERED = {
    "customer_a as admin": ("customer_a", lambda w, c: {**c, "role": "admin"}),
    "customer_a as restaurant_x": (
        "customer_a",
        lambda w, c: {**c, "role": "restaurant", "restaurant_id": w.x.id},
    ),
    "customer_a as customer_b": ("customer_a", lambda w, c: {**c, "sub": str(w.b.user["id"])}),
    "restaurant_x as restaurant_y": ("restaurant_x", lambda w, c: {**c, "restaurant_id": w.y.id}),
    "restaurant_x as admin": (
        "restaurant_x",
        lambda w, c: {**c, "role": "admin", "restaurant_id": None},
    ),
    "admin as customer_b": (
        "admin",
        lambda w, c: {**c, "role": "customer", "sub": str(w.b.user["id"])},
    ),
}
# Who each tampered token pretends to be: its paths name that caller's own objects, so
# a guard that believed the claims would answer 200, 202 or 409, never 401.
POSING_AS = {
    "customer_a as admin": "admin",
    "customer_a as restaurant_x": "restaurant_x",
    "customer_a as customer_b": "customer_b",
    "restaurant_x as restaurant_y": "restaurant_y",
    "restaurant_x as admin": "admin",
    "admin as customer_b": "customer_b",
}
PROTECTED = [op for op in OPS if op.who != "public"]


@pytest.fixture(scope="module")
def tampered(world, new_client) -> dict[str, str]:
    """Each tampered token, made from a fresh session of its real caller (so even a guard
    that believed it could not log the world's own sessions out)."""
    tokens = {}
    for name, (caller, change) in TAMPERED.items():
        real = client_of(world, caller)
        fresh = new_client()
        fresh.login(real.email, real.password)
        claims = jwt.decode(fresh.access_token, options={"verify_signature": False})
        tokens[name] = jwt.encode(
            change(world, claims), STACK.jwt_secret, "HS256", headers={"kid": STACK.jwt_kid}
        )
    return tokens


@pytest.mark.parametrize("name", list(TAMPERED))
@pytest.mark.parametrize("op", PROTECTED, ids=[op.key for op in PROTECTED])
def test_a_token_whose_claims_disagree_with_its_session_is_401(world, tampered, op, name):
    path = op.path.lstrip("/")
    if op.obj:
        key = op.path[op.path.index("{") + 1 : op.path.index("}")]
        path = path.replace(f"{{{key}}}", str(object_id(world, op, POSING_AS[name], True)))
    body = op.body(world) if op.body else None
    resp = world.a.request(op.method, path, token=tampered[name], json=body)
    assert_error(resp, 401)


def test_tampered_tokens_changed_nothing(world):
    assert world.a.order(world.live_ax)["status"] == "AWAITING_ACCEPTANCE"
    assert world.b.order(world.live_by)["status"] == "AWAITING_ACCEPTANCE"
    expect(world.a.get("auth/me"), 200)  # the real sessions are alive


# The new 400s, for every caller: what a list does with a crafted cursor or a repeated
# parameter, and what intake does with an unknown restaurant or a total above the bound.
PAGED = ("/restaurants", "/orders", "/restaurant/orders", "/admin/orders")
LISTS = [op for op in OPS if op.method == "GET" and op.path in PAGED]


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


CURSORS = [b64("id:2147483648"), b64("id:-1"), b64("id:0"), b64("id:" + "9" * 10), "%%%"]


@pytest.mark.parametrize("cursor", CURSORS)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("op", LISTS, ids=[op.key for op in LISTS])
def test_a_crafted_cursor_is_400_on_every_list(world, op, caller, cursor):
    """Issue 8: base64 of id:2147483648 gave a 500 on every list, anonymous or not."""
    want = expected(op, caller, True)
    want = 400 if want == op.ok else want  # the caller's right to the list comes first
    token = {"token": None} if caller == "anonymous" else {}
    resp = client_of(world, caller).get(op.path.lstrip("/"), params={"cursor": cursor}, **token)
    assert_error(resp, want)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("op", LISTS, ids=[op.key for op in LISTS])
def test_a_repeated_query_parameter_is_400_for_everyone(world, op, caller):
    """One rule, before anything else: ?limit=1&limit=100 is refused, not read either way."""
    token = {"token": None} if caller == "anonymous" else {}
    resp = client_of(world, caller).get(f"{op.path.lstrip('/')}?limit=1&limit=100", **token)
    assert_error(resp, 400)


@pytest.fixture(scope="module")
def pricey(world) -> int:
    """A menu item at R$ 100,000 (the schema's highest price) at X."""
    return world.x.add_item("Caviar service", 10_000_000, 1000)["id"]


def intake_body(world: World, case: str, pricey: int) -> dict:
    body = OPS[[op.key for op in OPS].index("POST /orders")].body(world)
    if case == "unknown restaurant":
        body["restaurant_id"] = 2**31 - 1
    else:  # the order: 3 lines x 99 at R$ 100,000, 2,970,000,000 cents
        body["items"] = [{"menu_item_id": pricey, "quantity": 99}] * 3
    return body


@pytest.mark.parametrize("case", ["unknown restaurant", "total above the bound"])
@pytest.mark.parametrize("caller", CALLERS)
def test_intake_refuses_unknown_restaurants_and_totals_above_the_bound(world, pricey, caller, case):
    op = OPS[[op.key for op in OPS].index("POST /orders")]
    want = expected(op, caller, True)
    want = 400 if want == op.ok else want
    token = {"token": None} if caller == "anonymous" else {}
    resp = client_of(world, caller).post("orders", json=intake_body(world, case, pricey), **token)
    body = assert_error(resp, want)
    if want == 400:
        field = "restaurant_id" if case == "unknown restaurant" else "items"
        assert field in body["errors"], body
