"""Monitoring of the running stack: a real Prometheus scraping every process, Flower behind
basic auth, RabbitMQ's management API, and `stack trace` on a real order.

The URLs and logins come from `python -m stack env` (PROMETHEUS_URL, FLOWER_URL, ...)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from stack.trace import timestamp

pytestmark = pytest.mark.e2e

PIPELINE_DONE = ("AWAITING_ACCEPTANCE", "CONFIRMED", "REJECTED", "CANCELLED")
EVERY_PROGRAM = {
    "api", "relay", "pipeline", "feed", "projector", "worker", "worker-followups", "beat",
    "exporter", "flower", "prometheus",
}  # fmt: skip
P99_STEP_LATENCY = (
    "histogram_quantile(0.99, sum by (le, step)"
    " (rate(comanda_pipeline_step_duration_seconds_bucket[1m])))"
)


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f"{name} is not set: run the tests with `make test` or `eval $(make -s env)`")
    return value.rstrip("/")


def promql(query: str) -> list[dict]:
    resp = requests.get(
        f"{_env('PROMETHEUS_URL')}/api/v1/query", params={"query": query}, timeout=5
    )
    assert resp.status_code == 200, resp.text[:300]
    body = resp.json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def test_prometheus_scrapes_every_program(wait):
    def all_up():
        resp = requests.get(f"{_env('PROMETHEUS_URL')}/api/v1/targets", timeout=5)
        targets = resp.json()["data"]["activeTargets"]
        up = {t["labels"]["job"] for t in targets if t["health"] == "up"}
        return up if up >= EVERY_PROGRAM else None

    wait(all_up, timeout=30, interval=1, message=f"Prometheus targets {sorted(EVERY_PROGRAM)} up")


def test_step_latency_p99_over_the_last_minute(customer, restaurant, wait):
    def place_and_finish(n: int) -> None:
        orders = [customer.place(restaurant.id, [(restaurant.item_id(0), 1)]) for _ in range(n)]
        for order in orders:
            customer.wait_for_status(order["id"], PIPELINE_DONE, timeout=60)

    # rate() needs a series to grow between two scrapes; a series' first sample counts as its
    # start. So one order first (on a fresh stack it creates the series), then a few more.
    place_and_finish(1)
    wait(
        lambda: promql('comanda_pipeline_step_duration_seconds_count{step="authorize"}'),
        timeout=30,
        interval=1,
        message="the step histogram in Prometheus",
    )
    place_and_finish(3)

    def p99_per_step():
        numbers = {}
        for series in promql(P99_STEP_LATENCY):
            value = float(series["value"][1])
            if value == value:  # NaN: no step of that kind in the last minute
                numbers[series["metric"].get("step")] = value
        return numbers if {"validate", "reserve", "authorize"} <= set(numbers) else None

    p99 = wait(p99_per_step, timeout=40, interval=1, message="a p99 per pipeline step")
    assert all(0 < v <= 30 for v in p99.values()), p99


def test_http_durations_are_labelled_by_route_template(customer, restaurant, wait):
    order = customer.place(restaurant.id, [(restaurant.item_id(0), 1)])
    customer.order(order["id"])

    def routes():
        found = promql('comanda_http_request_duration_seconds_count{method="GET"}')
        return {s["metric"]["route"] for s in found if s["metric"]["status"] == "200"}

    seen = wait(
        lambda: "orders" in " ".join(r for r in (routes() or ()) if "<" in r) and routes(),
        timeout=30,
        interval=1,
        message="a GET of one order in the HTTP duration histogram",
    )
    # Templates, never ids: one series per route however many orders there are.
    assert not any(part.isdigit() for route in seen for part in route.split("/")), seen


def test_system_gauges_from_the_exporter(wait):
    wanted = (
        "comanda_outbox_unpublished",
        "comanda_outbox_oldest_unpublished_age_seconds",
        "comanda_dlq_messages",
        'comanda_kafka_consumer_lag{group="comanda-pipeline"}',
        "comanda_feed_unacked",  # read from feed_backlog (migration s9a)
    )

    def present():
        return all(promql(q) for q in wanted)

    wait(present, timeout=30, interval=1, message=f"gauges {wanted} in Prometheus")


def test_flower_needs_its_login(wait):
    url = _env("FLOWER_URL")
    login = (_env("FLOWER_USER"), _env("FLOWER_PASSWORD"))
    for path in ("/", "/api/workers"):
        assert requests.get(f"{url}{path}", timeout=10).status_code == 401, path
        wrong = requests.get(f"{url}{path}", auth=(login[0], "wrong"), timeout=10)
        assert wrong.status_code == 401, path
    assert requests.get(f"{url}/", auth=login, timeout=10).status_code == 200

    def workers():
        resp = requests.get(f"{url}/api/workers", params={"refresh": 1}, auth=login, timeout=30)
        assert resp.status_code == 200, resp.text[:300]
        return [name for name in resp.json() if name.startswith("worker@")]

    wait(workers, timeout=60, interval=2, message="Flower listing the Celery worker")


def test_rabbitmq_management_api():
    url = _env("RABBITMQ_MANAGEMENT_URL")
    assert requests.get(f"{url}/api/overview", timeout=10).status_code == 401
    login = (_env("RABBITMQ_MANAGEMENT_USER"), _env("RABBITMQ_MANAGEMENT_PASSWORD"))
    resp = requests.get(f"{url}/api/overview", auth=login, timeout=10)
    assert resp.status_code == 200, resp.text[:300]
    assert resp.json()["node"] == "comanda@localhost"
    queues = requests.get(f"{url}/api/queues", auth=login, timeout=10).json()
    assert "comanda" in {q["name"] for q in queues}


def test_trace_prints_one_orders_path_in_time_order(customer, restaurant, wait):
    order = customer.place(restaurant.id, [(restaurant.item_id(0), 1)])
    customer.wait_for_status(order["id"], PIPELINE_DONE, timeout=60)
    cmd = [sys.executable, "-m", "stack", "trace", str(order["id"])]

    def traced():
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        labels = {ln.split("|", 1)[0].strip() for ln in out.stdout.splitlines()[1:] if "|" in ln}
        # The request (api), the hand-off (pipeline consumer) and the steps (worker).
        return out if out.returncode == 0 and {"api", "pipeline", "worker"} <= labels else None

    out = wait(traced, timeout=30, interval=1, message=f"trace of order {order['id']}")
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"order {order['id']}: correlation ids ")
    stamps = [timestamp(ln.split("|", 1)[1].strip()) for ln in lines[1:] if "|" in ln]
    stamps = [s for s in stamps if s is not None]
    assert len(stamps) >= 3 and stamps == sorted(stamps), out.stdout[-3000:]
