"""The relational schema. Plain SQLAlchemy 2.0 mappings; behaviour lives elsewhere."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.core.lifecycle import (
    HOLDS_RESERVATION,
    PAYMENT_OPEN,
    PaymentStatus,
    Stage,
    StockState,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


Timestamp = DateTime(timezone=True)


def one_of(column: str, values) -> str:
    """``column in ('A', 'B')`` for a partial index's WHERE, from a lifecycle set (sorted,
    so the text is stable and a migration can be compared to it)."""
    return f"{column} in ({', '.join(repr(str(v)) for v in sorted(values))})"


# The partial indexes' predicates that keep the sweeps O(rows that could be due), not
# O(all rows ever): written from the lifecycle tables, and migrations/versions/s7a_*
# holds the same text (tests/unit/test_sweep_indexes.py keeps the two in step).
PAYMENTS_OPEN_WHERE = one_of("status", PAYMENT_OPEN)
# An order holding its reservation (the orders' statuses the s8a triggers test), and the
# open payments of orders that moved on: the few a lost capture or void can be among.
ORDER_HELD = one_of("status", HOLDS_RESERVATION)
PAYMENTS_SETTLE_DUE_WHERE = f"{PAYMENTS_OPEN_WHERE} and not order_held"
FEED_ACKED_WHERE = "acked_at is not null"


class Restaurant(Base):
    __tablename__ = "restaurants"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    cuisine: Mapped[str] = mapped_column(String(120), default="")
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    acceptance_seconds: Mapped[int] = mapped_column(Integer, default=300)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored normalised (roles/emails.py), so the unique key is on the normalised form.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    restaurant_id: Mapped[int | None] = mapped_column(ForeignKey("restaurants.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    __table_args__ = (
        CheckConstraint("role in ('customer','restaurant','admin')", name="users_role"),
        CheckConstraint("(role = 'restaurant') = (restaurant_id is not null)", name="users_tenant"),
    )


class AuthSession(Base):
    """A login: the family of refresh tokens and the access tokens issued from it."""

    __tablename__ = "auth_sessions"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)
    revoked_reason: Mapped[str | None] = mapped_column(String(40))


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth_sessions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    used_at: Mapped[datetime | None] = mapped_column(Timestamp)


class MenuItem(Base):
    __tablename__ = "menu_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    restaurant_id: Mapped[int] = mapped_column(ForeignKey("restaurants.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    price_cents: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)
    __table_args__ = (
        CheckConstraint("stock >= 0", name="menu_items_stock_non_negative"),
        CheckConstraint("price_cents >= 0", name="menu_items_price_non_negative"),
    )


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Refused at intake when it names no restaurant; the key keeps it so (an order never
    # attaches to a restaurant created after it).
    restaurant_id: Mapped[int] = mapped_column(ForeignKey("restaurants.id"))
    status: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(String(40))
    # Pipeline progress while PLACED: new -> validated -> stock_reserved -> (authorized).
    stage: Mapped[str] = mapped_column(String(30), default=Stage.NEW.value)
    delivery_address: Mapped[str] = mapped_column(String(300))
    payment_method: Mapped[str] = mapped_column(String(20))
    payment_token: Mapped[str] = mapped_column(String(120))
    total_cents: Mapped[int | None] = mapped_column(BigInteger)
    # Set at intake when a line named a menu item the restaurant did not have then: the
    # pipeline rejects the order (invalid_order) even if an item with that id appears later.
    unknown_items: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # The time by which the order must leave its current state (acceptance or pipeline).
    deadline_at: Mapped[datetime | None] = mapped_column(Timestamp)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # The stuck-order sweep's backoff: how often it re-drove the order, and not before when.
    redrive_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_redrive_at: Mapped[datetime | None] = mapped_column(Timestamp)
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", order_by="OrderItem.id", lazy="selectin"
    )
    # Loaded only where shown (the API's views); the pipeline steps never need it.
    timeline: Mapped[list[TimelineEntry]] = relationship(order_by="TimelineEntry.id")
    payment: Mapped[Payment | None] = relationship(lazy="selectin")
    __table_args__ = (
        Index("orders_customer_id_id", "customer_id", "id"),
        Index("orders_restaurant_id_id", "restaurant_id", "id"),
        Index("orders_status_deadline", "status", "deadline_at"),
    )


class OrderItem(Base):
    __tablename__ = "order_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    menu_item_id: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(String(300))
    name: Mapped[str | None] = mapped_column(String(120))  # snapshot from the menu
    unit_price_cents: Mapped[int | None] = mapped_column(BigInteger)  # snapshot from the menu
    # none -> reserved -> released | sold: the line's claim on menu_items.stock
    stock_state: Mapped[str] = mapped_column(String(10), default=StockState.NONE.value)
    order: Mapped[Order] = relationship(back_populates="items")


class Payment(Base):
    __tablename__ = "payments"
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.PENDING.value)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)
    # Whether the order is in HOLDS_RESERVATION (ORDER_HELD). Written by PostgreSQL only:
    # triggers of migration s8a set it at insert and when the order crosses that line; the
    # app never writes it.
    order_held: Mapped[bool] = mapped_column(Boolean, server_default="true")
    # The payments that may still move money (payments_open), and among them those whose
    # order moved on (payments_settle_due): where the stuck-order sweep looks for a lost
    # capture or void, instead of every payment ever made or every order awaiting a
    # restaurant (all of which hold an authorized payment).
    __table_args__ = (
        Index("payments_open", "order_id", postgresql_where=PAYMENTS_OPEN_WHERE),
        Index("payments_settle_due", "order_id", postgresql_where=PAYMENTS_SETTLE_DUE_WHERE),
    )


class TimelineEntry(Base):
    __tablename__ = "order_timeline"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    status: Mapped[str] = mapped_column(String(30))
    event: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, index=True)


class OutboxEvent(Base):
    """Events written in the same transaction as the change they report."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    topic: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSONB)
    headers: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(Timestamp)
    __table_args__ = (
        Index("outbox_unpublished", "id", postgresql_where="published_at is null"),
        # The published rows by publish time: what the retention prune may delete, found
        # without reading the rest (migration s9b).
        Index("outbox_published", "published_at", postgresql_where="published_at is not null"),
    )


