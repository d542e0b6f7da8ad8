"""The web console: static HTML, CSS and JavaScript modules served by Comanda itself.

It has no server-side logic of its own. The page logs in through /api/v1/auth like any
client and does everything through the public API, so it gets no private shortcut.
"""

from __future__ import annotations

from flask import Blueprint, Flask, redirect, send_from_directory

console = Blueprint("console", __name__, static_folder="static", static_url_path="/static",
                    url_prefix="/console")  # fmt: skip

# Only the console's own files: no inline script or style, no other origin, no framing.
# connect-src 'self' is the API (same origin); img-src data: is for the inline SVG icon.
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


@console.get("/")
def index():
    return send_from_directory(console.static_folder, "index.html")


@console.after_request
def _csp(response):
    # Set before the app-wide hook, which only fills in a CSP when none is set.
    response.headers["Content-Security-Policy"] = CONSOLE_CSP
    return response


def register_console(app: Flask) -> None:
    app.register_blueprint(console)

    @app.get("/")
    def _root():
        return redirect("/console/", code=302)
