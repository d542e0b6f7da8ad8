"""Hostile input over HTTP: body size, strict types and bounds on every field, malformed JSON
and wrong content types, all answered with the one JSON error shape and nothing internal."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from .conftest import assert_error

pytestmark = pytest.mark.security

MIB = 1024 * 1024
ADDRESS = "Rua da Seguranca, 1"
MISSING_ID = 987_654_321  # no such restaurant or item: nothing real is ever ordered here


def order(**changes) -> dict:
    body = {
        "restaurant_id": MISSING_ID,
        "items": [{"menu_item_id": MISSING_ID, "quantity": 1}],
        "delivery_address": ADDRESS,
        "payment": {"method": "card", "token": "tok_ok"},
    }
    body.update(changes)
    return body


def line(**changes) -> dict:
    return {"menu_item_id": MISSING_ID, "quantity": 1, **changes}


# ------------------------------------------------------------------------------ size


@pytest.mark.parametrize("path", ["auth/register", "auth/login", "orders", "admin/restaurants"])
def test_a_body_over_one_mib_is_413(world, path):
    client = world.admin if path.startswith("admin") else world.a
    big = json.dumps({"name": "x" * (MIB + 1)})
    resp = client.post(path, data=big, headers={"Content-Type": "application/json"})
    assert_error(resp, 413)


def test_a_chunked_body_over_one_mib_is_413(world):
    """No Content-Length to check up front: the limit must hold while reading."""

    def chunks():
        yield b'{"name": "'
        for _ in range(17):
            yield b"x" * 65536
        yield b'"}'

    resp = world.a.post("orders", data=chunks(), headers={"Content-Type": "application/json"})
    assert_error(resp, 413)


def test_a_body_just_under_the_limit_is_judged_on_its_content(world):
    body = json.dumps(order(delivery_address="x" * (MIB - 500)))
    assert len(body) < MIB
    errors = assert_error(
        world.a.post("orders", data=body, headers={"Content-Type": "application/json"}), 400
    )["errors"]
    assert "delivery_address" in errors


# ------------------------------------------------------------------------------ JSON itself


@pytest.mark.parametrize(
    "raw,content_type",
    [
        (b'{"restaurant_id": 1,', "application/json"),
        (b"\xff\xfe not utf-8", "application/json"),
        (b"[" * 50_000 + b"]" * 50_000, "application/json"),  # deep nesting: RecursionError
        (b'{"restaurant_id": 1' + b"0" * 5000 + b"}", "application/json"),  # > 4300 digits
        (b"NaN", "application/json"),
        (b"[]", "application/json"),
        (b'"a string"', "application/json"),
        (b"42", "application/json"),
        (b"null", "application/json"),
        (json.dumps(order()).encode(), "text/plain"),
        (json.dumps(order()).encode(), "application/x-www-form-urlencoded"),
        (b"restaurant_id=1", "application/x-www-form-urlencoded"),
        (json.dumps(order()).encode(), None),
        (b"", "application/json"),
    ],
    ids=[
        "truncated",
        "not-utf8",
        "deeply-nested",
        "huge-integer",
        "nan",
        "array",
        "string",
        "number",
        "null",
        "text-plain",
        "form-type",
        "form-body",
        "no-content-type",
        "empty",
    ],
)
def test_malformed_bodies_and_wrong_content_types_are_json_400(world, raw, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    assert_error(world.a.post("orders", data=raw, headers=headers), 400)


@pytest.mark.parametrize(
    "path,body",
    [
        ("auth/register", {"email": "nul@x.io", "password": "pass\u0000word", "name": "N"}),
        ("auth/register", {"email": "nul\u0000@x.io", "password": "password1", "name": "N"}),
        ("auth/login", {"email": "a\u0000@b.io", "password": "password1"}),
        ("auth/refresh", {"refresh_token": "abc\u0000"}),
        ("orders", order(delivery_address="Rua\u0000 1")),
        ("orders", order(items=[line(notes="\u0000")])),
    ],
)
def test_nul_characters_are_400_not_a_database_error(world, path, body):
    """PostgreSQL text cannot hold NUL: before the fix these were 500s."""
    anonymous = {"token": None} if path.startswith("auth") else {}
    assert_error(world.a.post(path, json=body, **anonymous), 400)


LONG_LOWER = "\u0130" * 240 + "@b.io"  # "İ" is two characters in lower case: 245 -> 485


@pytest.mark.parametrize(
    "path,body",
    [
        ("auth/register", {"email": LONG_LOWER, "password": "password1", "name": "n"}),
        ("auth/login", {"email": LONG_LOWER, "password": "password1"}),
        (
            "auth/register",
            {"email": " " * 10 + "a" * 240 + "@b.io ", "password": "p" * 8, "name": "n"},
        ),
        ("orders", order(delivery_address=" " + "a" * 300)),
    ],
    ids=["register-lowercase-grows", "login-lowercase-grows", "email-padded", "address-padded"],
)
def test_lengths_hold_before_and_after_normalising(world, path, body):
    """Lower-casing made e-mails outgrow their column (a 500 before the fix); padding made a
    too-long value fit after stripping (accepted, against the published maxLength)."""
    anonymous = {"token": None} if path.startswith("auth") else {}
    assert_error(world.a.post(path, json=body, **anonymous), 400)


@pytest.mark.parametrize(
    "path,body",
    [
        ("auth/login", '{"email": "x@y.io", "password": "\\ud800abcdefgh"}'),
        ("auth/register", '{"email": "x@y.io", "password": "\\udfffabcdefgh", "name": "n"}'),
        ("orders", json.dumps(order()).replace(ADDRESS, "\\ud800")),
    ],
)
def test_lone_surrogates_are_400(world, path, body):
    headers = {"Content-Type": "application/json"}
    assert_error(world.a.post(path, data=body, headers=headers), 400)


# ------------------------------------------------------------------------------ types and bounds

BAD_ORDERS = {
    "restaurant-id-string": order(restaurant_id="1"),
    "restaurant-id-float": order(restaurant_id=1.0),
    "restaurant-id-bool": order(restaurant_id=True),
    "restaurant-id-zero": order(restaurant_id=0),
    "restaurant-id-negative": order(restaurant_id=-1),
    "restaurant-id-over-int32": order(restaurant_id=2**31),
    "restaurant-id-huge": order(restaurant_id=10**30),
    "restaurant-id-null": order(restaurant_id=None),
    "no-items": order(items=[]),
    "51-items": order(items=[line() for _ in range(51)]),
    "items-not-a-list": order(items={"menu_item_id": 1, "quantity": 1}),
    "quantity-zero": order(items=[line(quantity=0)]),
    "quantity-100": order(items=[line(quantity=100)]),
    "quantity-negative": order(items=[line(quantity=-5)]),
    "quantity-string": order(items=[line(quantity="2")]),
    "quantity-float": order(items=[line(quantity=2.5)]),
    "quantity-integral-float": order(items=[line(quantity=2.0)]),
    "menu-item-id-zero": order(items=[line(menu_item_id=0)]),
    "menu-item-id-string": order(items=[line(menu_item_id="abc")]),
    "notes-301": order(items=[line(notes="n" * 301)]),
    "notes-number": order(items=[line(notes=5)]),
    "address-301": order(delivery_address="a" * 301),
    "address-blank": order(delivery_address="   "),
    "address-missing": {k: v for k, v in order().items() if k != "delivery_address"},
    "payment-cash": order(payment={"method": "cash", "token": "tok_ok"}),
    "payment-no-token": order(payment={"method": "card"}),
    "payment-token-121": order(payment={"method": "card", "token": "t" * 121}),
    "payment-string": order(payment="card"),
}


@pytest.mark.parametrize("body", BAD_ORDERS.values(), ids=BAD_ORDERS.keys())
def test_order_fields_are_strict_and_bounded(world, body):
    body_ = assert_error(world.a.post("orders", json=body), 400)
    assert body_.get("errors"), body_


def test_the_bounds_themselves_are_accepted(world):
    x = world.x
    body = order(
        restaurant_id=x.id,
        items=[line(menu_item_id=x.item_id(0), quantity=99, notes="n" * 300)],
        delivery_address="a" * 300,
    )
    resp = world.a.post("orders", json=body)
    assert resp.status_code == 202, resp.text  # rejected later by the pipeline (stock), not here


BAD_BODIES = [
    ("restaurant", "POST", "restaurant/menu", {"name": "x" * 121, "price_cents": 1, "stock": 1}),
    ("restaurant", "POST", "restaurant/menu", {"name": "ok", "price_cents": -1, "stock": 1}),
    ("restaurant", "POST", "restaurant/menu", {"name": "ok", "price_cents": 10**8, "stock": 1}),
    ("restaurant", "POST", "restaurant/menu", {"name": "ok", "price_cents": "1", "stock": 1}),
    ("restaurant", "POST", "restaurant/menu", {"name": "ok", "price_cents": 1, "stock": -1}),
    ("restaurant", "POST", "restaurant/menu", {"name": "", "price_cents": 1, "stock": 1}),
    ("restaurant", "PATCH", "restaurant/menu/{item}", {"available": "yes"}),
    ("restaurant", "PATCH", "restaurant/menu/{item}", {"stock": 1.5}),
    ("restaurant", "PATCH", "restaurant", {"is_open": 1}),
    ("restaurant", "PATCH", "restaurant", {"acceptance_seconds": 0}),
    ("restaurant", "PATCH", "restaurant", {"acceptance_seconds": 86_401}),
    ("restaurant", "POST", "restaurant/orders/{order}/status", {"status": "preparing"}),
    ("restaurant", "POST", "restaurant/orders/{order}/status", {"status": "CONFIRMED"}),
    ("restaurant", "POST", "restaurant/orders/{order}/status", {"status": "CANCELLED"}),
    ("restaurant", "POST", "restaurant/orders/{order}/reject", {"reason": ""}),
    ("restaurant", "POST", "restaurant/orders/{order}/reject", {"reason": "r" * 301}),
    ("restaurant", "POST", "restaurant/events/ack", {"event_ids": "abc"}),
    ("restaurant", "POST", "restaurant/events/ack", {"event_ids": ["x" * 65]}),
    ("restaurant", "POST", "restaurant/events/ack", {"event_ids": ["a"] * 1001}),
    ("customer", "POST", "orders/{order}/cancel", {"reason": "r" * 301}),
    ("customer", "POST", "orders/{order}/cancel", {"reason": 1}),
    ("admin", "POST", "admin/restaurants", {"name": "x" * 121}),
    ("admin", "POST", "admin/restaurants", {"name": "ok", "acceptance_seconds": "60"}),
    ("admin", "POST", "admin/restaurants/{restaurant}/users", {"email": "no-at", "name": "n"}),
    ("anonymous", "POST", "auth/register", {"email": "a@b.io", "password": "p" * 73, "name": "n"}),
    ("anonymous", "POST", "auth/register", {"email": "a@b.io", "password": "é" * 37, "name": "n"}),
    ("anonymous", "POST", "auth/register", {"email": "a@b.io", "password": "short", "name": "n"}),
    ("anonymous", "POST", "auth/register", {"email": "a" * 250 + "@b.io", "password": "p" * 9}),
    ("anonymous", "POST", "auth/login", {"email": "a@b.io", "password": "p" * 201}),
    ("anonymous", "POST", "auth/login", {"email": ["a@b.io"], "password": "password"}),
    ("anonymous", "POST", "auth/refresh", {"refresh_token": ""}),
    ("anonymous", "POST", "auth/refresh", {"refresh_token": "r" * 201}),
]


@pytest.mark.parametrize("who,method,path,body", BAD_BODIES)
def test_every_body_field_is_strict_and_bounded(world, who, method, path, body):
    client = {"restaurant": world.x.client, "customer": world.a, "admin": world.admin}.get(
        who, world.a
    )
    path = path.format(item=world.x.item_id(0), order=world.live_ax, restaurant=world.x.id)
    anonymous = {"token": None} if who == "anonymous" else {}
    assert_error(client.request(method, path, json=body, **anonymous), 400)


QUERIES = [
    ("customer", "orders?limit=0"),
    ("customer", "orders?limit=101"),
    ("customer", "orders?limit=-1"),
    ("customer", "orders?limit=1.5"),
    ("customer", "orders?limit=abc"),
    ("customer", "orders?limit=%C2%B2"),  # "²": isdigit() but not an int
    ("customer", "orders?limit=" + "1" * 5000),
    ("customer", "orders?status=placed"),
    ("customer", "orders?status=%00"),
    ("customer", "orders?cursor=%%%"),
    ("customer", "orders?cursor=aWQ6"),  # "id:"
    ("customer", "orders?cursor=aWQ6LTE"),  # "id:-1"
    ("customer", "orders?cursor=aWQ6OTk5OTk5OTk5OTk5"),  # "id:999999999999"
    ("customer", "orders?cursor=eDox"),  # "x:1"
    ("customer", "orders?cursor=aWQ6MjE0NzQ4MzY0OA"),  # "id:2147483648": was a 500 (issue 8)
    ("anonymous", "restaurants?cursor=aWQ6MjE0NzQ4MzY0OA"),
    ("restaurant", "restaurant/orders?cursor=aWQ6MjE0NzQ4MzY0OA"),
    ("admin", "admin/orders?cursor=aWQ6MjE0NzQ4MzY0OA"),
    ("anonymous", "restaurants?cursor=aWQ6MA"),  # "id:0"
    ("customer", "orders?limit=1&limit=100"),  # a repeated parameter (one rule: 400)
    ("anonymous", "restaurants?cursor=&cursor="),
    ("anonymous", "restaurants?limit=1000"),
    ("anonymous", "restaurants?cursor=%C3%A1z"),
    ("restaurant", "restaurant/orders?limit=0"),
    ("restaurant", "restaurant/orders?status=NOPE"),
    ("admin", "admin/orders?restaurant_id=abc"),
    ("admin", "admin/orders?restaurant_id=0"),
    ("admin", "admin/orders?restaurant_id=99999999999"),
    ("admin", "admin/stats?from=yesterday"),
    ("admin", "admin/stats?from=2026-01-01T00:00:00"),  # no time zone
    ("admin", "admin/stats?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z"),
]


@pytest.mark.parametrize("who,path", QUERIES)
def test_query_strings_are_strict_and_bounded(world, who, path):
    client = {"restaurant": world.x.client, "customer": world.a, "admin": world.admin}.get(
        who, world.a
    )
    anonymous = {"token": None} if who == "anonymous" else {}
    assert_error(client.get(path, **anonymous), 400)


@pytest.mark.parametrize(
    "path", ["orders/2147483648", "orders/-1", "orders/abc", "orders/1e3", "restaurants/0x1"]
)
def test_out_of_range_or_malformed_path_ids_are_json_404(world, path):
    assert_error(world.a.get(path), 404)


def test_an_oversized_idempotency_key_is_400(world):
    resp = world.a.post("orders", json=order(), headers={"Idempotency-Key": "k" * 121})
    assert_error(resp, 400)


# ------------------------------------------------------------------------------ when it breaks


@pytest.mark.parametrize(
    "exc,status",
    [
        (RuntimeError('Traceback (most recent call last): File "app/x.py"'), 500),
        (KeyError("password_hash"), 500),
        (
            ProgrammingError("SELECT password_hash FROM users", {}, Exception("psycopg: boom")),
            500,
        ),
        (OperationalError("SELECT 1", {}, Exception("postgres is down at 127.0.0.1")), 503),
    ],
    ids=["runtime", "key", "sql-bug", "database-down"],
)
def test_an_unexpected_error_is_answered_without_any_detail(inproc, exc, status):
    """What a client sees when the code itself fails: the one shape, nothing from inside."""
    client = inproc()

    def explode():
        raise exc

    client.application.add_url_rule("/api/v1/explode", "explode", explode)
    resp = client.get("/api/v1/explode")
    assert resp.status_code == status
    assert (
        resp.get_json()
        == {
            500: {"message": "internal error"},
            503: {"message": "service temporarily unavailable"},
        }[status]
    )
    assert resp.headers["Content-Type"] == "application/json"


def test_readyz_names_what_is_down_but_not_why(inproc, monkeypatch):
    from app.api import ops

    class NoBrokersAvailable(Exception):  # what kafka-python raises
        pass

    def kafka_down():
        raise NoBrokersAvailable("kafka at 127.0.0.1:59092")

    monkeypatch.setitem(ops.CHECKS, "kafka", kafka_down)
    monkeypatch.setitem(ops.CHECKS, "database", lambda: None)
    monkeypatch.setitem(ops.CHECKS, "rabbitmq", lambda: None)
    resp = inproc().get("/readyz")
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    body = resp.get_json()
    assert body["checks"] == {"database": "ok", "kafka": "down", "rabbitmq": "ok"}
    assert "kafka" in body["message"] and "NoBrokers" not in resp.get_data(as_text=True)


# ------------------------------------------------------------------------------ issue 8


@pytest.mark.parametrize(
    "raw,field",
    [
        (b'{"reason": "a", "reason": "b"}', "reason"),
        (b'{"payment": {"method": "card", "method": "card"}}', "method"),
    ],
)
def test_a_key_repeated_in_a_json_object_is_400(world, raw, field):
    """One rule (SECURITY.md): a repeated key is refused, not "the last one wins"."""
    resp = world.a.post(
        f"orders/{world.done_ax}/cancel", data=raw, headers={"Content-Type": "application/json"}
    )
    assert assert_error(resp, 400)["errors"] == {field: "repeated"}


def test_an_order_for_a_restaurant_that_does_not_exist_yet_is_refused(world, make_restaurant):
    """Issue 8: an order for the next restaurant id got 202; the restaurant created next then
    received it, and its staff saw the stranger's address."""
    newest = world.a.get_json("restaurants?limit=1", token=None)["items"][0]["id"]  # newest first
    planted = order(restaurant_id=newest + 1, items=[line(menu_item_id=world.x.item_id(0))])
    body = assert_error(world.a.post("orders", json=planted), 400)
    assert "restaurant_id" in body["errors"]
    created = make_restaurant()
    assert created.id > newest
    assert created.client.get_json("restaurant/orders")["items"] == []
    assert created.events() == []


def test_an_order_total_past_32_bits_is_a_clean_400(world):
    """Issue 8: 3 lines x 99 of a R$ 100,000 item overflowed the 32-bit total and the
    database error reached the timeline. Now the total's bound refuses it at intake."""
    item = world.x.add_item("Gold leaf", 10_000_000, 1000)["id"]
    big = order(restaurant_id=world.x.id, items=[line(menu_item_id=item, quantity=99)] * 3)
    assert "items" in assert_error(world.a.post("orders", json=big), 400)["errors"]