class GatewayCharge(Base):
    """The simulated payment gateway's own ledger (an external system in real life)."""

    __tablename__ = "gateway_charges"
    idempotency_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    token: Mapped[str] = mapped_column(String(120))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    authorizations: Mapped[int] = mapped_column(Integer, default=0)
    captures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class RestaurantEvent(Base):
    """The restaurant events feed, filled by a Kafka consumer, drained by acks."""

    __tablename__ = "restaurant_events"
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    restaurant_id: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    order_id: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(Timestamp)
    data: Mapped[dict] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    acked_at: Mapped[datetime | None] = mapped_column(Timestamp)
    __table_args__ = (
        Index(
            "restaurant_events_pending",
            "restaurant_id",
            "occurred_at",
            postgresql_where="acked_at is null",
        ),
        # The acknowledged rows the retention task deletes, found without reading the
        # unacknowledged ones (which may pile up for a restaurant that never acks).
        Index("restaurant_events_acked", "acked_at", postgresql_where=FEED_ACKED_WHERE),
    )


class ProjectedOrder(Base):
    """Admin read model: one row per order, built from the event stream."""

    __tablename__ = "proj_orders"
    order_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    restaurant_id: Mapped[int] = mapped_column(Integer, index=True)
    customer_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30), index=True)
    reason: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    doc: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    awaiting_at: Mapped[datetime | None] = mapped_column(Timestamp)
    accepted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    captured_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class ProjectedEvent(Base):
    """Event ids a projection has applied: the dedupe that makes it idempotent."""

    __tablename__ = "proj_events"
    consumer: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class ProjectedStatusCount(Base):
    """The admin projection's orders by status, kept by PostgreSQL triggers on proj_orders
    (migration s9a), so the exporter reads a few rows instead of counting the table."""

    __tablename__ = "proj_status_counts"
    status: Mapped[str] = mapped_column(String(30), primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger)


class FeedBacklog(Base):
    """Each restaurant's unacknowledged feed rows, kept by PostgreSQL triggers on
    restaurant_events (migration s9a)."""

    __tablename__ = "feed_backlog"
    restaurant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unacked: Mapped[int] = mapped_column(BigInteger)


class LoginFailure(Base):
    """Failed logins, counted per account and per client address to throttle guessing."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account: Mapped[str] = mapped_column(String(254))
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    __table_args__ = (
        Index("login_failures_account_at", "account", "at"),
        Index("login_failures_client_at", "client", "at"),
    )


class RuntimeOverride(Base):
    """A setting changed at run time from the console's demo controls (e.g. the gateway's
    latency). Shared by every process through the database; absent means "use the default"."""

    __tablename__ = "runtime_overrides"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
