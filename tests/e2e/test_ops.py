"""Operations endpoints: health, readiness, metrics and the API documentation."""

from __future__ import annotations

import re

import pytest

from tests.support.client import describe, expect

pytestmark = pytest.mark.e2e

# Every endpoint of the contract, as (method, path) with {} for path parameters.
CONTRACT = [
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/auth/me"),
    ("get", "/api/v1/restaurants"),
    ("get", "/api/v1/restaurants/{}"),
    ("post", "/api/v1/orders"),
    ("get", "/api/v1/orders"),
    ("get", "/api/v1/orders/{}"),
    ("post", "/api/v1/orders/{}/cancel"),
    ("get", "/api/v1/restaurant/orders"),
    ("get", "/api/v1/restaurant/orders/{}"),
    ("post", "/api/v1/restaurant/orders/{}/accept"),
    ("post", "/api/v1/restaurant/orders/{}/reject"),
    ("post", "/api/v1/restaurant/orders/{}/status"),
    ("get", "/api/v1/restaurant/menu"),
    ("post", "/api/v1/restaurant/menu"),
    ("patch", "/api/v1/restaurant/menu/{}"),
    ("patch", "/api/v1/restaurant"),
    ("get", "/api/v1/restaurant/events"),
    ("post", "/api/v1/restaurant/events/ack"),
    ("post", "/api/v1/admin/restaurants"),
    ("post", "/api/v1/admin/restaurants/{}/users"),
    ("get", "/api/v1/admin/orders"),
    ("get", "/api/v1/admin/stats"),
]


def test_healthz(api):
    resp = api.get("/healthz", token=None)
    assert resp.status_code == 200, describe(resp)


def test_readyz_names_each_dependency(api):
    resp = api.get("/readyz", token=None)
    assert resp.status_code == 200, describe(resp)
    text = resp.text.lower()
    body = resp.json()
    assert isinstance(body, dict)
    for name in ("database", "kafka", "rabbitmq"):
        assert name in text, f"/readyz does not name {name}: {resp.text}"


def test_metrics_is_prometheus_text(api):
    api.get("/healthz", token=None)
    resp = api.get("/metrics", token=None)
    assert resp.status_code == 200, describe(resp)
    assert resp.headers.get("Content-Type", "").startswith("text/plain"), resp.headers
    lines = [ln for ln in resp.text.splitlines() if ln and not ln.startswith("#")]
    assert lines, "no samples in /metrics"
    sample = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eEaInNf]+( \d+)?$")
    bad = [ln for ln in lines if not sample.match(ln)]
    assert not bad, f"not Prometheus samples: {bad[:5]}"


def test_swagger_spec_lists_every_contract_endpoint(api):
    resp = api.get("/api/v1/swagger.json", token=None)
    assert resp.status_code == 200, describe(resp)
    spec = resp.json()
    assert "paths" in spec and isinstance(spec["paths"], dict)
    base = (spec.get("basePath") or "").rstrip("/")
    documented = set()
    for path, operations in spec["paths"].items():
        full = path if path.startswith("/api/v1") else base + path
        full = re.sub(r"\{[^}]*\}", "{}", full).rstrip("/") or "/"
        for method in operations:
            documented.add((method.lower(), full))
    missing = [f"{m.upper()} {p}" for m, p in CONTRACT if (m, p) not in documented]
    assert not missing, f"swagger.json lacks: {missing}"


def test_swagger_ui(api):
    resp = expect(api.get("/api/v1/docs", token=None), 200)
    assert "text/html" in resp.headers.get("Content-Type", "")
    assert "swagger" in resp.text.lower()


def test_unknown_path_is_json_404(api):
    resp = api.get("/api/v1/no-such-thing", token=None)
    assert resp.status_code == 404, describe(resp)
    assert resp.json().get("message")


def test_a_method_the_path_does_not_have_is_405_naming_the_allowed_ones(api):
    resp = api.request("DELETE", "restaurants", token=None)
    assert resp.status_code == 405, describe(resp)
    assert "GET" in resp.headers["Allow"] and "DELETE" not in resp.headers["Allow"]
    assert resp.json().get("message")
