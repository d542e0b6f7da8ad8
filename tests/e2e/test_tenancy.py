"""Isolation between tenants and customers, and role checks."""

from __future__ import annotations

import pytest

from tests.support.client import describe

pytestmark = pytest.mark.e2e

PIPELINE_DONE = {"AWAITING_ACCEPTANCE", "REJECTED", "CANCELLED"}


@pytest.fixture(scope="module")
def two_tenants(make_restaurant, make_customer, wait):
    x = make_restaurant()
    y = make_restaurant()
    alice = make_customer()
    order_x = alice.place(x.id, [(x.item_id(0), 1)])
    order_y = alice.place(y.id, [(y.item_id(0), 1)])
    for oid in (order_x["id"], order_y["id"]):
        done = alice.wait_for_status(oid, PIPELINE_DONE)
        assert done["status"] == "AWAITING_ACCEPTANCE", done

    def y_feed_has_order():
        return [e for e in y.events() if e["order_id"] == order_y["id"]]

    y_events = wait(y_feed_has_order, timeout=30, message="Y's feed has its order")
    wait(
        lambda: any(e["order_id"] == order_x["id"] for e in x.events()),
        timeout=30,
        message="X's feed has its order",
    )
    return {
        "x": x,
        "y": y,
        "alice": alice,
        "order_x": order_x["id"],
        "order_y": order_y["id"],
        "y_event_ids": [e["event_id"] for e in y_events],
    }


def test_restaurant_cannot_touch_another_tenants_order(two_tenants):
    x, y, order_y = two_tenants["x"], two_tenants["y"], two_tenants["order_y"]
    calls = {
        "get": lambda: x.client.get(f"restaurant/orders/{order_y}"),
        "accept": lambda: x.accept(order_y),
        "reject": lambda: x.reject(order_y),
        "status": lambda: x.set_status(order_y, "PREPARING"),
    }
    for name, call in calls.items():
        resp = call()
        assert resp.status_code == 404, f"{name}: {describe(resp)}"
    # and nothing happened to it
    assert y.client.order(order_y)["status"] == "AWAITING_ACCEPTANCE"


def test_restaurant_lists_only_its_orders(two_tenants):
    x = two_tenants["x"]
    ids = {o["id"] for o in x.client.pages("restaurant/orders")}
    assert two_tenants["order_x"] in ids
    assert two_tenants["order_y"] not in ids
    for order in x.client.pages("restaurant/orders"):
        assert order["restaurant_id"] == x.id


def test_restaurant_feed_has_only_its_events(two_tenants):
    x = two_tenants["x"]
    feed = x.events()
    assert two_tenants["order_y"] not in {e["order_id"] for e in feed}
    assert not set(two_tenants["y_event_ids"]) & {e["event_id"] for e in feed}


def test_acking_foreign_events_changes_nothing(two_tenants):
    x, y = two_tenants["x"], two_tenants["y"]
    resp = x.ack(two_tenants["y_event_ids"])
    assert resp.status_code == 204, describe(resp)
    still = {e["event_id"] for e in y.events()}
    assert set(two_tenants["y_event_ids"]) <= still


def test_restaurant_menu_is_its_own(two_tenants):
    x, y = two_tenants["x"], two_tenants["y"]
    assert set(x.menu()).isdisjoint(y.menu())
    resp = x.client.patch(f"restaurant/menu/{y.item_id(0)}", json={"stock": 0})
    assert resp.status_code == 404, describe(resp)
    assert y.stock(y.item_id(0)) == 49


def test_customer_cannot_see_another_customers_order(two_tenants, make_customer):
    bob = make_customer()
    order_x = two_tenants["order_x"]
    resp = bob.get(f"orders/{order_x}")
    assert resp.status_code == 404, describe(resp)
    resp = bob.post(f"orders/{order_x}/cancel", json={})
    assert resp.status_code == 404, describe(resp)
    assert bob.get_json("orders")["items"] == []
    assert two_tenants["alice"].order(order_x)["status"] == "AWAITING_ACCEPTANCE"


# The role checks below are refusals only: nothing they send changes the caller, so one
# customer and one restaurant serve every case of the module (a fresh account costs two
# bcrypt rounds of cost 12 on the API; a function-scoped one per case was most of their time).
@pytest.fixture(scope="module")
def refused_customer(make_customer):
    return make_customer()


@pytest.fixture(scope="module")
def refused_restaurant(make_restaurant):
    return make_restaurant()


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("GET", "restaurant/orders", None),
        ("GET", "restaurant/orders/1", None),
        ("POST", "restaurant/orders/1/accept", None),
        ("POST", "restaurant/orders/1/reject", {"reason": "x"}),
        ("POST", "restaurant/orders/1/status", {"status": "PREPARING"}),
        ("GET", "restaurant/menu", None),
        ("POST", "restaurant/menu", {"name": "Hack", "price_cents": 1, "stock": 1}),
        ("PATCH", "restaurant/menu/1", {"stock": 0}),
        ("PATCH", "restaurant", {"is_open": False}),
        ("GET", "restaurant/events", None),
        ("POST", "restaurant/events/ack", {"event_ids": []}),
        ("GET", "admin/orders", None),
        ("GET", "admin/stats", None),
        ("POST", "admin/restaurants", {"name": "Hack", "cuisine": "x"}),
        (
            "POST",
            "admin/restaurants/1/users",
            {"email": "h@x.io", "password": "12345678", "name": "h"},
        ),
    ],
)
def test_customer_gets_403_on_restaurant_and_admin_endpoints(refused_customer, method, path, body):
    kwargs = {"json": body} if body is not None else {}
    resp = refused_customer.request(method, path, **kwargs)
    assert resp.status_code == 403, describe(resp)
    assert resp.json().get("message")


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("GET", "admin/orders", None),
        ("GET", "admin/stats", None),
        ("POST", "admin/restaurants", {"name": "Hack", "cuisine": "x"}),
    ],
)
def test_restaurant_gets_403_on_admin_endpoints(refused_restaurant, method, path, body):
    kwargs = {"json": body} if body is not None else {}
    resp = refused_restaurant.client.request(method, path, **kwargs)
    assert resp.status_code == 403, describe(resp)


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "orders"),
        ("GET", "orders/1"),
        ("POST", "orders/1/cancel"),
        ("GET", "restaurant/orders"),
        ("GET", "restaurant/menu"),
        ("GET", "restaurant/events"),
        ("GET", "admin/orders"),
        ("GET", "admin/stats"),
        ("POST", "admin/restaurants"),
        ("GET", "auth/me"),
        ("POST", "auth/logout"),
    ],
)
def test_no_token_is_401(api, method, path):
    kwargs = {"json": {}} if method == "POST" else {}
    resp = api.request(method, path, token=None, **kwargs)
    assert resp.status_code == 401, describe(resp)
    assert resp.json().get("message")
