"""Customer order flows: place, list, get, cancel."""

from __future__ import annotations

from flask_restx import Namespace, Resource

from app.api.connection import request_connection
from app.api.docs import body, documented, order_models, page_params, status_filter
from app.api.guards import current, requires
from app.api.orders_query import get_order, idempotency_key, list_orders
from app.api.schemas import CancelIn, PlaceOrderIn
from app.api.validation import parse
from app.core.db import unit_of_work
from app.orders import commands
from app.orders.view import order_view
from roles import Role

PATH = "/orders"
ns = Namespace("orders", description="Customer orders")
order_model, page_model = order_models(ns)
ORDER_ID = "<int(max=2147483647):order_id>"


@ns.route("")
class Orders(Resource):
    @ns.doc(
        security="Bearer",
        params={
            "Idempotency-Key": {
                "in": "header",
                "type": "string",
                "minLength": 1,
                "maxLength": 120,
                # printable ASCII; HTTP drops surrounding spaces, so none at the ends
                "pattern": "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$",
                "description": "same key and body within 24h: the same order, no second one",
            }
        },
    )
    @ns.expect(body(ns, PlaceOrderIn))
    @ns.response(
        202,
        "order accepted for processing (status PLACED)",
        order_model,
        headers={"Location": "/api/v1/orders/{id}"},
    )
    @documented(ns, 400, 401, 403, 409, 413)
    @requires(Role.CUSTOMER, keep_connection=True)
    def post(self):
        """Place an order. Business rules are checked by the pipeline, which ends in
        AWAITING_ACCEPTANCE or REJECTED with a reason."""
        data = parse(PlaceOrderIn)
        view, _ = commands.place(
            request_connection(),
            current().user_id,
            data.model_dump(mode="json"),
            idempotency_key(),
        )
        return view, 202, {"Location": f"/api/v1/orders/{view['id']}"}

    @ns.doc(
        security="Bearer",
        params=page_params(status=status_filter()),
    )
    @ns.response(200, "the caller's orders, newest first", page_model)
    @documented(ns, 400, 401, 403)
    @requires(Role.CUSTOMER)
    def get(self):
        """List my orders."""
        return list_orders(customer_id=current().user_id)


@ns.route(f"/{ORDER_ID}")
class OneOrder(Resource):
    @ns.doc(security="Bearer")
    @ns.response(200, "the order with its timeline", order_model)
    @documented(ns, 401, 403, 404)
    @requires(Role.CUSTOMER)
    def get(self, order_id: int):
        """One of my orders."""
        return get_order(order_id, customer_id=current().user_id)


@ns.route(f"/{ORDER_ID}/cancel")
class CancelOrder(Resource):
    @ns.doc(security="Bearer", params={"payload": {"in": "body", "required": False}})
    @ns.expect(body(ns, CancelIn))
    @ns.response(202, "cancelled; stock released and payment voided", order_model)
    @documented(ns, 400, 401, 403, 404, 409, 413)
    @requires(Role.CUSTOMER)
    def post(self, order_id: int):
        """Cancel an order that is not yet confirmed."""
        data = parse(CancelIn, optional=True)
        with unit_of_work() as session:
            order = commands.cancel_order(session, current().user_id, order_id, data.reason)
            return order_view(order), 202
