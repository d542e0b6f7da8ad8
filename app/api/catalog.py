"""The public catalog: restaurants and their menus."""

from __future__ import annotations

from flask_restx import Namespace, Resource, fields
from sqlalchemy import select

from app.api import replies
from app.api.docs import documented, nullable, page_params
from app.api.validation import page, page_args
from app.core.db import read_only
from app.core.errors import NotFound
from app.core.models import MenuItem, Restaurant

PATH = "/restaurants"
ns = Namespace("catalog", description="Public restaurant listing and menus")

restaurant_model = replies.restaurant_model(ns)
menu_entry = ns.model(
    "MenuEntry",
    {
        "id": fields.Integer(example=3),
        "name": fields.String(example="Feijoada"),
        "price_cents": fields.Integer(example=3990),
        "available": fields.Boolean(example=True),
    },
)
detail_model = ns.inherit(
    "RestaurantDetail",
    restaurant_model,
    {
        "menu": fields.List(fields.Nested(menu_entry)),
    },
)
page_model = ns.model(
    "RestaurantPage",
    {
        "items": fields.List(fields.Nested(restaurant_model)),
        "next_cursor": nullable(fields.String),
    },
)


@ns.route("")
class RestaurantList(Resource):
    @ns.doc(params=page_params())
    @ns.response(200, "a page of restaurants", page_model)
    @documented(ns, 400)
    def get(self):
        """List restaurants."""
        limit, below = page_args()
        query = select(Restaurant).order_by(Restaurant.id.desc()).limit(limit + 1)
        if below is not None:
            query = query.where(Restaurant.id < below)
        with read_only() as session:
            rows = session.scalars(query).all()
            return page(rows, limit, lambda r: r.id, replies.restaurant_view)


@ns.route("/<int(max=2147483647):restaurant_id>")
class RestaurantDetail(Resource):
    @ns.response(200, "the restaurant and its menu", detail_model)
    @documented(ns, 404)
    def get(self, restaurant_id: int):
        """A restaurant with its menu."""
        with read_only() as session:
            restaurant = session.get(Restaurant, restaurant_id)
            if restaurant is None:
                raise NotFound("restaurant not found")
            menu = session.scalars(
                select(MenuItem)
                .where(MenuItem.restaurant_id == restaurant_id)
                .order_by(MenuItem.id)
            ).all()
            return {
                **replies.restaurant_view(restaurant),
                "menu": [
                    {
                        "id": m.id,
                        "name": m.name,
                        "price_cents": m.price_cents,
                        "available": m.available,
                    }
                    for m in menu
                ],
            }
