"""Restaurant flows, scoped to the caller's own restaurant: orders, menu, events feed."""

from __future__ import annotations

import uuid

from flask_restx import Namespace, Resource, fields
from sqlalchemy import select, update

from app.api import replies
from app.api.docs import body, documented, order_models, page_params, status_filter
from app.api.guards import current, requires
from app.api.orders_query import get_order, list_orders
from app.api.schemas import AckIn, MenuItemIn, MenuItemPatch, RejectIn, RestaurantPatch, StatusIn
from app.api.validation import parse
from app.core.db import read_only, unit_of_work
from app.core.envelope import iso
from app.core.errors import NotFound
from app.core.lifecycle import Status
from app.core.models import MenuItem, Restaurant, RestaurantEvent, utcnow
from app.orders import commands
from app.orders.view import order_view
from roles import Role

PATH = "/restaurant"
ns = Namespace("restaurant", description="A restaurant's own orders, menu and events feed")
restaurant_model = replies.restaurant_model(ns)
order_model, page_model = order_models(ns)
ORDER_ID = "<int(max=2147483647):order_id>"
menu_item_model = ns.model(
    "MenuItem",
    {
        "id": fields.Integer(example=3),
        "name": fields.String(example="Feijoada"),
        "price_cents": fields.Integer(example=3990),
        "available": fields.Boolean(example=True),
        "stock": fields.Integer(example=20),
    },
)
event_model = ns.model(
    "FeedEvent",
    {
        "event_id": fields.String(example="9b2f6d0e-3c1a-4e57-9d55-2f0b1c2d3e4f"),
        "type": fields.String(example="order.awaiting_acceptance"),
        "order_id": fields.Integer(example=42),
        "occurred_at": fields.String(),
        "data": fields.Raw(),
    },
)


def tenant() -> int:
    return current().restaurant_id


def menu_view(m: MenuItem) -> dict:
    return {
        "id": m.id,
        "name": m.name,
        "price_cents": m.price_cents,
        "available": m.available,
        "stock": m.stock,
    }


@ns.route("/orders")
class RestaurantOrders(Resource):
    @ns.doc(security="Bearer", params=page_params(status=status_filter()))
    @ns.response(200, "this restaurant's orders, newest first", page_model)
    @documented(ns, 400, 401, 403)
    @requires(Role.RESTAURANT)
    def get(self):
        """List this restaurant's orders."""
        return list_orders(restaurant_id=tenant())


@ns.route(f"/orders/{ORDER_ID}")
class RestaurantOrder(Resource):
    @ns.doc(security="Bearer")
    @ns.response(200, "the order", order_model)
    @documented(ns, 401, 403, 404)
    @requires(Role.RESTAURANT)
    def get(self, order_id: int):
        """One of this restaurant's orders."""
        return get_order(order_id, restaurant_id=tenant())


@ns.route(f"/orders/{ORDER_ID}/accept")
class Accept(Resource):
    @ns.doc(security="Bearer")
    @ns.response(202, "confirmed; the payment is captured", order_model)
    @documented(ns, 401, 403, 404, 409)
    @requires(Role.RESTAURANT)
    def post(self, order_id: int):
        """Accept an order awaiting acceptance."""
        with unit_of_work() as session:
            return order_view(commands.accept_order(session, tenant(), order_id)), 202


@ns.route(f"/orders/{ORDER_ID}/reject")
class Reject(Resource):
    @ns.doc(security="Bearer")
    @ns.expect(body(ns, RejectIn))
    @ns.response(202, "rejected; stock released, payment voided", order_model)
    @documented(ns, 400, 401, 403, 404, 409, 413)
    @requires(Role.RESTAURANT)
    def post(self, order_id: int):
        """Reject an order awaiting acceptance."""
        data = parse(RejectIn)
        with unit_of_work() as session:
            return order_view(commands.reject_order(session, tenant(), order_id, data.reason)), 202


@ns.route(f"/orders/{ORDER_ID}/status")
class Progress(Resource):
    @ns.doc(security="Bearer")
    @ns.expect(body(ns, StatusIn))
    @ns.response(202, "moved to the next kitchen step", order_model)
    @documented(ns, 400, 401, 403, 404, 409, 413)
    @requires(Role.RESTAURANT)
    def post(self, order_id: int):
        """Move a confirmed order one step: PREPARING, READY, DISPATCHED, DELIVERED."""
        data = parse(StatusIn)
        with unit_of_work() as session:
            order = commands.advance_order(session, tenant(), order_id, Status(data.status))
            return order_view(order), 202


