"""Response headers a JSON API should send, and CORS closed unless configured."""

from __future__ import annotations

from flask import Flask, request

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
CORS_PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, POST, PATCH",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key",
    "Access-Control-Max-Age": "600",
}
CORS_EXPOSE = "Location, Retry-After"


def _is_docs(path: str) -> bool:
    return path.startswith("/api/v1/docs") or path.startswith("/swaggerui")


def register_hardening(app: Flask, settings: Settings) -> None:
    allowed = set(settings.cors_origins)

    @app.after_request
    def _headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not _is_docs(request.path):
            response.headers.setdefault("Content-Security-Policy", JSON_CSP)
        if allowed:
            response.vary.add("Origin")  # replies differ by Origin: caches must not mix them
        origin = request.headers.get("Origin")
        if origin and origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE
            if request.method == "OPTIONS":
                response.headers.update(CORS_PREFLIGHT)
        response.headers.pop("Server", None)
        return response
