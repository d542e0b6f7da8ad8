"""Response headers a JSON API should send, and CORS closed unless configured.

CORS is flask-cors (preflight, Allow-Origin per request, Vary), enabled only for the
origins in COMANDA_CORS_ORIGINS, with no credentials mode (tokens are bearer headers)."""

from __future__ import annotations

from flask import Flask, request
from flask_cors import CORS

from app.core.settings import Settings

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Strict-Transport-Security is not here: it is only true over TLS, so nginx, which terminates
# TLS, adds it to its HTTPS replies (stack/nginx.py); the app itself only ever speaks HTTP.
# frame-ancestors does not fall back to default-src, so it is named too.
JSON_CSP = "default-src 'none'; frame-ancestors 'none'"
# What a browser client on an allowed origin may send and read (bearer tokens, no cookies).
CORS_METHODS = ["GET", "POST", "PATCH"]
CORS_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key"]
CORS_EXPOSE = ["Location", "Retry-After"]
CORS_MAX_AGE = 600


def _is_docs(path: str) -> bool:
    return path.startswith("/api/v1/docs") or path.startswith("/swaggerui")


def register_hardening(app: Flask, settings: Settings) -> None:
    allowed = list(settings.cors_origins)
    if allowed:
        CORS(
            app,
            origins=allowed,
            methods=CORS_METHODS,
            allow_headers=CORS_HEADERS,
            expose_headers=CORS_EXPOSE,
            max_age=CORS_MAX_AGE,
            supports_credentials=False,
        )

    @app.after_request
    def _headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not _is_docs(request.path):
            response.headers.setdefault("Content-Security-Policy", JSON_CSP)
        if allowed:
            # flask-cors adds Vary only to the replies it allows; every reply differs by
            # Origin, so caches must not serve an allowed origin's reply to another.
            response.vary.add("Origin")
        response.headers.pop("Server", None)
        return response
