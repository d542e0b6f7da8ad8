"""No mass assignment: no body (or query string) sets a price, a status, a customer, a
restaurant, a role or a payment state that the contract does not give to that caller.
Every request below carries such fields; each must be ignored, never applied."""

from __future__ import annotations

import pytest

from tests.support.client import DEFAULT_PASSWORD, expect, fresh_email

from .conftest import PIPELINE_DONE, World

pytestmark = pytest.mark.security

AWAITING = "AWAITING_ACCEPTANCE"
FORGED_PAYMENT = {"status": "CAPTURED", "amount_cents": 1, "paid": True}


def place_forged(world: World) -> dict:
    """An order of A at X stuffed with everything a customer may not set."""
    x = world.x
    body = {
        "id": 1,
        "restaurant_id": x.id,
        "items": [
            {
                "menu_item_id": x.item_id(0),
                "quantity": 2,
                "unit_price_cents": 1,
                "name": "free",
                "price_cents": 0,
            }
        ],
        "delivery_address": "Rua do Golpe, 1",
        "payment": {"method": "card", "token": "tok_ok", **FORGED_PAYMENT},
        "status": "DELIVERED",
        "reason": "forged",
        "customer_id": world.b.user["id"],
        "total_cents": 1,
        "created_at": "2000-01-01T00:00:00Z",
        "timeline": [{"status": "DELIVERED", "event": "forged"}],
    }
    resp = expect(world.a.post("orders", json=body), 202)
    return resp.json()


def test_an_order_takes_nothing_from_the_client_but_what_to_order(world):
    placed = place_forged(world)
    assert placed["id"] != 1
    assert placed["status"] == "PLACED" and placed["reason"] is None
    assert placed["customer_id"] == world.a.user["id"]
    assert placed["payment"]["status"] == "PENDING"
    assert [e["event"] for e in placed["timeline"]] == ["placed"]
    assert placed["created_at"].startswith("20") and not placed["created_at"].startswith("2000")

    done = world.a.wait_for_status(placed["id"], PIPELINE_DONE)
    assert done["status"] == AWAITING, done
    price = world.x.item(0)["price_cents"]
    assert [(i["unit_price_cents"], i["name"]) for i in done["items"]] == [
        (price, world.x.item(0)["name"])
    ]
    assert done["total_cents"] == 2 * price
    assert done["payment"] == {"status": "AUTHORIZED", "amount_cents": 2 * price}
    assert world.b.get(f"orders/{placed['id']}").status_code == 404  # not B's


def test_accept_and_progress_take_no_payment_or_status_from_the_body(world):
    x, oid = world.x, place_forged(world)["id"]
    world.a.wait_for_status(oid, AWAITING)
    forged = {"status": "DELIVERED", "payment": FORGED_PAYMENT, "total_cents": 1}
    accepted = expect(x.client.post(f"restaurant/orders/{oid}/accept", json=forged), 202).json()
    assert accepted["status"] == "CONFIRMED"
    captured = world.a.wait_for_payment(oid, "CAPTURED")
    assert captured["payment"]["amount_cents"] == captured["total_cents"] > 1
    # Only the next kitchen step, never a jump or a step that is not the kitchen's.
    expect(x.set_status(oid, "DELIVERED"), 409)
    for status in ("CONFIRMED", "CANCELLED", "REJECTED", "AWAITING_ACCEPTANCE"):
        expect(x.set_status(oid, status), 400)
    body = {"status": "PREPARING", "payment": {"status": "VOIDED"}, "restaurant_id": 1}
    moved = expect(x.client.post(f"restaurant/orders/{oid}/status", json=body), 202).json()
    assert moved["status"] == "PREPARING" and moved["restaurant_id"] == x.id
    assert world.a.order(oid)["payment"]["status"] == "CAPTURED"


def test_reject_and_cancel_set_their_own_reason_codes(world):
    x = world.x
    rejected_id, cancelled_id = place_forged(world)["id"], place_forged(world)["id"]
    world.a.wait_for_status(rejected_id, AWAITING)
    body = {"reason": "sem gás", "status": "DELIVERED", "payment": FORGED_PAYMENT}
    rejected = expect(x.client.post(f"restaurant/orders/{rejected_id}/reject", json=body), 202)
    assert rejected.json()["status"] == "REJECTED"
    assert rejected.json()["reason"] == "restaurant_rejected"
    body = {"reason": "changed my mind", "status": "DELIVERED", "customer_id": world.b.user["id"]}
    cancelled = expect(world.a.post(f"orders/{cancelled_id}/cancel", json=body), 202).json()
    assert cancelled["status"] == "CANCELLED" and cancelled["reason"] == "customer_cancelled"
    assert cancelled["customer_id"] == world.a.user["id"]
    assert world.a.wait_for_payment(rejected_id, "VOIDED")["payment"]["status"] == "VOIDED"


