"""A small HTTP client for the public contract (``/work/shared/API.md``), used by the e2e tests.

Only the contract's endpoints are used; nothing here reaches into the application's code.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

from tests import tls

API = "/api/v1"
REQUEST_TIMEOUT = 30
DEFAULT_ADDRESS = "Rua dos Testes, 123 - Pinheiros, São Paulo"
ADMIN_EMAIL = "admin@comanda.dev"
ADMIN_PASSWORD = "admin-password"  # noqa: S105 - demo seed account from the contract
DEFAULT_PASSWORD = "e2e-password-123"  # noqa: S105

FINAL_PIPELINE = {"AWAITING_ACCEPTANCE", "REJECTED", "CANCELLED"}

_UNSET: Any = object()

Waiter = Callable[..., Any]


def fresh_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@e2e.comanda.test"


def fresh_name(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:10]}"


def describe(resp: requests.Response) -> str:
    """One line for assertion messages: method, url, status and (truncated) body."""
    body = resp.text
    if len(body) > 600:
        body = body[:600] + "..."
    req = resp.request
    return f"{req.method} {req.url} -> {resp.status_code}: {body}"


def expect(resp: requests.Response, status: int) -> requests.Response:
    assert resp.status_code == status, f"expected {status}; {describe(resp)}"
    return resp


def timeline_events(order: dict) -> list[str]:
    return [step.get("event") for step in order.get("timeline") or []]


class Client:
    """A ``requests`` session bound to the stack, optionally logged in as one user."""

    def __init__(self, base_url: str, waiter: Waiter):
        self.base_url = base_url.rstrip("/")
        self.wait_until = waiter
        self.session = tls.session()  # verifies nginx against COMANDA_CA_FILE
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.expires_at: float | None = None
        self.email: str | None = None
        self.password: str | None = None
        self.user: dict = {}

    # ------------------------------------------------------------------ plumbing

    def url(self, path: str) -> str:
        if path.startswith("http://") or path.startswith("https://"):
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

        A 429 is retried after its ``Retry-After`` (that is what a well-behaved client does;
        the suite creates many users quickly).
        """
        if token is _UNSET:
            self._refresh_if_expiring()
            token = self.access_token
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
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

    def pages(self, path: str, params: dict | None = None, limit: int = 100) -> Iterator[dict]:
        """Every item of a paginated list, following ``next_cursor``."""
        params = dict(params or {})
        params["limit"] = limit
        seen_cursors: set[str] = set()
        while True:
            page = self.get_json(path, params=params)
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return
            assert cursor not in seen_cursors, f"pagination loops on cursor {cursor!r}"
            seen_cursors.add(cursor)
            params["cursor"] = cursor

    # ------------------------------------------------------------------ auth

    def register(self, email: str, password: str, name: str) -> requests.Response:
        return self.post(
            "auth/register",
            json={"email": email, "password": password, "name": name},
            token=None,
        )

    def login(self, email: str | None = None, password: str | None = None) -> str:
        """Log in (as the given user, or again as ours) and keep the tokens; return the access
        token."""
        email = email or self.email
        password = password or self.password
        resp = expect(
            self.post("auth/login", json={"email": email, "password": password}, token=None),
            200,
        )
        self.email, self.password = email, password
        self._keep_tokens(resp.json())
        return self.access_token  # type: ignore[return-value]

    def _keep_tokens(self, body: dict) -> None:
        self.access_token = body["access_token"]
        self.refresh_token = body["refresh_token"]
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

    @property
    def role(self) -> str | None:
        return self.user.get("role")

    def order_path(self, order_id: int) -> str:
        if self.role == "restaurant":
            return f"restaurant/orders/{order_id}"
        return f"orders/{order_id}"

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
        """POST /orders. ``items`` holds ``(menu_item_id, quantity)`` pairs or full dicts."""
        lines = []
        for item in items:
            if isinstance(item, dict):
                lines.append(item)
            else:
                menu_item_id, quantity = item
                lines.append({"menu_item_id": menu_item_id, "quantity": quantity})
        body = {
            "restaurant_id": restaurant_id,
            "items": lines,
            "delivery_address": address,
            "payment": {"method": "card", "token": payment_token},
        }
        body.update(extra or {})
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self.post("orders", json=body, headers=headers)

    def place(self, restaurant_id: int, items: Iterable[Any], **kw: Any) -> dict:
        """Place an order that must be accepted for processing (202); return its body."""
        resp = expect(self.place_order(restaurant_id, items, **kw), 202)
        return resp.json()

    def order(self, order_id: int) -> dict:
        return self.get_json(self.order_path(order_id))

    def wait_for_status(
        self, order_id: int, statuses: str | Iterable[str], timeout: float = 30
    ) -> dict:
        wanted = {statuses} if isinstance(statuses, str) else set(statuses)
        last: dict = {}

        def reached() -> dict | None:
            last.clear()
            last.update(self.order(order_id))
            return dict(last) if last.get("status") in wanted else None

        try:
            return self.wait_until(
                reached, timeout=timeout, interval=0.2, message=f"order {order_id} in {wanted}"
            )
        except AssertionError as exc:
            raise AssertionError(
                f"order {order_id} never reached {sorted(wanted)} within {timeout}s; "
                f"last seen status={last.get('status')!r} reason={last.get('reason')!r} "
                f"payment={last.get('payment')!r} timeline={timeline_events(last)!r}"
            ) from exc

    def wait_for_payment(self, order_id: int, status: str, timeout: float = 30) -> dict:
        def reached() -> dict | None:
            order = self.order(order_id)
            return order if (order.get("payment") or {}).get("status") == status else None

        return self.wait_until(
            reached, timeout=timeout, message=f"order {order_id} payment {status}"
        )


