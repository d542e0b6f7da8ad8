"""The REST API under /api/v1 with Swagger UI at /api/v1/docs."""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_restx import Api

AUTHORIZATIONS = {
    "Bearer": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "Bearer <access_token> from POST /auth/login",
    }
}


def register_api(app: Flask) -> Api:
    from app.api import admin, auth, catalog, customer, restaurant
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
    for module in (auth, catalog, customer, restaurant, admin):
        api.add_namespace(module.ns, path=module.PATH)

    @api.errorhandler(Exception)
    def _delegate(exc):  # let the Flask handlers shape every error the same way
        raise exc

    app.register_blueprint(blueprint)
    return api
