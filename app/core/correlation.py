"""The correlation id: one value that follows an order's work across HTTP (X-Request-ID),
outbox rows and Kafka headers, and Celery message headers, and appears in every log line.

Pure: a context variable and a logging filter.
"""

from __future__ import annotations

import logging
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current() -> str | None:
    return _current.get()


def use(value: str | None) -> None:
    _current.set(value if value and valid(value) else None)


def new() -> str:
    value = uuid.uuid4().hex
    _current.set(value)
    return value


def valid(value: str) -> bool:
    return 0 < len(value) <= 64 and all(c.isalnum() or c in "-_.:" for c in value)


class LogFilter(logging.Filter):
    """Adds ``correlation_id`` to every record (``-`` when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = _current.get() or "-"
        return True