@dataclass
class FreshRestaurant:
    """A restaurant created by a test through the admin API, with its own logged-in user."""

    id: int
    name: str
    client: Client
    items: list[dict] = field(default_factory=list)
    body: dict = field(default_factory=dict)

    def item(self, index: int = 0) -> dict:
        return self.items[index]

    def item_id(self, index: int = 0) -> int:
        return self.items[index]["id"]

    def menu(self) -> dict[int, dict]:
        resp = expect(self.client.get("restaurant/menu"), 200)
        return {item["id"]: item for item in resp.json()}

    def stock(self, item_id: int) -> int:
        return self.menu()[item_id]["stock"]

    def wait_stock(self, item_id: int, expected: int, timeout: float = 30) -> int:
        seen: list[int] = []

        def reached() -> bool:
            seen.append(self.stock(item_id))
            return seen[-1] == expected

        try:
            self.client.wait_until(reached, timeout=timeout, message="stock")
        except AssertionError as exc:
            raise AssertionError(
                f"stock of item {item_id} never became {expected}; last seen {seen[-1:]}"
            ) from exc
        return expected

    def add_item(self, name: str, price_cents: int, stock: int) -> dict:
        resp = expect(
            self.client.post(
                "restaurant/menu", json={"name": name, "price_cents": price_cents, "stock": stock}
            ),
            201,
        )
        item = resp.json()
        self.items.append(item)
        return item

    def accept(self, order_id: int) -> requests.Response:
        return self.client.post(f"restaurant/orders/{order_id}/accept")

    def reject(self, order_id: int, reason: str = "kitchen closed") -> requests.Response:
        return self.client.post(f"restaurant/orders/{order_id}/reject", json={"reason": reason})

    def set_status(self, order_id: int, status: str) -> requests.Response:
        return self.client.post(f"restaurant/orders/{order_id}/status", json={"status": status})

    def events(self) -> list[dict]:
        return expect(self.client.get("restaurant/events"), 200).json()

    def ack(self, event_ids: Iterable[str]) -> requests.Response:
        return self.client.post("restaurant/events/ack", json={"event_ids": list(event_ids)})

    def update(self, **fields: Any) -> dict:
        return expect(self.client.patch("restaurant", json=fields), 200).json()
