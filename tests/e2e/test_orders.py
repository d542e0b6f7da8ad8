"""Customer orders: placing, validation, pricing, listing, idempotency, cancelling and the
business-rule rejections decided by the pipeline."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import datetime

import pytest

from tests.support.client import DEFAULT_ADDRESS, describe, expect, timeline_events

pytestmark = pytest.mark.e2e

MISSING_ID = 987_654_321


def parse_time(raw: str) -> datetime:
    assert isinstance(raw, str) and raw, raw
    parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0, raw
    return parsed


# --------------------------------------------------------------------------- placing


def test_place_order_and_pipeline_reaches_awaiting_acceptance(customer, make_restaurant):
    rest = make_restaurant(items=[("Feijoada", 4590, 20), ("Caipirinha", 1800, 20)])
    burger, drink = rest.item_id(0), rest.item_id(1)
    resp = customer.place_order(
        rest.id,
        [
            # client-sent prices and names must be ignored
            {
                "menu_item_id": burger,
                "quantity": 2,
                "notes": "sem cebola",
                "unit_price_cents": 1,
                "name": "free food",
            },
            {"menu_item_id": drink, "quantity": 3, "unit_price_cents": 0},
        ],
        extra={"total_cents": 1, "status": "DELIVERED", "customer_id": 1, "reason": "x"},
    )
    assert resp.status_code == 202, describe(resp)
    order = resp.json()
    order_id = order["id"]
    assert isinstance(order_id, int)
    location = resp.headers.get("Location", "")
    assert location.endswith(f"/api/v1/orders/{order_id}"), location
    assert location in (f"/api/v1/orders/{order_id}", customer.url(f"orders/{order_id}"))
    assert order["status"] == "PLACED"
    assert order["restaurant_id"] == rest.id
    assert order["customer_id"] == customer.user["id"]
    assert order["delivery_address"] == DEFAULT_ADDRESS
    assert set(order) >= {
        "id",
        "status",
        "reason",
        "restaurant_id",
        "customer_id",
        "items",
        "total_cents",
        "delivery_address",
        "payment",
        "created_at",
        "updated_at",
        "timeline",
    }
    parse_time(order["created_at"])

    done = customer.wait_for_status(order_id, {"AWAITING_ACCEPTANCE", "REJECTED", "CANCELLED"})
    assert done["status"] == "AWAITING_ACCEPTANCE", (done["status"], done.get("reason"))
    assert done["reason"] is None

    events = timeline_events(done)
    for step in ("validated", "stock_reserved", "payment_authorized"):
        assert step in events, events
    assert (
        events.index("validated")
        < events.index("stock_reserved")
        < events.index("payment_authorized")
    ), events
    for entry in done["timeline"]:
        assert set(entry) >= {"at", "status", "event", "detail"}, entry
        parse_time(entry["at"])

    # prices come from the menu
    lines = {line["menu_item_id"]: line for line in done["items"]}
    assert lines[burger]["unit_price_cents"] == 4590
    assert lines[burger]["quantity"] == 2
    assert lines[burger]["name"] == "Feijoada"
    assert lines[burger]["notes"] == "sem cebola"
    assert lines[drink]["unit_price_cents"] == 1800
    assert lines[drink]["quantity"] == 3
    assert lines[drink]["name"] == "Caipirinha"
    expected_total = 4590 * 2 + 1800 * 3
    assert done["total_cents"] == expected_total
    assert done["payment"]["status"] == "AUTHORIZED"
    assert done["payment"]["amount_cents"] == expected_total
    assert done["customer_id"] == customer.user["id"]

    # stock is reserved
    menu = rest.menu()
    assert menu[burger]["stock"] == 18
    assert menu[drink]["stock"] == 17

    # the restaurant sees the same order
    seen = rest.client.order(order_id)
    assert seen["status"] == "AWAITING_ACCEPTANCE"
    assert seen["total_cents"] == expected_total


# --------------------------------------------------------------------------- validation


@pytest.fixture(scope="module")
def pastel_shop(make_restaurant):
    return make_restaurant(items=[("Pastel", 900, 100)])


@pytest.fixture(scope="module")
def buyer(make_customer):
    return make_customer()


def _valid_body(pastel_shop) -> dict:
    return {
        "restaurant_id": pastel_shop.id,
        "items": [{"menu_item_id": pastel_shop.item_id(0), "quantity": 1, "notes": "ok"}],
        "delivery_address": DEFAULT_ADDRESS,
        "payment": {"method": "card", "token": "tok_ok"},
    }


def _drop(key):
    return lambda body: body.pop(key)


def _set(path, value):
    def mutate(body):
        target = body
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return mutate


def _lines(n):
    return lambda body: body.__setitem__(
        "items", [dict(body["items"][0], notes=None) for _ in range(n)]
    )


INVALID_BODIES = {
    # name: (mutation, a string the `errors` keys should mention)
    "missing-restaurant_id": (_drop("restaurant_id"), "restaurant_id"),
    "missing-items": (_drop("items"), "items"),
    "missing-delivery_address": (_drop("delivery_address"), "delivery_address"),
    "missing-payment": (_drop("payment"), "payment"),
    "missing-menu_item_id": (lambda b: b["items"][0].pop("menu_item_id"), "menu_item_id"),
    "missing-quantity": (lambda b: b["items"][0].pop("quantity"), "quantity"),
    "missing-payment-token": (lambda b: b["payment"].pop("token"), "token"),
    "empty-items": (_set(["items"], []), "items"),
    "quantity-0": (_set(["items", 0, "quantity"], 0), "quantity"),
    "quantity-100": (_set(["items", 0, "quantity"], 100), "quantity"),
    "quantity-negative": (_set(["items", 0, "quantity"], -1), "quantity"),
    "quantity-float": (_set(["items", 0, "quantity"], 1.5), "quantity"),
    "quantity-string": (_set(["items", 0, "quantity"], "two"), "quantity"),
    "51-lines": (_lines(51), "items"),
    "items-not-a-list": (_set(["items"], "pastel"), "items"),
    "item-not-an-object": (_set(["items"], [7]), "items"),
    "restaurant_id-string": (_set(["restaurant_id"], "abc"), "restaurant_id"),
    "restaurant_id-null": (_set(["restaurant_id"], None), "restaurant_id"),
    "menu_item_id-string": (_set(["items", 0, "menu_item_id"], "abc"), "menu_item_id"),
    "address-too-long": (_set(["delivery_address"], "x" * 301), "delivery_address"),
    "address-empty": (_set(["delivery_address"], ""), "delivery_address"),
    "address-not-string": (_set(["delivery_address"], {"street": "x"}), "delivery_address"),
    "notes-too-long": (_set(["items", 0, "notes"], "n" * 301), "notes"),
    "payment-method-not-card": (_set(["payment", "method"], "cash"), "method"),
    "payment-not-object": (_set(["payment"], "tok_ok"), "payment"),
}


@pytest.mark.parametrize("case", list(INVALID_BODIES), ids=list(INVALID_BODIES))
def test_invalid_order_body_is_400_with_errors(buyer, pastel_shop, case):
    mutate, field = INVALID_BODIES[case]
    body = copy.deepcopy(_valid_body(pastel_shop))
    mutate(body)
    resp = buyer.post("orders", json=body)
    assert resp.status_code == 400, describe(resp)
    reply = resp.json()
    assert reply.get("message"), reply
    errors = reply.get("errors")
    assert isinstance(errors, dict) and errors, reply
    assert any(field in str(key) for key in errors), f"no error names {field!r}: {errors}"
    # and no order was created
    assert buyer.get_json("orders")["items"] == []


def test_boundaries_are_accepted(buyer, pastel_shop, make_customer):
    """50 lines, quantity 99, 300-char address and notes are all valid bodies (202)."""
    other = make_customer()
    body = _valid_body(pastel_shop)
    body["items"] = [{"menu_item_id": pastel_shop.item_id(0), "quantity": 1} for _ in range(50)]
    body["delivery_address"] = "a" * 300
    resp = other.post("orders", json=body)
    assert resp.status_code == 202, describe(resp)

    body = _valid_body(pastel_shop)
    body["items"][0]["quantity"] = 99
    body["items"][0]["notes"] = "n" * 300
    resp = other.post("orders", json=body)
    assert resp.status_code == 202, describe(resp)


def test_non_json_body_is_400(buyer):
    resp = buyer.post("orders", data="{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400, describe(resp)
    assert resp.json().get("message")


def test_json_array_body_is_400(buyer):
    resp = buyer.post("orders", json=[{"restaurant_id": 1}])
    assert resp.status_code == 400, describe(resp)
    assert resp.json().get("message")


def test_wrong_content_type_is_400(buyer, pastel_shop):
    resp = buyer.post(
        "orders",
        data=json.dumps(_valid_body(pastel_shop)),
        headers={"Content-Type": "text/plain"},
    )
    assert resp.status_code == 400, describe(resp)
    assert resp.json().get("message")
    assert buyer.get_json("orders")["items"] == []


def test_body_over_1mib_is_413(buyer, pastel_shop):
    body = _valid_body(pastel_shop)
    body["padding"] = "x" * (1024 * 1024 + 10)
    resp = buyer.post("orders", json=body)
    assert resp.status_code == 413, describe(resp)


def test_placing_requires_a_token(api, pastel_shop):
    resp = api.post("orders", json=_valid_body(pastel_shop), token=None)
    assert resp.status_code == 401, describe(resp)


# --------------------------------------------------------------------------- listing


def test_list_orders_newest_first_with_pagination_and_status_filter(customer, restaurant):
    first = customer.place(restaurant.id, [(restaurant.item_id(0), 1)])
    second = customer.place(
        restaurant.id, [(restaurant.item_id(1), 1)], payment_token="tok_decline"
    )
    third = customer.place(restaurant.id, [(restaurant.item_id(0), 2)])
    ids = [first["id"], second["id"], third["id"]]
    assert ids == sorted(ids)

    for oid in ids:
        customer.wait_for_status(oid, {"AWAITING_ACCEPTANCE", "REJECTED", "CANCELLED"})

    page = customer.get_json("orders")
    assert [o["id"] for o in page["items"]] == ids[::-1]
    assert page["next_cursor"] is None
    created = [parse_time(o["created_at"]) for o in page["items"]]
    assert created == sorted(created, reverse=True)
    for order in page["items"]:
        assert order["customer_id"] == customer.user["id"]
        assert set(order) >= {"id", "status", "restaurant_id", "total_cents", "created_at"}

    page1 = customer.get_json("orders", params={"limit": 2})
    assert [o["id"] for o in page1["items"]] == [ids[2], ids[1]]
    assert page1["next_cursor"]
    page2 = customer.get_json("orders", params={"limit": 2, "cursor": page1["next_cursor"]})
    assert [o["id"] for o in page2["items"]] == [ids[0]]
    assert page2["next_cursor"] is None

    rejected = customer.get_json("orders", params={"status": "REJECTED"})
    assert [o["id"] for o in rejected["items"]] == [ids[1]]
    assert rejected["items"][0]["reason"] == "payment_declined"
    waiting = customer.get_json("orders", params={"status": "AWAITING_ACCEPTANCE"})
    assert [o["id"] for o in waiting["items"]] == [ids[2], ids[0]]
    assert customer.get_json("orders", params={"status": "DELIVERED"})["items"] == []


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"limit": "x"}, {"cursor": "%%%garbage"}, {"status": "EATEN"}],
    ids=["limit-0", "limit-101", "limit-text", "bad-cursor", "bad-status"],
)
def test_list_orders_bad_query_is_400(buyer, params):
    resp = buyer.get("orders", params=params)
    assert resp.status_code == 400, describe(resp)
    assert resp.json().get("message")


def test_get_unknown_order_is_404(buyer):
    resp = buyer.get(f"orders/{MISSING_ID}")
    assert resp.status_code == 404, describe(resp)


# --------------------------------------------------------------------------- idempotency


def test_idempotency_key_replays_the_same_order(customer, make_customer, restaurant):
    key = str(uuid.uuid4())
    item = restaurant.item_id(0)
    first = customer.place_order(restaurant.id, [(item, 1)], idempotency_key=key)
    assert first.status_code == 202, describe(first)
    order_id = first.json()["id"]

    again = customer.place_order(restaurant.id, [(item, 1)], idempotency_key=key)
    assert again.status_code == 202, describe(again)
    assert again.json()["id"] == order_id
    assert again.headers.get("Location", "").endswith(f"/api/v1/orders/{order_id}")

    # still the same after the pipeline moved the order on
    customer.wait_for_status(order_id, "AWAITING_ACCEPTANCE")
    third = customer.place_order(restaurant.id, [(item, 1)], idempotency_key=key)
    assert third.status_code == 202, describe(third)
    assert third.json()["id"] == order_id

    # same key, different body: 409, and nothing new
    other = customer.place_order(restaurant.id, [(item, 2)], idempotency_key=key)
    assert other.status_code == 409, describe(other)
    assert other.json().get("message")

    orders = customer.get_json("orders")["items"]
    assert [o["id"] for o in orders] == [order_id]
    assert restaurant.stock(item) == 49  # reserved once

    # the key belongs to the customer: another customer using it gets their own order
    stranger = make_customer()
    theirs = stranger.place_order(restaurant.id, [(item, 1)], idempotency_key=key)
    assert theirs.status_code == 202, describe(theirs)
    assert theirs.json()["id"] != order_id


def test_without_idempotency_key_each_request_is_an_order(customer, restaurant):
    a = customer.place(restaurant.id, [(restaurant.item_id(0), 1)])
    b = customer.place(restaurant.id, [(restaurant.item_id(0), 1)])
    assert a["id"] != b["id"]


# --------------------------------------------------------------------------- cancelling


def test_cancel_before_confirmation(customer, make_restaurant):
    rest = make_restaurant(items=[("Coxinha", 750, 10)])
    item = rest.item_id(0)
    order = customer.place(rest.id, [(item, 3)])
    customer.wait_for_status(order["id"], "AWAITING_ACCEPTANCE")
    assert rest.stock(item) == 7

    resp = customer.post(f"orders/{order['id']}/cancel", json={"reason": "changed my mind"})
    assert resp.status_code == 202, describe(resp)

    done = customer.wait_for_status(order["id"], {"CANCELLED", "CONFIRMED", "REJECTED"})
    assert done["status"] == "CANCELLED"
    assert done["reason"] == "customer_cancelled"
    customer.wait_for_payment(order["id"], "VOIDED")
    rest.wait_stock(item, 10)

    # cancelling again is a state conflict; so is accepting a cancelled order
    again = customer.post(f"orders/{order['id']}/cancel", json={})
    assert again.status_code == 409, describe(again)
    accept = rest.accept(order["id"])
    assert accept.status_code == 409, describe(accept)


def test_cancel_without_body(customer, restaurant):
    order = customer.place(restaurant.id, [(restaurant.item_id(0), 1)])
    customer.wait_for_status(order["id"], "AWAITING_ACCEPTANCE")
    resp = customer.post(f"orders/{order['id']}/cancel")
    assert resp.status_code == 202, describe(resp)
    done = customer.wait_for_status(order["id"], {"CANCELLED", "CONFIRMED", "REJECTED"})
    assert (done["status"], done["reason"]) == ("CANCELLED", "customer_cancelled")


def test_cancel_after_accept_is_409(customer, restaurant):
    order = customer.place(restaurant.id, [(restaurant.item_id(0), 1)])
    customer.wait_for_status(order["id"], "AWAITING_ACCEPTANCE")
    expect(restaurant.accept(order["id"]), 202)
    customer.wait_for_status(order["id"], "CONFIRMED")

    resp = customer.post(f"orders/{order['id']}/cancel", json={"reason": "too late"})
    assert resp.status_code == 409, describe(resp)
    assert resp.json().get("message")
    assert customer.order(order["id"])["status"] == "CONFIRMED"


# --------------------------------------------------------------------------- pipeline rejections


@pytest.fixture(scope="module")
def rejected_orders(make_restaurant, make_customer):
    """Place every business-rule rejection at once so their pipelines run concurrently."""
    customer = make_customer()
    main = make_restaurant(
        items=[
            ("Prato feito", 2200, 10),  # 0 plentiful
            ("Sold out soon", 1500, 2),  # 1 scarce
            ("Off today", 1700, 10),  # 2 marked unavailable
            ("Decline me", 3300, 4),  # 3 for the declined payment
        ]
    )
    other = make_restaurant(items=[("Elsewhere", 1000, 10)])
    closed = make_restaurant(items=[("Closed dish", 1000, 10)])
    closed.update(is_open=False)
    expect(main.client.patch(f"restaurant/menu/{main.item_id(2)}", json={"available": False}), 200)

    placed = {
        "foreign_item": customer.place(main.id, [(main.item_id(0), 1), (other.item_id(0), 1)]),
        "missing_item": customer.place(main.id, [(MISSING_ID, 1)]),
        "closed": customer.place(closed.id, [(closed.item_id(0), 1)]),
        "unavailable_item": customer.place(main.id, [(main.item_id(2), 1)]),
        "out_of_stock": customer.place(main.id, [(main.item_id(0), 2), (main.item_id(1), 3)]),
        "declined": customer.place(main.id, [(main.item_id(3), 3)], payment_token="tok_decline"),
    }
    return {
        "customer": customer,
        "main": main,
        "other": other,
        "closed": closed,
        "ids": {name: order["id"] for name, order in placed.items()},
    }


def _final(rejected_orders, name):
    customer = rejected_orders["customer"]
    order_id = rejected_orders["ids"][name]
    return customer.wait_for_status(order_id, {"AWAITING_ACCEPTANCE", "REJECTED", "CANCELLED"})


def test_item_of_another_restaurant_is_invalid_order(rejected_orders):
    done = _final(rejected_orders, "foreign_item")
    assert (done["status"], done["reason"]) == ("REJECTED", "invalid_order")
    # nothing stays reserved for the valid line (the out_of_stock order also touches item 0,
    # so wait for the settled value)
    main = rejected_orders["main"]
    main.wait_stock(main.item_id(0), 10)


def test_nonexistent_item_is_invalid_order(rejected_orders):
    done = _final(rejected_orders, "missing_item")
    assert (done["status"], done["reason"]) == ("REJECTED", "invalid_order")


def test_closed_restaurant_is_unavailable(rejected_orders):
    done = _final(rejected_orders, "closed")
    assert (done["status"], done["reason"]) == ("REJECTED", "unavailable")
    closed = rejected_orders["closed"]
    assert closed.stock(closed.item_id(0)) == 10


def test_unavailable_item_is_unavailable(rejected_orders):
    done = _final(rejected_orders, "unavailable_item")
    assert (done["status"], done["reason"]) == ("REJECTED", "unavailable")
    main = rejected_orders["main"]
    assert main.stock(main.item_id(2)) == 10


def test_not_enough_stock_is_out_of_stock_and_reserves_nothing(rejected_orders):
    done = _final(rejected_orders, "out_of_stock")
    assert (done["status"], done["reason"]) == ("REJECTED", "out_of_stock")
    main = rejected_orders["main"]
    # the line that did fit must not keep a reservation
    main.wait_stock(main.item_id(1), 2)
    main.wait_stock(main.item_id(0), 10)


def test_declined_payment_releases_stock(rejected_orders):
    done = _final(rejected_orders, "declined")
    assert (done["status"], done["reason"]) == ("REJECTED", "payment_declined")
    assert done["payment"]["status"] == "DECLINED"
    assert "payment_authorized" not in timeline_events(done)
    main = rejected_orders["main"]
    main.wait_stock(main.item_id(3), 4)


def test_rejected_orders_cannot_be_cancelled_or_accepted(rejected_orders):
    order_id = rejected_orders["ids"]["declined"]
    _final(rejected_orders, "declined")
    resp = rejected_orders["customer"].post(f"orders/{order_id}/cancel", json={})
    assert resp.status_code == 409, describe(resp)
    resp = rejected_orders["main"].accept(order_id)
    assert resp.status_code == 409, describe(resp)
