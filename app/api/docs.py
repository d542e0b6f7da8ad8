"""Swagger models. Request bodies come from the pydantic schemas (one source of truth);
replies are flask-restx models."""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace, fields
from pydantic import BaseModel

from app.core.lifecycle import PaymentStatus, Status

ERROR_EXAMPLE = {"message": "invalid request body", "errors": {"items": "too short"}}


def body(ns: Namespace, model: type[BaseModel]):
    """Register a pydantic model as a Swagger definition. Nested models are inlined:
    flask-restx only publishes the definitions an operation names itself."""
    schema = model.model_json_schema()
    return ns.schema_model(model.__name__, _swagger2(schema, schema.pop("$defs", {})))


def _swagger2(node: Any, defs: dict) -> Any:
    """Inline $refs, write ``X | None`` (anyOf with null) as x-nullable and const as enum:
    Swagger 2.0 has neither null nor const."""
    if isinstance(node, list):
        return [_swagger2(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _swagger2(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    options = node.get("anyOf")
    if options and len(options) == 2 and {"type": "null"} in options:
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        (real,) = [o for o in options if o != {"type": "null"}]
        return {**_swagger2(real, defs), **rest, "x-nullable": True}
    if "const" in node:  # JSON Schema's const is Swagger 2.0's one-value enum
        node = {**{k: v for k, v in node.items() if k != "const"}, "enum": [node["const"]]}
    return {key: _swagger2(value, defs) for key, value in node.items()}


class _Nullable:
    def schema(self):
        return {**super().schema(), "x-nullable": True}


_nullable_types: dict[type, type] = {}


def nullable(field: type[fields.Raw], **kwargs: Any) -> fields.Raw:
    """A reply field that may be null (Swagger 2.0 has no null type: x-nullable)."""
    if field not in _nullable_types:
        _nullable_types[field] = type(f"Nullable{field.__name__}", (_Nullable, field), {})
    return _nullable_types[field](**kwargs)


def query(type_: str = "string", description: str = "", **schema: Any) -> dict:
    """A query parameter as the handlers read it: typed and bounded, and empty means absent."""
    return {"type": type_, "description": description, "allowEmptyValue": True, **schema}


def page_params(**filters: dict) -> dict:
    """Query parameters of a paginated list."""
    return {
        **filters,
        "limit": query("integer", "default 20", minimum=1, maximum=100),
        "cursor": query(description="next_cursor of the previous page (opaque)"),
    }


def status_filter() -> dict:
    return query(description="filter", enum=[s.value for s in Status])


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
            "name": nullable(
                fields.String, example="Feijoada", description="from the menu, once validated"
            ),
            "quantity": fields.Integer(example=2),
            "unit_price_cents": nullable(fields.Integer, example=3990),
            "notes": nullable(fields.String, example="no onions"),
        },
    )
    timeline = ns.model(
        "TimelineEntry",
        {
            "at": fields.String(example="2026-11-26T13:09:25.000000Z"),
            "status": fields.String(example="PLACED"),
            "event": fields.String(example="validated"),
            "detail": nullable(fields.String),
        },
    )
    payment = ns.model(
        "PaymentState",
        {
            "status": fields.String(enum=[str(p) for p in PaymentStatus]),
            "amount_cents": nullable(fields.Integer, example=7980),
        },
    )
    order = ns.model(
        "Order",
        {
            "id": fields.Integer(example=42),
            "status": fields.String(example="AWAITING_ACCEPTANCE"),
            "reason": nullable(fields.String, example="restaurant_rejected"),
            "restaurant_id": fields.Integer(example=1),
            "customer_id": fields.Integer(example=7),
            "items": fields.List(fields.Nested(line)),
            "total_cents": nullable(fields.Integer, example=7980),
            "delivery_address": fields.String(example="Rua das Flores, 10"),
            "payment": fields.Nested(payment),
            "created_at": fields.String(),
            "updated_at": fields.String(),
            "timeline": fields.List(fields.Nested(timeline)),
            "acceptance_deadline": nullable(
                fields.String, description="while AWAITING_ACCEPTANCE: when it times out"
            ),
        },
    )
    page = ns.model(
        "OrderPage",
        {
            "items": fields.List(fields.Nested(order)),
            "next_cursor": nullable(fields.String),
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
    retry_after = {"Retry-After": {"type": "integer", "description": "seconds to wait"}}
    err = error_model(ns)

    def decorate(func):
        for code in codes:
            extra = {"headers": retry_after} if code == 429 else {}
            func = ns.response(code, reasons[code], err, **extra)(func)
        return func

    return decorate
