"""Admin: the orders list and the stats, both fed by the projection (eventually consistent,
so every check polls), and a rebuild of the projection that must change nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.support.client import describe, expect

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PIPELINE_DONE = {"AWAITING_ACCEPTANCE", "REJECTED", "CANCELLED"}
RESTAURANT_FIELDS = {
    "restaurant_id",
    "name",
    "orders",
    "accepted",
    "rejected",
    "revenue_cents",
    "acceptance_rate",
    "avg_seconds_to_accept",
}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@pytest.fixture(scope="module")
def world(make_restaurant, make_customer):
    """Two fresh restaurants with orders in settled states (nothing left awaiting, so the
    acceptance timeout can never change them while the module runs).

    r1: a CONFIRMED, b REJECTED (restaurant_rejected), c READY (accepted).
    r2: d CANCELLED (customer_cancelled), e REJECTED (payment_declined)."""
    r1 = make_restaurant(items=[("Bife", 3100, 50), ("Suco", 900, 50)])
    r2 = make_restaurant(items=[("Açaí", 1500, 50)])
    customer = make_customer()
    a = customer.place(r1.id, [(r1.item_id(0), 1)])
    b = customer.place(r1.id, [(r1.item_id(1), 2)])
    c = customer.place(r1.id, [(r1.item_id(0), 1), (r1.item_id(1), 1)])
    d = customer.place(r2.id, [(r2.item_id(0), 1)])
    e = customer.place(r2.id, [(r2.item_id(0), 1)], payment_token="tok_decline")
    for order in (a, b, c, d, e):
        customer.wait_for_status(order["id"], PIPELINE_DONE)

    expect(r1.accept(a["id"]), 202)
    expect(r1.reject(b["id"], reason="no juice"), 202)
    expect(r1.accept(c["id"]), 202)
    expect(customer.post(f"orders/{d['id']}/cancel", json={}), 202)
    customer.wait_for_status(c["id"], "CONFIRMED")
    for step in ("PREPARING", "READY"):
        expect(r1.set_status(c["id"], step), 202)
        customer.wait_for_status(c["id"], step)
    customer.wait_for_status(a["id"], "CONFIRMED")
    customer.wait_for_status(b["id"], "REJECTED")
    customer.wait_for_status(d["id"], "CANCELLED")
    customer.wait_for_payment(a["id"], "CAPTURED")
    customer.wait_for_payment(c["id"], "CAPTURED")

    return {
        "r1": r1,
        "r2": r2,
        "customer": customer,
        "ids": {"a": a["id"], "b": b["id"], "c": c["id"], "d": d["id"], "e": e["id"]},
        "status": {
            a["id"]: "CONFIRMED",
            b["id"]: "REJECTED",
            c["id"]: "READY",
            d["id"]: "CANCELLED",
            e["id"]: "REJECTED",
        },
        "revenue_r1": 3100 + (3100 + 900),
    }


def _admin_orders(as_admin, **params) -> list[dict]:
    return list(as_admin.pages("admin/orders", params=params))


def _wait_projected(as_admin, wait, world):
    """Until /admin/orders shows every order of the world in its settled status."""

    def caught_up():
        seen = {}
        for rid in (world["r1"].id, world["r2"].id):
            for order in _admin_orders(as_admin, restaurant_id=rid):
                seen[order["id"]] = order["status"]
        return seen if seen == world["status"] else None

    return wait(caught_up, timeout=60, interval=0.5, message="admin projection")


def _stats_entries(as_admin, restaurant_ids, **params) -> dict[int, dict]:
    stats = as_admin.get_json("admin/stats", params=params)
    return {
        e["restaurant_id"]: e for e in stats["restaurants"] if e["restaurant_id"] in restaurant_ids
    }


def _wait_stats(as_admin, wait, world):
    r1, r2 = world["r1"].id, world["r2"].id

    def caught_up():
        entries = _stats_entries(as_admin, {r1, r2})
        e1, e2 = entries.get(r1), entries.get(r2)
        if not e1 or not e2:
            return None
        if (e1["orders"], e1["accepted"], e1["rejected"], e1["revenue_cents"]) != (
            3,
            2,
            1,
            world["revenue_r1"],
        ):
            return None
        if (e2["orders"], e2["accepted"], e2["revenue_cents"]) != (2, 0, 0):
            return None
        return entries

    return wait(caught_up, timeout=60, interval=0.5, message="admin stats for fresh restaurants")


# --------------------------------------------------------------------------- /admin/orders


def test_admin_orders_filters_and_pagination(as_admin, world, wait):
    _wait_projected(as_admin, wait, world)
    r1 = world["r1"].id
    ids = world["ids"]

    page = as_admin.get_json("admin/orders", params={"restaurant_id": r1})
    assert set(page) >= {"items", "next_cursor"}
    for order in page["items"]:
        assert order["restaurant_id"] == r1
        assert set(order) >= {"id", "status", "restaurant_id", "customer_id"}, order

    confirmed = _admin_orders(as_admin, restaurant_id=r1, status="CONFIRMED")
    assert [o["id"] for o in confirmed] == [ids["a"]]
    rejected = _admin_orders(as_admin, restaurant_id=r1, status="REJECTED")
    assert [o["id"] for o in rejected] == [ids["b"]]
    assert rejected[0].get("reason", "restaurant_rejected") == "restaurant_rejected"

    # status filter alone: every item has that status
    some = as_admin.get_json("admin/orders", params={"status": "CANCELLED", "limit": 50})
    assert all(o["status"] == "CANCELLED" for o in some["items"])

    # one at a time, no repeats, nothing lost
    seen, cursor = [], None
    for _ in range(10):
        params = {"restaurant_id": r1, "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = as_admin.get_json("admin/orders", params=params)
        assert len(page["items"]) <= 1
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted([ids["a"], ids["b"], ids["c"]])


def test_admin_orders_unfiltered_lists_everyone(as_admin, world, wait):
    _wait_projected(as_admin, wait, world)
    page = as_admin.get_json("admin/orders", params={"limit": 100})
    assert 1 <= len(page["items"]) <= 100
    restaurants = {o["restaurant_id"] for o in page["items"]}
    assert restaurants  # an admin sees every tenant's orders


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"cursor": "not-a-cursor"},
        {"restaurant_id": "abc"},
        {"status": "HUNGRY"},
    ],
    ids=["limit-0", "limit-101", "bad-cursor", "bad-restaurant", "bad-status"],
)
def test_admin_orders_bad_query_is_400(as_admin, params):
    resp = as_admin.get("admin/orders", params=params)
    assert resp.status_code == 400, describe(resp)


# --------------------------------------------------------------------------- /admin/stats


def test_admin_stats_shape(as_admin, world, wait):
    _wait_stats(as_admin, wait, world)
    stats = as_admin.get_json("admin/stats")
    assert set(stats) >= {
        "orders_by_status",
        "gross_revenue_cents",
        "restaurants",
        "cancellations_by_reason",
        "pipeline",
    }
    assert isinstance(stats["orders_by_status"], dict)
    for status, count in stats["orders_by_status"].items():
        assert isinstance(status, str) and isinstance(count, int) and count >= 0
    assert isinstance(stats["gross_revenue_cents"], int)
    assert stats["gross_revenue_cents"] >= world["revenue_r1"]
    assert isinstance(stats["cancellations_by_reason"], dict)
    assert stats["cancellations_by_reason"].get("customer_cancelled", 0) >= 1
    for reason, count in stats["cancellations_by_reason"].items():
        assert isinstance(reason, str) and isinstance(count, int)
    assert isinstance(stats["restaurants"], list) and stats["restaurants"]
    for entry in stats["restaurants"]:
        assert set(entry) >= RESTAURANT_FIELDS, entry
        assert isinstance(entry["restaurant_id"], int)
        for key in ("orders", "accepted", "rejected", "revenue_cents"):
            assert isinstance(entry[key], int) and entry[key] >= 0, (key, entry)
        assert entry["acceptance_rate"] is None or _number(entry["acceptance_rate"]), entry
        assert entry["avg_seconds_to_accept"] is None or _number(entry["avg_seconds_to_accept"]), (
            entry
        )
    pipeline = stats["pipeline"]
    assert set(pipeline) >= {"p50_ms", "p95_ms"}
    assert _number(pipeline["p50_ms"]) and _number(pipeline["p95_ms"]), pipeline
    assert 0 <= pipeline["p50_ms"] <= pipeline["p95_ms"], pipeline
    for status in ("CONFIRMED", "REJECTED", "CANCELLED", "READY"):
        assert stats["orders_by_status"].get(status, 0) >= 1, (status, stats["orders_by_status"])


def test_admin_stats_for_a_fresh_restaurant(as_admin, world, wait):
    entries = _wait_stats(as_admin, wait, world)
    e1 = entries[world["r1"].id]
    assert e1["name"] == world["r1"].name
    assert e1["orders"] == 3
    assert e1["accepted"] == 2
    assert e1["rejected"] == 1
    assert e1["revenue_cents"] == world["revenue_r1"]
    assert _number(e1["acceptance_rate"]) and e1["acceptance_rate"] > 0
    assert _number(e1["avg_seconds_to_accept"]) and e1["avg_seconds_to_accept"] >= 0

    e2 = entries[world["r2"].id]
    assert e2["name"] == world["r2"].name
    assert e2["orders"] == 2
    assert e2["accepted"] == 0
    assert e2["revenue_cents"] == 0


def test_admin_stats_time_window(as_admin, world, wait):
    _wait_stats(as_admin, wait, world)
    r1 = world["r1"].id
    wide = _stats_entries(
        as_admin, {r1}, **{"from": "2000-01-01T00:00:00Z", "to": "2999-01-01T00:00:00Z"}
    )
    assert wide[r1]["orders"] == 3
    future = as_admin.get_json("admin/stats", params={"from": "2999-01-01T00:00:00Z"})
    entry = [e for e in future["restaurants"] if e["restaurant_id"] == r1]
    assert not entry or entry[0]["orders"] == 0, entry
    past = as_admin.get_json("admin/stats", params={"to": "2000-01-01T00:00:00Z"})
    assert not [e for e in past["restaurants"] if e["restaurant_id"] == r1 and e["orders"]]


@pytest.mark.parametrize(
    "params",
    [{"from": "yesterday"}, {"to": "2026-13-45"}, {"from": "not-a-date", "to": "also-not"}],
    ids=["from-word", "to-impossible", "both"],
)
def test_admin_stats_bad_window_is_400(as_admin, params):
    resp = as_admin.get("admin/stats", params=params)
    assert resp.status_code == 400, describe(resp)
    assert resp.json().get("message")


# --------------------------------------------------------------------------- rebuild


def _status_counts(as_admin, rid) -> Counter:
    return Counter(o["status"] for o in _admin_orders(as_admin, restaurant_id=rid))


def test_projection_rebuild_changes_nothing(as_admin, world, wait):
    ours = {world["r1"].id, world["r2"].id}
    _wait_projected(as_admin, wait, world)
    before_entries = _wait_stats(as_admin, wait, world)
    before_counts = {rid: _status_counts(as_admin, rid) for rid in ours}

    done = subprocess.run(
        [sys.executable, "-m", "events.consumers.projector", "--rebuild"],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"rebuild failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"

    def same_again():
        entries = _stats_entries(as_admin, ours)
        counts = {rid: _status_counts(as_admin, rid) for rid in ours}
        return (entries, counts) if set(entries) == ours and counts == before_counts else None

    entries, counts = wait(same_again, timeout=60, interval=0.5, message="projection after rebuild")
    assert counts == before_counts
    for rid in ours:
        before, after = before_entries[rid], entries[rid]
        for key in RESTAURANT_FIELDS:
            if _number(before[key]) and _number(after[key]):
                assert after[key] == pytest.approx(before[key], rel=1e-6, abs=1e-6), (key, rid)
            else:
                assert after[key] == before[key], (key, rid)
    # and the orders of the world are still there, unchanged
    _wait_projected(as_admin, wait, world)
