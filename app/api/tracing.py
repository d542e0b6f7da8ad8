"""Every request gets a correlation id: the client's X-Request-ID when it is sane, a new
one otherwise. It is echoed in the reply and travels with the events the request writes."""

from __future__ import annotations

from flask import Flask, request

from app.core import correlation


def register_tracing(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        incoming = request.headers.get(correlation.HEADER, "")
        if correlation.valid(incoming):
            correlation.use(incoming)
        else:
            correlation.new()

    @app.after_request
    def _echo(response):
        value = correlation.current()
        if value:
            response.headers[correlation.HEADER] = value
        return response
