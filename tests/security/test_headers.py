"""Response headers: what a JSON API should send on every reply, no server banner, and CORS
closed unless an origin is configured (COMANDA_CORS_ORIGINS)."""

from __future__ import annotations

import pytest

from tests import tls

from .conftest import assert_error

pytestmark = pytest.mark.security

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}
APP = "https://app.example"


def calls(world, base_url):
    """One reply of each kind: 2xx of every audience, each error status, ops endpoints."""
    a, x, admin = world.a, world.x.client, world.admin
    raw = tls.session()
    return {
        "200 catalog": lambda: a.get("restaurants", token=None),
        "200 order": lambda: a.get(f"orders/{world.live_ax}"),
        "200 restaurant": lambda: x.get("restaurant/menu"),
        "200 admin": lambda: admin.get("admin/stats"),
        "204 ack": lambda: x.post("restaurant/events/ack", json={"event_ids": []}),
        "400": lambda: a.get("orders?limit=0"),
        "401": lambda: a.get("auth/me", token=None),
        "403": lambda: a.get("admin/stats"),
        "404 object": lambda: a.get(f"orders/{world.live_by}"),
        "404 route": lambda: a.get("/nope", token=None),
        "405": lambda: a.request("DELETE", "orders", token=None),
        "409": lambda: a.post(f"orders/{world.done_ax}/cancel", json={}),
        "413": lambda: a.post(
            "auth/login", data=b"x" * (1024 * 1024 + 1), headers={"Content-Type": "text/plain"}
        ),
        "healthz": lambda: raw.get(f"{base_url}/healthz"),
        "metrics": lambda: raw.get(f"{base_url}/metrics"),
        "swagger.json": lambda: raw.get(f"{base_url}/api/v1/swagger.json"),
    }


CASES = [
    "200 catalog",
    "200 order",
    "200 restaurant",
    "200 admin",
    "204 ack",
    "400",
    "401",
    "403",
    "404 object",
    "404 route",
    "405",
    "409",
    "413",
    "healthz",
    "metrics",
    "swagger.json",
]


@pytest.mark.parametrize("case", CASES)
def test_every_reply_carries_the_security_headers_and_no_banner(world, base_url, case):
    resp = calls(world, base_url)[case]()
    for name, value in EXPECTED.items():
        assert resp.headers.get(name) == value, (case, name, dict(resp.headers))
    csp = resp.headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, (case, csp)
    assert resp.headers.get("Strict-Transport-Security", "").startswith("max-age="), case
    assert "Server" not in resp.headers, (case, resp.headers.get("Server"))
    assert "X-Powered-By" not in resp.headers, case
    if resp.status_code >= 400:
        assert_error(resp, resp.status_code)


def test_405_names_the_allowed_methods(api):
    resp = api.request("DELETE", "orders", token=None)
    assert_error(resp, 405)
    assert set(resp.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_the_swagger_ui_still_renders(api):
    resp = api.get("/api/v1/docs", token=None)
    assert resp.status_code == 200 and "swagger" in resp.text.lower()


# ------------------------------------------------------------------------------ CORS


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_cors_is_closed_by_default(api, method):
    headers = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type",
    }
    resp = api.request(method, "restaurants", token=None, headers=headers)
    assert resp.status_code == 200
    leaked = [h for h in resp.headers if h.lower().startswith("access-control-")]
    assert not leaked, leaked


def test_cors_answers_only_the_configured_origins(inproc):
    client = inproc(cors_origins=(APP,))
    ok = client.get("/healthz", headers={"Origin": APP})
    assert ok.headers["Access-Control-Allow-Origin"] == APP
    assert "Origin" in ok.headers["Vary"]
    assert "Location" in ok.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in ok.headers  # bearer tokens, no cookies

    other = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Origin" in other.headers["Vary"]  # caches must not reuse APP's reply for it


def test_a_preflight_from_a_configured_origin_may_send_the_api_headers(inproc):
    client = inproc(cors_origins=(APP,))
    resp = client.options(
        "/api/v1/orders",
        headers={
            "Origin": APP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key",
        },
    )
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == APP
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed >= {"authorization", "content-type", "idempotency-key"}
