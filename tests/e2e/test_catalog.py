"""Public catalog: restaurant list (pagination) and restaurant detail with its menu."""

from __future__ import annotations

import pytest

from tests.support.client import describe, expect

pytestmark = pytest.mark.e2e

MISSING_ID = 987_654_321


def test_list_restaurants_shape_and_contains_a_fresh_one(api, restaurant):
    page = api.get_json("restaurants", token=None)
    assert set(page) >= {"items", "next_cursor"}
    assert isinstance(page["items"], list) and page["items"]
    for entry in page["items"]:
        assert set(entry) >= {"id", "name", "is_open", "cuisine"}, entry
        assert isinstance(entry["id"], int)
        assert isinstance(entry["is_open"], bool)
    assert len(page["items"]) <= 20  # default limit

    found = [r for r in api.pages("restaurants") if r["id"] == restaurant.id]
    assert len(found) == 1, "a fresh restaurant must be listed exactly once"
    assert found[0]["name"] == restaurant.name
    assert found[0]["cuisine"] == "e2e"
    assert found[0]["is_open"] is True


def test_list_restaurants_pagination(api, make_restaurant):
    # at least 3 restaurants exist (demo data plus these)
    make_restaurant(items=())
    make_restaurant(items=())
    make_restaurant(items=())

    first = api.get_json("restaurants", params={"limit": 1})
    assert len(first["items"]) == 1
    assert first["next_cursor"], first

    second = api.get_json("restaurants", params={"limit": 2, "cursor": first["next_cursor"]})
    assert len(second["items"]) == 2
    ids = [first["items"][0]["id"]] + [r["id"] for r in second["items"]]
    assert len(set(ids)) == 3, f"pages overlap: {ids}"

    # walking every page never repeats an entry
    all_ids = [r["id"] for r in api.pages("restaurants", limit=7)]
    assert len(all_ids) == len(set(all_ids))
    assert set(ids) <= set(all_ids)


def test_last_page_has_no_cursor(api):
    cursor = None
    for _ in range(1000):
        params = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = api.get_json("restaurants", params=params)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert cursor is None


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5"])
def test_list_restaurants_bad_limit_is_400(api, limit):
    resp = api.get("restaurants", params={"limit": limit})
    assert resp.status_code == 400, describe(resp)
    assert resp.json().get("message")


@pytest.mark.parametrize("limit", ["1", "100"])
def test_list_restaurants_limit_bounds_are_accepted(api, limit):
    page = api.get_json("restaurants", params={"limit": limit})
    assert len(page["items"]) <= int(limit)


@pytest.mark.parametrize("cursor", ["!!!not-a-cursor!!!", "eyJub3QiOiAiYSBjdXJzb3IifQ", "1' or '1"])
def test_list_restaurants_malformed_cursor_is_400(api, cursor):
    resp = api.get("restaurants", params={"cursor": cursor})
    assert resp.status_code == 400, describe(resp)
    assert resp.json().get("message")


def test_restaurant_detail_with_menu(api, make_restaurant):
    fresh = make_restaurant(items=[("Moqueca", 5890, 3), ("Guaraná", 650, 10)])
    # mark one item unavailable: it still shows in the menu, with available false
    expect(
        fresh.client.patch(f"restaurant/menu/{fresh.item_id(1)}", json={"available": False}), 200
    )
    detail = api.get_json(f"restaurants/{fresh.id}", token=None)
    assert detail["id"] == fresh.id
    assert detail["name"] == fresh.name
    assert detail["cuisine"] == "e2e"
    assert detail["is_open"] is True
    menu = {item["id"]: item for item in detail["menu"]}
    assert set(menu) == {fresh.item_id(0), fresh.item_id(1)}
    for item in menu.values():
        assert set(item) >= {"id", "name", "price_cents", "available"}
    assert menu[fresh.item_id(0)]["name"] == "Moqueca"
    assert menu[fresh.item_id(0)]["price_cents"] == 5890
    assert menu[fresh.item_id(0)]["available"] is True
    assert menu[fresh.item_id(1)]["price_cents"] == 650
    assert menu[fresh.item_id(1)]["available"] is False


def test_closed_restaurant_shows_closed(api, restaurant):
    restaurant.update(is_open=False)
    assert api.get_json(f"restaurants/{restaurant.id}")["is_open"] is False


def test_unknown_restaurant_is_404(api):
    resp = api.get(f"restaurants/{MISSING_ID}")
    assert resp.status_code == 404, describe(resp)
    assert resp.json().get("message")
