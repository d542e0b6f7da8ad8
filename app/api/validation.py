"""Reading request input: JSON bodies through the schemas, query strings, paging."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import TypeVar

from flask import request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from app.core.errors import BadRequest

M = TypeVar("M", bound=BaseModel)
MAX_CURSOR_ID = 2**31 - 1  # the id columns lists page over are 32-bit


def json_body(optional: bool = False) -> object:
    raw = request.get_data(cache=True)
    if _truncated(raw):
        raise RequestEntityTooLarge()
    if not raw.strip():
        if optional:
            return {}
        raise BadRequest("request body must be a JSON object")
    if not request.mimetype == "application/json":
        raise BadRequest("Content-Type must be application/json")
    try:
        body = json.loads(raw, object_pairs_hook=_unique_keys)
    except DuplicateKey as exc:
        raise BadRequest("request body repeats a key", {str(exc): "repeated"}) from exc
    # ValueError covers bad JSON and UTF-8 and integers past Python's 4300-digit limit;
    # RecursionError is what a deeply nested body (well under 1 MiB) raises.
    except (ValueError, RecursionError) as exc:
        raise BadRequest("request body is not valid JSON") from exc
    return body


class DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """One rule for a key named twice in one JSON object: 400. RFC 8259 leaves it to the
    parser ("last one wins" here, "first one wins" elsewhere), so a proxy or a log reader
    could see another body than the one we act on."""
    body = dict(pairs)
    if len(body) != len(pairs):
        seen: set[str] = set()
        repeated = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise DuplicateKey(repeated[:64])
    return body


def refuse_repeated_query() -> None:
    """One rule for a query parameter named twice (?limit=1&limit=100): 400, for every
    parameter of every endpoint, rather than silently using the first or the last."""
    repeated = sorted({name for name in request.args if len(request.args.getlist(name)) > 1})
    if repeated:
        raise BadRequest(
            "a query parameter may appear only once",
            {name[:64]: "repeated" for name in repeated[:10]},
        )


def _truncated(raw: bytes) -> bool:
    """A chunked body has no Content-Length to refuse up front: werkzeug stops reading at
    MAX_CONTENT_LENGTH and hands over what it read. If more was sent, that is a 413."""
    limit = request.max_content_length
    if request.content_length is not None or limit is None or len(raw) < limit:
        return False
    return bool(request.environ["wsgi.input"].read(1))


def parse(model: type[M], optional: bool = False) -> M:
    body = json_body(optional)
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = {}
        for error in exc.errors(include_url=False, include_input=False):
            field = ".".join(str(part) for part in error["loc"]) or "body"
            errors.setdefault(field, error["msg"])
        raise BadRequest("invalid request body", errors) from exc


def query_int(name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    # ASCII digits only: "²".isdigit() is true but int("²") fails; the length bound keeps
    # int() away from huge inputs.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or not low <= int(raw) <= high:
        raise BadRequest(f"{name} must be an integer from {low} to {high}", {name: "invalid"})
    return int(raw)


def query_choice(name: str, choices: set[str]) -> str | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise BadRequest(f"{name} must be one of {', '.join(sorted(choices))}", {name: "invalid"})
    return raw


def query_time(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(f"{name} must be an ISO-8601 time", {name: "invalid"}) from exc
    if value.tzinfo is None:
        raise BadRequest(f"{name} must include a time zone (e.g. Z)", {name: "invalid"})
    return value


def page_args() -> tuple[int, int | None]:
    """(limit, id to start below) from ?limit= and ?cursor=."""
    limit = query_int("limit", 20, 1, 100)
    raw = request.args.get("cursor")
    if raw is None or raw == "":
        return limit, None
    try:
        decoded = base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)).decode()
        kind, _, value = decoded.partition(":")
        # What make_cursor writes: "id:" and an id of the 32-bit key range (1 to 2**31-1).
        # Anything else, 2**31 included, is refused here rather than reaching the query.
        if kind != "id" or not (value.isascii() and value.isdigit()) or len(value) > 10:
            raise ValueError
        if not 1 <= int(value) <= MAX_CURSOR_ID:
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("cursor is malformed", {"cursor": "invalid"}) from exc
    return limit, int(value)


def make_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def page(rows: list, limit: int, key, render) -> dict:
    """rows were fetched with limit+1: the extra row only says there is a next page."""
    items = rows[:limit]
    more = len(rows) > limit
    return {
        "items": [render(r) for r in items],
        "next_cursor": make_cursor(key(items[-1])) if more and items else None,
    }
