"""The one HTTP client for Comanda's public API (``/work/shared/API.md``), on ``requests``.

It knows the URL layout, the bearer tokens (log in, keep them, log in again before they
expire), a 429's ``Retry-After`` and the order request body; nothing about the app's code.
``python -m seeds --orders N`` drives the API with it; seeds/tenants.py adds users and fresh
restaurants on top of it for the demos and the test suites (tests/support/client.py), and the
chaos harness and the benchmark build on it too (tests/chaos/api.py, tests/bench/).

Certificate verification lives here and only here: the API is served over HTTPS by nginx
with a certificate from the stack's own CA (``COMANDA_CA_FILE``, printed by ``make env``),
and every request this module sends verifies against that file when it is set. It is passed
per request because requests lets the environment's REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE
override ``Session.verify`` (psf/requests#3829). Never ``verify=False``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

import requests

API = "/api/v1"
REQUEST_TIMEOUT = 30
DEFAULT_ADDRESS = "Rua dos Testes, 123 - Pinheiros, São Paulo"
_UNSET: Any = object()


def verify_setting(ca: str | None = None) -> str | bool:
    """What ``verify=`` gets: ``ca``, else COMANDA_CA_FILE, else the system store (True)."""
    return ca or os.environ.get("COMANDA_CA_FILE", "").strip() or True


class VerifyingSession(requests.Session):
    """A session whose ``verify`` holds: every request carries it explicitly, so the
    environment's REQUESTS_CA_BUNDLE cannot replace the stack's CA."""

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        kwargs.setdefault("verify", self.verify)
        return super().request(method, url, *args, **kwargs)


def session(ca: str | None = None) -> requests.Session:
    """A requests session for the stack's API: nginx verified against ``ca`` or
    COMANDA_CA_FILE (the system store when neither is set)."""
    http = VerifyingSession()
    http.verify = verify_setting(ca)
    return http


def request(method: str, url: str, *, ca: str | None = None, **kwargs: Any) -> requests.Response:
    """``requests.request`` with the stack's CA (one-off calls without a session)."""
    kwargs.setdefault("verify", verify_setting(ca))
    return requests.request(method, url, **kwargs)


class UnexpectedReply(AssertionError):
    """A reply with another status than the call needs (an AssertionError, so a test that
    meets one fails instead of erroring)."""


def describe(resp: requests.Response) -> str:
    """One line for messages: method, url, status and (truncated) body."""
    body = resp.text
    if len(body) > 600:
        body = body[:600] + "..."
    req = resp.request
    return f"{req.method} {req.url} -> {resp.status_code}: {body}"


def expect(resp: requests.Response, status: int) -> requests.Response:
    if resp.status_code != status:
        raise UnexpectedReply(f"expected {status}; {describe(resp)}")
    return resp


def order_body(
    restaurant_id: int,
    items: Iterable[Any],
    *,
    payment_token: str = "tok_ok",
    address: str = DEFAULT_ADDRESS,
) -> dict:
    """POST /orders' body. ``items`` holds ``(menu_item_id, quantity)`` pairs or full dicts."""
    lines = [
        item if isinstance(item, dict) else {"menu_item_id": item[0], "quantity": item[1]}
        for item in items
    ]
    return {
        "restaurant_id": restaurant_id,
        "items": lines,
        "delivery_address": address,
        "payment": {"method": "card", "token": payment_token},
    }


class ApiClient:
    """A ``requests`` session bound to one API, optionally logged in as one user; nginx's
    certificate is verified against ``ca`` or COMANDA_CA_FILE on every request."""

    def __init__(self, base_url: str, timeout: float = REQUEST_TIMEOUT, ca: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session(ca)
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.expires_at: float | None = None
        self.email: str | None = None
        self.password: str | None = None

    def url(self, path: str) -> str:
        """``orders/7`` -> under /api/v1; ``/readyz`` -> from the root; full URLs as they are."""
        if path.startswith(("http://", "https://")):
            return path
        if not path.startswith("/"):
            path = f"{API}/{path}"
        return self.base_url + path

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = _UNSET,
        retry_429: bool = True,
        **kwargs: Any,
    ) -> requests.Response:
        """Send a request. ``token=None`` sends no Authorization header; default is ours.

        A 429 is retried after its ``Retry-After`` (what a well-behaved client does), for at
        most a minute.
        """
        if token is _UNSET:
            self._refresh_if_expiring()
            token = self.access_token
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("verify", self.session.verify)
        deadline = time.monotonic() + 60
        while True:
            resp = self.session.request(method, self.url(path), headers=headers, **kwargs)
            if resp.status_code != 429 or not retry_429 or time.monotonic() > deadline:
                return resp
            try:
                delay = float(resp.headers.get("Retry-After", "1"))
            except ValueError:
                delay = 1.0
            time.sleep(min(max(delay, 0.2), 10.0))

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PATCH", path, **kw)

    def get_json(self, path: str, **kw: Any) -> Any:
        return expect(self.get(path, **kw), 200).json()

    # ------------------------------------------------------------------ auth

    def register(self, email: str, password: str, name: str) -> requests.Response:
        body = {"email": email, "password": password, "name": name}
        return self.post("auth/register", json=body, token=None)

    def login(self, email: str | None = None, password: str | None = None) -> str:
        """Log in (as the given user, or again as ours), keep the tokens, return the access
        token."""
        email = email or self.email
        password = password or self.password
        body = {"email": email, "password": password}
        resp = expect(self.post("auth/login", json=body, token=None), 200)
        self.email, self.password = email, password
        self.keep_tokens(resp.json())
        return self.access_token  # type: ignore[return-value]

    def keep_tokens(self, body: dict) -> None:
        self.access_token = body["access_token"]
        self.refresh_token = body.get("refresh_token")
        expires_in = body.get("expires_in")
        self.expires_at = (
            time.monotonic() + float(expires_in) if isinstance(expires_in, (int, float)) else None
        )

    def _refresh_if_expiring(self) -> None:
        if (
            self.access_token
            and self.expires_at is not None
            and self.password
            and time.monotonic() > self.expires_at - 30
        ):
            self.login()

    def me(self) -> dict:
        return self.get_json("auth/me")

    # ------------------------------------------------------------------ orders

    def place_order(
        self,
        restaurant_id: int,
        items: Iterable[Any],
        *,
        payment_token: str = "tok_ok",
        address: str = DEFAULT_ADDRESS,
        idempotency_key: str | None = None,
        extra: dict | None = None,
    ) -> requests.Response:
        body = order_body(restaurant_id, items, payment_token=payment_token, address=address)
        body.update(extra or {})
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self.post("orders", json=body, headers=headers)