def test_register_always_makes_a_plain_customer(api, new_client, world):
    email = fresh_email("escalate")
    body = {
        "email": email,
        "password": DEFAULT_PASSWORD,
        "name": "Mallory",
        "role": "admin",
        "restaurant_id": world.x.id,
        "id": 1,
        "is_admin": True,
    }
    user = expect(api.post("auth/register", json=body, token=None), 201).json()
    assert user["role"] == "customer" and user["restaurant_id"] is None and user["id"] != 1
    mallory = new_client()
    mallory.login(email, DEFAULT_PASSWORD)
    assert mallory.me()["role"] == "customer"
    expect(mallory.get("admin/stats"), 403)
    expect(mallory.get("restaurant/orders"), 403)


def test_login_takes_no_role_from_the_body(api, world):
    body = {"email": world.a.email, "password": world.a.password, "role": "admin"}
    token = expect(api.post("auth/login", json=body, token=None), 200).json()["access_token"]
    expect(api.get("admin/stats", token=token), 403)


def test_admin_made_users_are_restaurant_users_of_the_path_restaurant(world, new_client):
    email = fresh_email("staff")
    body = {
        "email": email,
        "password": DEFAULT_PASSWORD,
        "name": "Staff",
        "role": "admin",
        "restaurant_id": world.y.id,
    }
    user = expect(world.admin.post(f"admin/restaurants/{world.x.id}/users", json=body), 201)
    assert user.json()["role"] == "restaurant" and user.json()["restaurant_id"] == world.x.id
    staff = new_client()
    staff.login(email, DEFAULT_PASSWORD)
    assert staff.me()["restaurant_id"] == world.x.id
    expect(staff.get("admin/stats"), 403)


def test_a_restaurant_cannot_write_into_another_tenant(world):
    x, y = world.x, world.y
    body = {"name": "Planted", "price_cents": 100, "stock": 1, "restaurant_id": y.id, "id": 1}
    item = expect(x.client.post("restaurant/menu", json=body), 201).json()
    assert item["id"] in x.menu() and item["id"] not in y.menu()

    body = {"restaurant_id": y.id, "id": y.item_id(0), "stock": 7}
    patched = expect(x.client.patch(f"restaurant/menu/{item['id']}", json=body), 200).json()
    assert patched["id"] == item["id"] and patched["stock"] == 7
    assert item["id"] in x.menu() and y.menu()[y.item_id(0)]["stock"] != 7

    y_before = y.update()  # an empty PATCH answers the restaurant as it is
    body = {"id": y.id, "name": "Hacked", "cuisine": "hacked", "is_open": True}
    mine = expect(x.client.patch("restaurant", json=body), 200).json()
    assert mine["id"] == x.id and mine["name"] == x.name and mine["cuisine"] != "hacked"
    assert y.update() == y_before


def test_admin_created_restaurants_start_open_whatever_the_body_says(world):
    body = {"name": "Fresh Bistro", "cuisine": "x", "is_open": False, "id": world.x.id}
    created = expect(world.admin.post("admin/restaurants", json=body), 201).json()
    assert created["id"] != world.x.id and created["is_open"] is True


def test_query_strings_cannot_widen_a_scope(world):
    b_orders = {world.live_by, world.done_by}
    for params in ({"customer_id": world.b.user["id"]}, {"restaurant_id": world.y.id}):
        ids = {o["id"] for o in world.a.pages("orders", params=params)}
        assert not ids & b_orders, params
    foreign = {"restaurant_id": world.y.id}
    ids = {o["id"] for o in world.x.client.pages("restaurant/orders", foreign)}
    assert not ids & b_orders


def test_acking_with_a_forged_tenant_changes_nothing(world, wait):
    y_events = [e["event_id"] for e in wait(world.y.events, message="Y's feed has events")]
    body = {"event_ids": y_events, "restaurant_id": world.y.id}
    expect(world.x.client.post("restaurant/events/ack", json=body), 204)
    assert set(y_events) <= {e["event_id"] for e in world.y.events()}
