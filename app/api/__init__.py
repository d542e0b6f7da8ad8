"""The Flask application: ``create_app()`` (the only entry point; nothing connects to
anything until a request needs it) and the REST API under /api/v1 with Swagger UI at
/api/v1/docs."""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_restx import Api

from app.core.settings import Settings, get_settings, use_settings

AUTHORIZATIONS = {
    "Bearer": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "Bearer <access_token> from POST /auth/login",
    }
}


def register_api(app: Flask) -> Api:
    from app.api import admin, admin_ops, auth, catalog, customer, restaurant
    from app.api.validation import refuse_repeated_query

    blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
    blueprint.before_request(refuse_repeated_query)
    api = Api(
        blueprint,
        version="1.0",
        title="Comanda API",
        description="Food-delivery marketplace: customers order, restaurants accept, "
        "an event-driven pipeline (outbox -> Kafka -> Celery) does the rest.",
        doc="/docs",
        authorizations=AUTHORIZATIONS,
    )
    for module in (auth, catalog, customer, restaurant, admin, admin_ops):
        api.add_namespace(module.ns, path=module.PATH)

    @api.errorhandler(Exception)
    def _delegate(exc):  # let the Flask handlers shape every error the same way
        raise exc

    app.register_blueprint(blueprint)
    return api


def create_app(settings: Settings | None = None) -> Flask:
    if settings is not None:
        use_settings(settings)
    settings = get_settings()
    settings.check()

    from app.api import register_api
    from app.api.connection import register_request_connection
    from app.api.errors import register_error_handlers
    from app.api.hardening import register_hardening
    from app.api.metrics import public_metrics, register_request_metrics
    from app.api.ops import ops
    from app.api.proxy import TrustedProxyFix
    from app.api.tracing import register_tracing
    from app.core.logs import setup_logging
    from app.web import register_console
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
    register_request_connection(flask_app)
    register_hardening(flask_app, settings)
    register_tracing(flask_app)
    register_request_metrics(flask_app)
    flask_app.register_blueprint(public_metrics)
    flask_app.register_blueprint(ops)
    register_api(flask_app)
    register_console(flask_app)
    flask_app.wsgi_app = TrustedProxyFix(flask_app.wsgi_app, settings.trusted_proxies)
    return flask_app
