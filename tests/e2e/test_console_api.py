"""What the web console relies on, over HTTP: the page and its headers, and the admin ops
endpoints (Kafka lag, Celery, outbox, series, DLQ, demo controls)."""

from __future__ import annotations

import pytest

from tests.support.client import expect

pytestmark = pytest.mark.e2e

CONSOLE_SCRIPTS = ("js/app.js", "js/api.js", "js/customer.js", "js/restaurant.js", "js/admin.js")


def test_the_console_page_is_served_with_a_csp_that_allows_only_its_own_files(api):
    page = api.get("/console/", token=None)
    assert page.status_code == 200
    assert "text/html" in page.headers["Content-Type"]
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "<script>" not in page.text  # modules only, no inline script
    for name in CONSOLE_SCRIPTS:
        script = api.get(f"/console/static/{name}", token=None)
        assert script.status_code == 200, name
        assert "javascript" in script.headers["Content-Type"], name
    root = api.get("/", token=None, allow_redirects=False)
    assert root.status_code == 302 and root.headers["Location"].endswith("/console/")


def test_the_api_keeps_its_json_csp(api):
    reply = api.get("restaurants", token=None)
    assert reply.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_kafka_view_lists_every_partition_and_the_apps_consumer_groups(as_admin):
    view = expect(as_admin.get("admin/ops/kafka"), 200).json()
    assert view["available"] is True, view
    assert view["topic"] == "orders"
    partitions = [p["partition"] for p in view["partitions"]]
    assert partitions == sorted(partitions) and len(partitions) >= 1
    groups = {g["group"]: g for g in view["groups"]}
    assert {"comanda-pipeline", "comanda-restaurant-feed", "comanda-admin-projection"} <= set(
        groups
    )
    for group in groups.values():
        assert len(group["partitions"]) == len(partitions)
        assert group["lag"] == sum(p["lag"] for p in group["partitions"])
        assert all(p["lag"] >= 0 for p in group["partitions"])


def test_celery_view_names_the_worker_and_the_queue(as_admin, wait):
    def answered():
        view = expect(as_admin.get("admin/ops/celery"), 200).json()
        return view if view["available"] and view["workers"] else None

    view = wait(answered, timeout=30, message="a Celery worker answering the ping")
    names = [w["name"].split("@")[0] for w in view["workers"]]
    assert "worker" in names, names  # the followups worker may answer a ping late
    # The bulkhead's two queues: the order steps' and the payment follow-ups'.
    assert [q["queue"] for q in view["queues"]] == ["comanda", "comanda.followups"]
    for queue in view["queues"]:
        assert queue["messages"] >= 0 and queue["consumers"] >= 1, queue


def test_series_counts_an_order_placed_now(as_admin, customer, restaurant, wait):
    order = customer.place(restaurant.id, [(restaurant.item_id(), 1)])
    customer.wait_for_status(order["id"], "AWAITING_ACCEPTANCE")

    def counted():
        view = expect(as_admin.get("admin/ops/series", params={"minutes": 2}), 200).json()
        return view if sum(p["awaiting"] for p in view["points"]) >= 1 else None

    view = wait(counted, timeout=60, message="the order in the admin series")
    assert view["bucket_seconds"] == 10 and len(view["points"]) == 12
    assert any(p["p50_ms"] is not None for p in view["points"])


def test_series_refuses_out_of_range_windows(as_admin):
    expect(as_admin.get("admin/ops/series", params={"minutes": 0}), 400)
    expect(as_admin.get("admin/ops/series", params={"bucket": 1}), 400)


def test_outbox_and_dlq_views_answer(as_admin):
    outbox = expect(as_admin.get("admin/ops/outbox"), 200).json()
    assert outbox["unpublished"] >= 0
    dlq = expect(as_admin.get("admin/ops/dlq"), 200).json()
    assert dlq["available"] is True and isinstance(dlq["letters"], list)
    missing = expect(as_admin.post("admin/ops/dlq/replay", json={"spots": ["0:999999999"]}), 409)
    assert "not in the dead-letter topic" in missing.json()["message"]


def test_demo_controls_are_refused_unless_the_stack_runs_with_comanda_demo(as_admin):
    state = expect(as_admin.get("admin/ops/demo"), 200).json()
    if not state["enabled"]:
        assert "COMANDA_DEMO=1" in state["message"]
        for path, body in (
            ("admin/ops/demo/gateway-latency", {"ms": 10}),
            ("admin/ops/demo/traffic", {"rate": 1}),
            ("admin/ops/demo/processes/relay", {"action": "stop"}),
        ):
            expect(as_admin.post(path, json=body), 403)
        return
    # Demo mode: a harmless control round trip (the latency override, set then cleared).
    expect(as_admin.post("admin/ops/demo/gateway-latency", json={"ms": 5}), 200)
    expect(as_admin.post("admin/ops/demo/gateway-latency", json={"ms": None}), 200)
    expect(as_admin.post("admin/ops/demo/processes/postgres", json={"action": "stop"}), 400)


def test_the_order_carries_its_acceptance_deadline_while_it_awaits(customer, restaurant):
    order = customer.place(restaurant.id, [(restaurant.item_id(), 1)])
    assert order.get("acceptance_deadline") is None
    waiting = customer.wait_for_status(order["id"], "AWAITING_ACCEPTANCE")
    assert waiting["acceptance_deadline"] > waiting["created_at"]
    mine = expect(restaurant.client.get("restaurant"), 200).json()
    assert mine["id"] == restaurant.id and mine["acceptance_seconds"] >= 1
