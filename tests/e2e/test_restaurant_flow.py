"""The restaurant side: accept, the delivery steps, conflicts, the events feed and the
acceptance timeout."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest

from tests.support.client import describe, expect, timeline_events

pytestmark = pytest.mark.e2e

STEPS = ["PREPARING", "READY", "DISPATCHED", "DELIVERED"]


@pytest.fixture(scope="module")
def refusing_restaurant(make_restaurant):
    """One restaurant for the module's bad-input cases: each is refused with a 400 (or 404)
    and changes nothing, so they need not pay for a fresh account (two bcrypt rounds) each."""
    return make_restaurant()


def _awaiting(customer, restaurant, qty=1):
    order = customer.place(restaurant.id, [(restaurant.item_id(0), qty)])
    done = customer.wait_for_status(order["id"], {"AWAITING_ACCEPTANCE", "REJECTED", "CANCELLED"})
    assert done["status"] == "AWAITING_ACCEPTANCE", (done["status"], done["reason"])
    return order["id"]


def test_accept_then_each_step_until_delivered(customer, restaurant):
    order_id = _awaiting(customer, restaurant)

    # the restaurant lists it among its orders awaiting acceptance
    waiting = restaurant.client.get_json(
        "restaurant/orders", params={"status": "AWAITING_ACCEPTANCE"}
    )
    assert order_id in [o["id"] for o in waiting["items"]]

    resp = restaurant.accept(order_id)
    assert resp.status_code == 202, describe(resp)
    confirmed = customer.wait_for_status(order_id, {"CONFIRMED", "REJECTED", "CANCELLED"})
    assert confirmed["status"] == "CONFIRMED"
    assert "accepted" in timeline_events(confirmed)

    # accepting twice and rejecting a confirmed order are conflicts
    again = restaurant.accept(order_id)
    assert again.status_code == 409, describe(again)
    assert again.json().get("message")
    reject = restaurant.reject(order_id, reason="changed our mind")
    assert reject.status_code == 409, describe(reject)

    # skipping a step is a conflict
    for skipped in ("READY", "DISPATCHED", "DELIVERED"):
        resp = restaurant.set_status(order_id, skipped)
        assert resp.status_code == 409, f"{skipped} from CONFIRMED; {describe(resp)}"

    previous = "CONFIRMED"
    for step in STEPS:
        resp = restaurant.set_status(order_id, step)
        assert resp.status_code == 202, f"{previous} -> {step}; {describe(resp)}"
        seen = restaurant.client.wait_for_status(order_id, step)
        assert seen["status"] == step
        # repeating the same step or going back is a conflict
        resp = restaurant.set_status(order_id, step)
        assert resp.status_code == 409, f"{step} twice; {describe(resp)}"
        if previous in STEPS:
            resp = restaurant.set_status(order_id, previous)
            assert resp.status_code == 409, f"{step} -> {previous}; {describe(resp)}"
        previous = step

    delivered = customer.wait_for_status(order_id, "DELIVERED")
    statuses = [entry["status"] for entry in delivered["timeline"]]
    for status in ["AWAITING_ACCEPTANCE", "CONFIRMED", *STEPS]:
        assert status in statuses, statuses
    assert (
        statuses.index("CONFIRMED")
        < statuses.index("PREPARING")
        < statuses.index("READY")
        < statuses.index("DISPATCHED")
        < statuses.index("DELIVERED")
    )
    customer.wait_for_payment(order_id, "CAPTURED")

    # nothing moves a delivered order
    for action in (
        lambda: restaurant.accept(order_id),
        lambda: restaurant.reject(order_id),
        lambda: customer.post(f"orders/{order_id}/cancel", json={}),
        lambda: restaurant.set_status(order_id, "PREPARING"),
    ):
        resp = action()
        assert resp.status_code == 409, describe(resp)


def test_status_before_accept_is_409(customer, restaurant):
    order_id = _awaiting(customer, restaurant)
    resp = restaurant.set_status(order_id, "PREPARING")
    assert resp.status_code == 409, describe(resp)
    assert customer.order(order_id)["status"] == "AWAITING_ACCEPTANCE"


@pytest.mark.parametrize(
    "body",
    [{"status": "COOKING"}, {"status": "CONFIRMED"}, {"status": "CANCELLED"}, {}, {"status": 3}],
    ids=["unknown", "confirmed", "cancelled", "missing", "number"],
)
def test_invalid_status_body_is_400(refusing_restaurant, body):
    # the order id does not matter: the body is checked first, or the order is not found;
    # either way never a 5xx and never a state change
    resp = refusing_restaurant.client.post("restaurant/orders/987654321/status", json=body)
    assert resp.status_code in (400, 404), describe(resp)


def test_invalid_status_value_on_real_order_is_400(customer, restaurant):
    order_id = _awaiting(customer, restaurant)
    expect(restaurant.accept(order_id), 202)
    customer.wait_for_status(order_id, "CONFIRMED")
    resp = restaurant.set_status(order_id, "COOKING")
    assert resp.status_code == 400, describe(resp)
    assert resp.json().get("message")


def test_reject_requires_a_reason(customer, restaurant):
    order_id = _awaiting(customer, restaurant)
    resp = restaurant.client.post(f"restaurant/orders/{order_id}/reject", json={})
    assert resp.status_code == 400, describe(resp)
    assert customer.order(order_id)["status"] == "AWAITING_ACCEPTANCE"


def test_restaurant_order_list_and_detail(customer, restaurant):
    order_id = _awaiting(customer, restaurant)
    page = restaurant.client.get_json("restaurant/orders")
    assert set(page) >= {"items", "next_cursor"}
    assert [o["id"] for o in page["items"]] == [order_id]
    detail = restaurant.client.order(order_id)
    assert detail["restaurant_id"] == restaurant.id
    assert detail["customer_id"] == customer.user["id"]
    assert detail["items"][0]["menu_item_id"] == restaurant.item_id(0)


# --------------------------------------------------------------------------- events feed


def test_events_feed_and_ack(customer, restaurant, wait):
    order = customer.place(restaurant.id, [(restaurant.item_id(0), 1)])
    order_id = order["id"]

    def has_both():
        feed = restaurant.events()
        types = {e["type"] for e in feed if e["order_id"] == order_id}
        return feed if {"order.placed", "order.awaiting_acceptance"} <= types else None

    feed = wait(has_both, timeout=30, message="order.placed and order.awaiting_acceptance")
    assert isinstance(feed, list) and len(feed) <= 100
    mine = [e for e in feed if e["order_id"] == order_id]
    for event in mine:
        assert set(event) >= {"event_id", "type", "order_id", "occurred_at", "data"}, event
        uuid.UUID(str(event["event_id"]))
        assert isinstance(event["data"], dict)
    ids = [e["event_id"] for e in feed]
    assert len(ids) == len(set(ids)), "the feed repeats an event"
    occurred = [e["occurred_at"] for e in feed]
    types = [e["type"] for e in mine]
    assert types.index("order.placed") < types.index("order.awaiting_acceptance"), types
    assert occurred == sorted(occurred), "the feed is not oldest first"

    # unknown ids are ignored: 204 and nothing disappears
    resp = restaurant.ack([str(uuid.uuid4()), str(uuid.uuid4())])
    assert resp.status_code == 204, describe(resp)
    after = {e["event_id"] for e in restaurant.events()}
    assert set(ids) <= after

    # acking removes exactly what was acked
    placed = [e["event_id"] for e in mine if e["type"] == "order.placed"]
    resp = restaurant.ack(placed)
    assert resp.status_code == 204, describe(resp)
    remaining = {e["event_id"] for e in restaurant.events()}
    assert not set(placed) & remaining
    assert set(ids) - set(placed) <= remaining

    resp = restaurant.ack(ids)
    assert resp.status_code == 204, describe(resp)
    remaining = {e["event_id"] for e in restaurant.events()}
    assert not set(ids) & remaining

    # acking again is harmless
    assert restaurant.ack(ids).status_code == 204

    # later events of the same order still arrive
    expect(restaurant.accept(order_id), 202)
    wait(
        lambda: any(
            e["order_id"] == order_id and e["type"] == "order.accepted" for e in restaurant.events()
        ),
        timeout=30,
        message="order.accepted in the feed",
    )


def _backlog(restaurant_id: int) -> tuple[int, int]:
    """(feed_backlog's count, the unacknowledged rows counted) in one snapshot."""
    url = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        kept, counted = conn.execute(
            "select coalesce((select unacked from feed_backlog where restaurant_id = %s), 0),"
            " (select count(*) from restaurant_events where restaurant_id = %s"
            " and acked_at is null)",
            (restaurant_id, restaurant_id),
        ).fetchone()
    return kept, counted


def test_the_kept_feed_backlog_follows_the_feed_and_the_acks(customer, make_restaurant, wait):
    """comanda_feed_unacked reads feed_backlog (migration s9a): through the real feed
    consumer and the real ack endpoint it equals counting the restaurant's feed."""
    shop = make_restaurant(items=[("Backlog dish", 1500, 10)])
    order_id = customer.place(shop.id, [(shop.item_id(0), 1)])["id"]
    wait(
        lambda: any(
            e["order_id"] == order_id and e["type"] == "order.awaiting_acceptance"
            for e in shop.events()
        ),
        timeout=30,
        message="order.awaiting_acceptance in the feed",
    )
    kept, counted = _backlog(shop.id)
    assert kept == counted >= 2, (kept, counted)
    first = shop.events()[0]["event_id"]
    assert shop.ack([first]).status_code == 204
    assert _backlog(shop.id) == (counted - 1, counted - 1)
    assert shop.ack([e["event_id"] for e in shop.events()]).status_code == 204
    kept, counted = _backlog(shop.id)
    assert kept == counted, (kept, counted)


def test_ack_with_empty_list_is_204(restaurant):
    assert restaurant.ack([]).status_code == 204


def test_feed_is_for_restaurants_only(customer):
    resp = customer.get("restaurant/events")
    assert resp.status_code == 403, describe(resp)


# --------------------------------------------------------------------------- acceptance timeout


def test_acceptance_timeout_cancels_and_voids(customer, make_restaurant, wait):
    rest = make_restaurant(items=[("Slow dish", 3000, 5)])
    updated = rest.update(acceptance_seconds=2)
    assert updated.get("id", rest.id) == rest.id
    item = rest.item_id(0)

    order = customer.place(rest.id, [(item, 2)])
    done = customer.wait_for_status(order["id"], {"CANCELLED", "REJECTED", "CONFIRMED"}, timeout=45)
    assert (done["status"], done["reason"]) == ("CANCELLED", "acceptance_timeout")
    assert "payment_authorized" in timeline_events(done)  # it did wait for acceptance
    customer.wait_for_payment(order["id"], "VOIDED")
    rest.wait_stock(item, 5)

    resp = rest.accept(order["id"])
    assert resp.status_code == 409, describe(resp)


@pytest.mark.parametrize("value", [0, 86401, "soon", -5])
def test_bad_acceptance_seconds_is_400(refusing_restaurant, value):
    resp = refusing_restaurant.client.patch("restaurant", json={"acceptance_seconds": value})
    assert resp.status_code == 400, describe(resp)
    # refused means unchanged: the next case starts from the same restaurant
    mine = refusing_restaurant.client.get_json("restaurant")
    assert mine["acceptance_seconds"] == refusing_restaurant.body["acceptance_seconds"], mine


def test_open_and_close(restaurant, api):
    assert restaurant.update(is_open=False)["is_open"] is False
    assert api.get_json(f"restaurants/{restaurant.id}")["is_open"] is False
    assert restaurant.update(is_open=True)["is_open"] is True
    assert api.get_json(f"restaurants/{restaurant.id}")["is_open"] is True


def test_menu_management(restaurant):
    created = restaurant.add_item("Pudim", 990, 7)
    assert set(created) >= {"id", "name", "price_cents", "available", "stock"}
    assert (created["name"], created["price_cents"], created["stock"]) == ("Pudim", 990, 7)
    assert created["available"] is True

    resp = restaurant.client.patch(
        f"restaurant/menu/{created['id']}", json={"price_cents": 1090, "stock": 3}
    )
    assert resp.status_code == 200, describe(resp)
    assert (resp.json()["price_cents"], resp.json()["stock"]) == (1090, 3)
    menu = restaurant.menu()
    assert menu[created["id"]]["price_cents"] == 1090
    assert menu[created["id"]]["stock"] == 3

    for bad in ({"price_cents": -1}, {"stock": -1}, {"name": ""}, {"name": "n" * 121}):
        resp = restaurant.client.patch(f"restaurant/menu/{created['id']}", json=bad)
        assert resp.status_code == 400, f"{bad}: {describe(resp)}"
    resp = restaurant.client.post("restaurant/menu", json={"name": "No price", "stock": 1})
    assert resp.status_code == 400, describe(resp)
