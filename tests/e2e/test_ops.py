"""Operations endpoints: health, readiness, metrics (closed to anonymous callers) and the API
documentation."""

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


def test_anonymous_metrics_on_the_public_port_get_nothing(api):
    """Prometheus scrapes each process's loopback port (tests/e2e/test_monitoring.py); on the
    public port /metrics is off (404) or needs COMANDA_METRICS_TOKEN (401)."""
    for token in (None, "Bearer guess"):
        headers = {"Authorization": token} if token else {}
        resp = api.get("/metrics", token=None, headers=headers)
        assert resp.status_code in (401, 404), describe(resp)
        assert "comanda_" not in resp.text and "# TYPE" not in resp.text, resp.text[:300]
        assert resp.json().get("message"), describe(resp)


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
