"""HTTP request duration by route template, method and status, and the token-guarded
/metrics on the public port (the scrape port is the API's loopback metrics port)."""

from __future__ import annotations

import hmac
import time

from flask import Blueprint, Flask, Response, g, request

from app.api.errors import error_reply
from app.core import metrics
from app.core.settings import get_settings

public_metrics = Blueprint("metrics", __name__)
UNMATCHED = "<unmatched>"  # 404s: one label, however many paths a scanner tries


def register_request_metrics(app: Flask) -> None:
    @app.before_request
    def _clock() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        began = g.pop("metrics_started", None)
        if began is not None:
            route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
            metrics.HTTP_DURATION.labels(route, request.method, str(response.status_code)).observe(
                time.perf_counter() - began
            )
        return response


def token_ok(header: str, token: str) -> bool:
    """Only `Bearer <token>` with the configured, non-empty token."""
    scheme, _, given = header.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given, token)


@public_metrics.get("/metrics")
def scrape():
    token = get_settings().metrics_token
    if not token:
        return error_reply(404, "not found")
    if not token_ok(request.headers.get("Authorization", ""), token):
        return error_reply(
            401, "metrics need the metrics token", headers={"WWW-Authenticate": "Bearer"}
        )
    return Response(metrics.render(), mimetype="text/plain; version=0.0.4")
