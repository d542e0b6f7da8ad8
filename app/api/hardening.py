"""Response headers a JSON API should send, and CORS closed unless configured."""

from __future__ import annotations

from flask import Flask, request

from app.settings import Settings

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def register_hardening(app: Flask, settings: Settings) -> None:
    allowed = set(settings.cors_origins)

    @app.after_request
    def _headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.path.startswith("/api/v1/docs") and not request.path.startswith(
            "/swaggerui"
        ):
            response.headers.setdefault("Content-Security-Policy", "default-src 'none'")
        origin = request.headers.get("Origin")
        if origin and origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        response.headers.pop("Server", None)
        return response