@ns.route("/menu")
class Menu(Resource):
    @ns.doc(security="Bearer")
    @ns.response(200, "the menu with stock", [menu_item_model])
    @documented(ns, 401, 403)
    @requires(Role.RESTAURANT)
    def get(self):
        """This restaurant's menu, with stock."""
        with read_only() as session:
            items = session.scalars(
                select(MenuItem).where(MenuItem.restaurant_id == tenant()).order_by(MenuItem.id)
            ).all()
            return [menu_view(m) for m in items]

    @ns.doc(security="Bearer")
    @ns.expect(body(ns, MenuItemIn))
    @ns.response(201, "created", menu_item_model)
    @documented(ns, 400, 401, 403, 413)
    @requires(Role.RESTAURANT)
    def post(self):
        """Add a menu item."""
        data = parse(MenuItemIn)
        with unit_of_work() as session:
            item = MenuItem(restaurant_id=tenant(), **data.model_dump())
            session.add(item)
            session.flush()
            return menu_view(item), 201


@ns.route("/menu/<int(max=2147483647):item_id>")
class MenuEntry(Resource):
    @ns.doc(security="Bearer")
    @ns.expect(body(ns, MenuItemPatch))
    @ns.response(200, "updated", menu_item_model)
    @documented(ns, 400, 401, 403, 404, 413)
    @requires(Role.RESTAURANT)
    def patch(self, item_id: int):
        """Change a menu item's name, price, stock or availability."""
        changes = parse(MenuItemPatch).model_dump(exclude_none=True)
        with unit_of_work() as session:
            item = session.scalars(
                select(MenuItem)
                .where(MenuItem.id == item_id, MenuItem.restaurant_id == tenant())
                .with_for_update()
            ).one_or_none()
            if item is None:
                raise NotFound("menu item not found")
            for name, value in changes.items():
                setattr(item, name, value)
            session.flush()
            return menu_view(item)


@ns.route("")
class OwnRestaurant(Resource):
    @ns.doc(security="Bearer")
    @ns.response(200, "this restaurant, with its time to accept", restaurant_model)
    @documented(ns, 401, 403)
    @requires(Role.RESTAURANT)
    def get(self):
        """This restaurant: open or closed, and its acceptance_seconds."""
        with read_only() as session:
            restaurant = session.get(Restaurant, tenant())
            return {
                **replies.restaurant_view(restaurant),
                "acceptance_seconds": restaurant.acceptance_seconds,
            }

    @ns.doc(security="Bearer")
    @ns.expect(body(ns, RestaurantPatch))
    @ns.response(200, "updated", restaurant_model)
    @documented(ns, 400, 401, 403, 413)
    @requires(Role.RESTAURANT)
    def patch(self):
        """Open or close the restaurant; set its time to accept (acceptance_seconds)."""
        changes = parse(RestaurantPatch).model_dump(exclude_none=True)
        with unit_of_work() as session:
            restaurant = session.get(Restaurant, tenant(), with_for_update=True)
            for name, value in changes.items():
                setattr(restaurant, name, value)
            return {
                **replies.restaurant_view(restaurant),
                "acceptance_seconds": restaurant.acceptance_seconds,
            }


@ns.route("/events")
class Feed(Resource):
    @ns.doc(security="Bearer")
    @ns.response(200, "unacknowledged events, oldest first, at most 100", [event_model])
    @documented(ns, 401, 403)
    @requires(Role.RESTAURANT)
    def get(self):
        """This restaurant's events not yet acknowledged."""
        with read_only() as session:
            events = session.scalars(
                select(RestaurantEvent)
                .where(
                    RestaurantEvent.restaurant_id == tenant(), RestaurantEvent.acked_at.is_(None)
                )
                .order_by(RestaurantEvent.occurred_at, RestaurantEvent.event_id)
                .limit(100)
            ).all()
            return [
                {
                    "event_id": str(e.event_id),
                    "type": e.type,
                    "order_id": e.order_id,
                    "occurred_at": iso(e.occurred_at),
                    "data": e.data,
                }
                for e in events
            ]


@ns.route("/events/ack")
class FeedAck(Resource):
    @ns.doc(security="Bearer")
    @ns.expect(body(ns, AckIn))
    @ns.response(204, "acknowledged (unknown or foreign ids are ignored)")
    @documented(ns, 400, 401, 403, 413)
    @requires(Role.RESTAURANT)
    def post(self):
        """Acknowledge events so they leave the feed."""
        ids = []
        for raw in parse(AckIn).event_ids:
            try:
                ids.append(uuid.UUID(raw))
            except ValueError:
                continue  # not an id this feed ever gave out: ignored like an unknown one
        if ids:
            with unit_of_work() as session:
                session.execute(
                    update(RestaurantEvent)
                    .where(
                        RestaurantEvent.event_id.in_(ids),
                        RestaurantEvent.restaurant_id == tenant(),
                        RestaurantEvent.acked_at.is_(None),
                    )
                    .values(acked_at=utcnow())
                )
        return "", 204
