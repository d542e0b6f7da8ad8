"""Swagger models. Request bodies come from the pydantic schemas (one source of truth);
replies are flask-restx models."""

from __future__ import annotations

from flask_restx import Namespace, fields
from pydantic import BaseModel

ERROR_EXAMPLE = {"message": "invalid request body", "errors": {"items": "too short"}}


def body(ns: Namespace, model: type[BaseModel]):
    """Register a pydantic model (and the models it nests) as Swagger definitions."""
    schema = model.model_json_schema(ref_template="#/definitions/{model}")
    for name, nested in schema.pop("$defs", {}).items():
        ns.schema_model(name, nested)
    return ns.schema_model(model.__name__, schema)


def error_model(ns: Namespace):
    return ns.model(
        "Error",
        {
            "message": fields.String(required=True, example="order not found"),
            "errors": fields.Raw(description="field -> reason", example=ERROR_EXAMPLE["errors"]),
        },
    )


def order_models(ns: Namespace):
    line = ns.model(
        "OrderLine",
        {
            "menu_item_id": fields.Integer(example=3),
            "name": fields.String(example="Feijoada", description="from the menu, once validated"),
            "quantity": fields.Integer(example=2),
            "unit_price_cents": fields.Integer(example=3990),
            "notes": fields.String(example="no onions"),
        },
    )
    timeline = ns.model(
        "TimelineEntry",
        {
            "at": fields.String(example="2026-11-26T13:09:25.000000Z"),
            "status": fields.String(example="PLACED"),
            "event": fields.String(example="validated"),
            "detail": fields.String(),
        },
    )
    payment = ns.model(
        "PaymentState",
        {
            "status": fields.String(
                enum=["PENDING", "AUTHORIZED", "CAPTURED", "VOIDED", "DECLINED"]
            ),
            "amount_cents": fields.Integer(example=7980),
        },
    )
    order = ns.model(
        "Order",
        {
            "id": fields.Integer(example=42),
            "status": fields.String(example="AWAITING_ACCEPTANCE"),
            "reason": fields.String(example=None),
            "restaurant_id": fields.Integer(example=1),
            "customer_id": fields.Integer(example=7),
            "items": fields.List(fields.Nested(line)),
            "total_cents": fields.Integer(example=7980),
            "delivery_address": fields.String(example="Rua das Flores, 10"),
            "payment": fields.Nested(payment),
            "created_at": fields.String(),
            "updated_at": fields.String(),
            "timeline": fields.List(fields.Nested(timeline)),
        },
    )
    page = ns.model(
        "OrderPage",
        {
            "items": fields.List(fields.Nested(order)),
            "next_cursor": fields.String(example=None),
        },
    )
    return order, page


def documented(ns: Namespace, *codes: int):
    """Attach the standard error replies to an operation."""
    reasons = {
        400: "invalid body or query",
        401: "missing, invalid or expired token",
        403: "this role may not do this",
        404: "unknown id, or another customer's or restaurant's object",
        409: "state conflict",
        413: "body larger than 1 MiB",
        429: "rate limited (see Retry-After)",
    }
    err = error_model(ns)

    def decorate(func):
        for code in codes:
            func = ns.response(code, reasons[code], err)(func)
        return func

    return decorate
