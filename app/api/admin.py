"""Admin: restaurants and their users, every order, aggregate stats."""

from __future__ import annotations

from flask_restx import Namespace, Resource, fields
from sqlalchemy import select

from app.api import replies
from app.api.docs import body, documented, order_models, page_params, query, status_filter
from app.api.guards import requires
from app.api.orders_query import STATUSES
from app.api.schemas import RegisterIn, RestaurantIn
from app.api.validation import page, page_args, parse, query_choice, query_int, query_time
from app.core.db import read_only, unit_of_work
from app.core.errors import BadRequest, NotFound
from app.core.models import ProjectedOrder, Restaurant
from app.core.settings import get_settings
from app.orders.stats import admin_stats
from roles import Role, accounts

PATH = "/admin"
ns = Namespace("admin", description="Marketplace administration and aggregate views")
restaurant_model = replies.restaurant_model(ns)
user_model = replies.user_model(ns)
order_model, page_model = order_models(ns)
stats_model = ns.model(
    "Stats",
    {
        "orders_by_status": fields.Raw(example={"AWAITING_ACCEPTANCE": 3, "DELIVERED": 10}),
        "gross_revenue_cents": fields.Integer(example=125000),
        "restaurants": fields.List(
            fields.Raw(
                example={
                    "restaurant_id": 1,
                    "name": "Cantina da Vila",
                    "orders": 13,
                    "accepted": 10,
                    "rejected": 1,
                    "revenue_cents": 125000,
                    "acceptance_rate": 0.9091,
                    "avg_seconds_to_accept": 41.2,
                }
            )
        ),
        "cancellations_by_reason": fields.Raw(example={"customer_cancelled": 2}),
        "pipeline": fields.Raw(example={"p50_ms": 180.0, "p95_ms": 420.0}),
    },
)


@ns.route("/restaurants")
class Restaurants(Resource):
    @ns.doc(security="Bearer")
    @ns.expect(body(ns, RestaurantIn))
    @ns.response(201, "created", restaurant_model)
    @documented(ns, 400, 401, 403, 413)
    @requires(Role.ADMIN)
    def post(self):
        """Create a restaurant (a tenant)."""
        data = parse(RestaurantIn)
        seconds = data.acceptance_seconds or get_settings().acceptance_seconds
        with unit_of_work() as session:
            restaurant = Restaurant(
                name=data.name, cuisine=data.cuisine, is_open=True, acceptance_seconds=seconds
            )
            session.add(restaurant)
            session.flush()
            return {**replies.restaurant_view(restaurant), "acceptance_seconds": seconds}, 201


@ns.route("/restaurants/<int(max=2147483647):restaurant_id>/users")
class RestaurantUsers(Resource):
    @ns.doc(security="Bearer")
    @ns.expect(body(ns, RegisterIn))
    @ns.response(201, "a user with role restaurant", user_model)
    @documented(ns, 400, 401, 403, 404, 409, 413)
    @requires(Role.ADMIN)
    def post(self, restaurant_id: int):
        """Create a login for a restaurant."""
        data = parse(RegisterIn)
        with read_only() as session:
            if session.get(Restaurant, restaurant_id) is None:
                raise NotFound("restaurant not found")
        user = accounts.create_user(
            data.email, data.password, data.name, Role.RESTAURANT, restaurant_id
        )
        return replies.user_view(user), 201


@ns.route("/orders")
class AllOrders(Resource):
    @ns.doc(
        security="Bearer",
        params=page_params(
            status=status_filter(),
            restaurant_id=query("integer", "filter", minimum=1, maximum=2**31 - 1),
        ),
    )
    @ns.response(200, "all orders, newest first (from the event projection)", page_model)
    @documented(ns, 400, 401, 403)
    @requires(Role.ADMIN)
    def get(self):
        """Every order, as projected from the event stream."""
        limit, below = page_args()
        status = query_choice("status", STATUSES)
        restaurant_id = query_int("restaurant_id", None, 1, 2**31 - 1)
        query = select(ProjectedOrder).order_by(ProjectedOrder.order_id.desc()).limit(limit + 1)
        if status:
            query = query.where(ProjectedOrder.status == status)
        if restaurant_id:
            query = query.where(ProjectedOrder.restaurant_id == restaurant_id)
        if below is not None:
            query = query.where(ProjectedOrder.order_id < below)
        with read_only() as session:
            rows = session.scalars(query).all()
            return page(rows, limit, lambda r: r.order_id, lambda r: r.doc)


@ns.route("/stats")
class Stats(Resource):
    @ns.doc(
        security="Bearer",
        params={
            "from": query(description="orders created at or after", format="date-time"),
            "to": query(description="orders created before", format="date-time"),
        },
    )
    @ns.response(200, "aggregates built from the event stream", stats_model)
    @documented(ns, 400, 401, 403)
    @requires(Role.ADMIN)
    def get(self):
        """Marketplace aggregates."""
        since, until = query_time("from"), query_time("to")
        if since and until and since > until:
            raise BadRequest("from must not be after to", {"from": "after to"})
        with read_only() as session:
            return admin_stats(session, since, until)
