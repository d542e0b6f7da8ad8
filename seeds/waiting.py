"""Polling until a condition holds, with a timeout that says what was last seen. The test
suites and the demos both wait on the live stack this way (tests/conftest.py re-exports it
for the fixtures)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

_MISSING = object()


def wait_until(
    predicate: Callable[[], Any],
    timeout: float = 30.0,
    interval: float = 0.2,
    message: str = "condition",
) -> Any:
    """Call ``predicate`` until it returns something truthy and return that value.

    On timeout raise AssertionError naming the last value seen (or the last exception the
    predicate raised), so a failure says what the system looked like, not just "timed out".
    """
    deadline = time.monotonic() + timeout
    last: Any = _MISSING
    last_exc: BaseException | None = None
    while True:
        try:
            last = predicate()
            last_exc = None
            if last:
                return last
        except AssertionError as exc:  # a predicate may assert; keep polling
            last_exc = exc
        if time.monotonic() >= deadline:
            seen = f"last exception: {last_exc!r}" if last_exc else f"last value: {last!r}"
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {message}; {seen}")
        time.sleep(interval)
