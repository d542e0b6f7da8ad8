"""Counts every gateway call by operation and outcome, without touching what the call does."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from app.core.metrics import GATEWAY_CALLS

F = TypeVar("F", bound=Callable)


def outcome_of(result: object = None, error: BaseException | None = None) -> str:
    """The label for one call: the charge status it returned, or the kind of failure."""
    if error is None:
        return str(getattr(result, "status", "none"))
    name = type(error).__name__
    for kind in ("Timeout", "Transient", "Refused"):
        if kind in name:
            return kind.lower()
    return "error"


def counted(method: F) -> F:
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            result = method(*args, **kwargs)
        except Exception as exc:
            GATEWAY_CALLS.labels(method.__name__, outcome_of(error=exc)).inc()
            raise
        GATEWAY_CALLS.labels(method.__name__, outcome_of(result)).inc()
        return result

    return wrapper  # type: ignore[return-value]
