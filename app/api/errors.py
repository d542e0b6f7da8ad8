"""One JSON shape for every error: {"message": ..., "errors"?: {...}}. No stack traces,
SQL or library names ever reach a client."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from app.core.errors import AppError, TooManyRequests, Unavailable
from app.core.lifecycle import InvalidTransition

log = logging.getLogger("comanda.api")
# An oversized body left unread makes the server's close a TCP reset, and the client then
# sees "connection reset" instead of the 413. Up to this much of it is read and dropped.
DRAIN_BYTES = 8 * 1024 * 1024


def error_reply(status: int, message: str, errors: dict | None = None, headers=None):
    body = {"message": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_app_error(exc: AppError):
    headers = {}
    if isinstance(exc, TooManyRequests | Unavailable):
        headers["Retry-After"] = str(exc.retry_after)
    return error_reply(exc.status, exc.message, exc.errors, headers)


def handle_transition(exc: InvalidTransition):
    return error_reply(409, str(exc))


def handle_http(exc: HTTPException):
    messages = {
        404: "not found",
        405: "method not allowed",
        413: "request body too large",
    }
    message = messages.get(exc.code or 500, exc.description or exc.name)
    headers = {}
    if exc.code == 413:
        _drain_body()
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))  # RFC 9110: 405 names them
    return error_reply(exc.code or 500, message, headers=headers)


def _drain_body() -> None:
    stream = request.environ.get("wsgi.input")
    length = request.content_length
    if stream is None or (length is not None and length > DRAIN_BYTES):
        return
    left = DRAIN_BYTES
    while left > 0 and (chunk := stream.read(min(left, 65536))):
        left -= len(chunk)


def handle_database(exc: Exception):
    log.warning("database unavailable: %s", type(exc).__name__)
    return error_reply(503, "service temporarily unavailable", headers={"Retry-After": "5"})


def handle_unexpected(exc: Exception):
    log.exception("unhandled error")
    return error_reply(500, "internal error")


HANDLERS = [
    (AppError, handle_app_error),
    (InvalidTransition, handle_transition),
    (OperationalError, handle_database),
    (PoolTimeout, handle_database),
]


def register_error_handlers(app: Flask) -> None:
    for exc_type, handler in HANDLERS:
        app.register_error_handler(exc_type, handler)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(DBAPIError, handle_database_or_bug)
    app.register_error_handler(Exception, handle_unexpected)


def handle_database_or_bug(exc: DBAPIError):
    if exc.connection_invalidated or isinstance(exc, OperationalError):
        return handle_database(exc)
    return handle_unexpected(exc)
