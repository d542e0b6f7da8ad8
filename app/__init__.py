"""The Flask side of Comanda. ``create_app()`` is the only entry point; nothing connects
to anything until a request needs it."""

from __future__ import annotations

from flask import Flask

from app.core.settings import Settings, get_settings, use_settings


def create_app(settings: Settings | None = None) -> Flask:
    if settings is not None:
        use_settings(settings)
    settings = get_settings()
    settings.check()

    from app.api import register_api
    from app.api.errors import register_error_handlers
    from app.api.hardening import register_hardening
    from app.api.ops import ops
    from app.api.proxy import TrustedProxyFix
    from app.api.tracing import register_tracing
    from app.core.logs import setup_logging
    from roles.passwords import prepare

    setup_logging("api")
    prepare()
    flask_app = Flask(__name__)
    flask_app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        RESTX_ERROR_404_HELP=False,
        RESTX_MASK_SWAGGER=False,
        JSON_SORT_KEYS=False,
    )
    register_error_handlers(flask_app)
    register_hardening(flask_app, settings)
    register_tracing(flask_app)
    flask_app.register_blueprint(ops)
    register_api(flask_app)
    flask_app.wsgi_app = TrustedProxyFix(flask_app.wsgi_app, settings.trusted_proxies)
    return flask_app
