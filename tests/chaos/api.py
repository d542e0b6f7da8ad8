"""A small client for the public contract, built for chaos: every call returns a Reply, never
raises, and says whether its outcome is known (an answer) or unknown (no answer: refused
connection, reset, timeout, a 5xx that is not a proper 503, or nginx's own 503).

nginx answers 503 when an API process died or refused the connection (stack/nginx.py,
@unavailable). When the process died *after* the request reached it, the request may have
committed before its reply was lost: that 503 says nothing about the outcome. The app's own
503 (PostgreSQL or Kafka unavailable) comes after a rollback, so it does."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from seeds.client import ApiClient

TIMEOUT = 15.0  # a reply slower than this is a hang
# The message of nginx's own 503 (stack/nginx.py): no API process gave an answer.
PROXY_UNAVAILABLE = "the API is restarting; retry shortly"


@dataclass
class Reply:
    status: int | None  # None: no HTTP answer at all
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # exception name when there was no answer
    sent: float = 0.0  # wall-clock seconds (comparable with the database's timestamps)
    received: float = 0.0

    @property
    def from_proxy(self) -> bool:
        """nginx's own 503: the API process may have done the work before it died."""
        return (
            self.status == 503
            and isinstance(self.body, dict)
            and self.body.get("message") == PROXY_UNAVAILABLE
        )

    @property
    def known(self) -> bool:
        """The server answered something that tells us what happened."""
        if self.from_proxy:
            return False
        return self.status is not None and (self.status < 500 or self.status == 503)

    @property
    def label(self) -> str:
        if self.from_proxy:
            return "error:proxy-503"  # an unknown outcome (ledger.Action.unknown)
        return str(self.status) if self.status is not None else f"error:{self.error}"


class Problems:
    """API behaviour item 1 forbids: 500s, 503 without Retry-After, hangs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[str] = []
        self.calls = 0
        self.refused_503 = 0
        self.unanswered = 0

    def note(self, method: str, path: str, reply: Reply) -> None:
        at = time.strftime("%H:%M:%S", time.gmtime(reply.sent)) + f"{reply.sent % 1:.3f}"[1:]
        call = f"{method} {path} sent {at}Z"
        with self.lock:
            self.calls += 1
            if reply.status == 503:
                self.refused_503 += 1
                if "Retry-After" not in reply.headers:
                    self.items.append(f"{call}: 503 without Retry-After")
            elif reply.status is not None and reply.status >= 500:
                self.items.append(f"{call}: {reply.status} {str(reply.body)[:200]}")
            elif reply.status is None:
                self.unanswered += 1
                if reply.error in ("ReadTimeout", "Timeout"):
                    took = reply.received - reply.sent
                    self.items.append(f"{call}: no reply within {took:.0f}s (hang)")


class User(ApiClient):
    """One account on the API (the shared client, seeds/client.py); logs itself in again
    when its token nears expiry. ``call`` never raises: it returns a Reply."""

    def __init__(self, base_url: str, email: str, password: str, problems: Problems) -> None:
        super().__init__(base_url, timeout=TIMEOUT)
        self.email, self.password = email, password
        self.problems = problems
        self.token: str | None = None
        self.expires_at = 0.0
        self.id: int | None = None
        self.restaurant_id: int | None = None
        self.lock = threading.Lock()

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        params: dict[str, Any] | None = None,
        timeout: float = TIMEOUT,
    ) -> Reply:
        token = None
        if auth:
            token = self.ensure_token()
            if token is None:
                now = time.time()
                return Reply(None, error="NotLoggedIn", sent=now, received=now)
        sent = time.time()
        try:
            resp = self.request(
                method,
                path.lstrip("/"),
                token=token,
                retry_429=False,
                json=json,
                headers=headers,
                params=params,
                timeout=timeout,
            )
        except requests.RequestException as exc:
            reply = Reply(None, error=type(exc).__name__, sent=sent, received=time.time())
            self.problems.note(method, path, reply)
            return reply
        try:
            body = resp.json() if resp.content else None
        except ValueError:
            body = resp.text
        reply = Reply(resp.status_code, body, dict(resp.headers), None, sent, time.time())
        self.problems.note(method, path, reply)
        if reply.status == 401 and auth:
            with self.lock:
                self.token = None  # log in again next time
        return reply

    def ensure_token(self) -> str | None:
        with self.lock:
            if self.token and time.monotonic() < self.expires_at:
                return self.token
            reply = self.call(
                "POST", "/auth/login", json={"email": self.email, "password": self.password},
                auth=False,
            )  # fmt: skip
            if reply.status != 200:
                return None
            self.token = reply.body["access_token"]
            # Log in again well before expiry: a stale token mid-outage would only add noise.
            self.expires_at = time.monotonic() + 0.6 * float(reply.body.get("expires_in", 300))
            return self.token

    def login(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.ensure_token() is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"cannot log in as {self.email}")
            time.sleep(1)

    def must(self, method: str, path: str, expect: int, timeout: float = 120, **kw: Any) -> Any:
        """Setup calls: retry until the expected answer (the stack is healthy during setup)."""
        deadline = time.monotonic() + timeout
        while True:
            reply = self.call(method, path, **kw)
            if reply.status == expect:
                return reply.body
            if reply.known and reply.status not in (401, 503):
                raise RuntimeError(f"{method} {path}: {reply.label} {reply.body}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{method} {path}: still {reply.label} after {timeout}s")
            time.sleep(1)
