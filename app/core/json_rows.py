"""Rows as one JSON array, for a statement that reads them with ``jsonb_populate_recordset``.

A multi-row VALUES built by SQLAlchemy is compiled again for every batch size (its cache key
and its compiling walk every bound value); one JSON parameter keeps the statement's text
fixed, and ``json.dumps`` is C. Pure: no database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any


def _default(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # a naive time would be read in the session's zone
            raise TypeError("naive datetime in a row: give it a time zone")
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def rows_json(rows: Iterable[dict[str, Any]]) -> str:
    """``[{column: value}, ...]`` as JSON text: datetimes (aware) as ISO 8601 with their
    offset, UUIDs as text, everything else as json writes it."""
    return json.dumps(list(rows), default=_default, separators=(",", ":"))
