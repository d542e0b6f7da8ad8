"""What customers and restaurants do to orders. Each function runs inside the caller's
unit of work; the change, its timeline row and its events commit together."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.errors import BadRequest, Conflict
from app.core.lifecycle import (
    InvalidTransition,
    Reason,
    Stage,
    Status,
    is_cancellable,
    next_kitchen_step,
    past_acceptance_deadline,
)
from app.core.models import IdempotencyKey, MenuItem, Order, OrderItem, Restaurant, utcnow
from app.core.settings import get_settings
from app.orders import stock
from app.orders.changes import lock_order, move, note, placed
from app.orders.rules import MAX_ORDER_TOTAL_CENTS, order_total, total_allowed


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def find_replay(session: Session, customer_id: int, key: str, digest: str) -> Order | None:
    """The order an earlier request with this Idempotency-Key made, if any (409 when the
    key was used for another body). Keys older than the window are forgotten."""
    window = timedelta(hours=get_settings().idempotency_hours)
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.customer_id == customer_id,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at < utcnow() - window,
        )
    )
    found = session.get(IdempotencyKey, (customer_id, key))
    if found is None:
        return None
    if found.request_hash != digest:
        raise Conflict("Idempotency-Key was already used with a different request body")
    return session.get(Order, found.order_id)


def check_intake(session: Session, body: dict[str, Any]) -> bool:
    """What intake refuses (400): a restaurant that does not exist (the foreign key keeps
    it so; an order can never attach to a restaurant created after it) and a total, at
    today's prices, above the bound. Returns whether every line names a menu item of that
    restaurant; if not, the pipeline rejects the order (invalid_order, as the contract
    says) even if an item with that id is created before it runs."""
    restaurant_id = body["restaurant_id"]
    if session.get(Restaurant, restaurant_id) is None:
        raise BadRequest("unknown restaurant", {"restaurant_id": "no such restaurant"})
    ids = {line["menu_item_id"] for line in body["items"]}
    prices = dict(
        session.execute(
            select(MenuItem.id, MenuItem.price_cents).where(
                MenuItem.id.in_(ids), MenuItem.restaurant_id == restaurant_id
            )
        ).all()
    )
    known = [line for line in body["items"] if line["menu_item_id"] in prices]
    if not total_allowed(order_total((prices[ln["menu_item_id"]], ln["quantity"]) for ln in known)):
        raise BadRequest(
            f"the order total may not exceed {MAX_ORDER_TOTAL_CENTS} cents",
            {"items": f"total above {MAX_ORDER_TOTAL_CENTS} cents"},
        )
    return len(known) == len(body["items"])


def place_order(
    session: Session, customer_id: int, body: dict[str, Any], idempotency_key: str | None
) -> tuple[Order, bool]:
    """Write a PLACED order and its order.placed event. Returns (order, created)."""
    digest = request_hash(body)
    if idempotency_key:
        existing = find_replay(session, customer_id, idempotency_key, digest)
        if existing is not None:
            return existing, False
    all_known = check_intake(session, body)
    now = utcnow()
    order = Order(
        customer_id=customer_id,
        restaurant_id=body["restaurant_id"],
        status=Status.PLACED,
        stage=Stage.NEW,
        delivery_address=body["delivery_address"],
        payment_method=body["payment"]["method"],
        payment_token=body["payment"]["token"],
        unknown_items=not all_known,
        deadline_at=now + timedelta(seconds=get_settings().pipeline_stuck_seconds),
        created_at=now,
        updated_at=now,
        items=[
            OrderItem(
                menu_item_id=line["menu_item_id"],
                quantity=line["quantity"],
                notes=line.get("notes"),
            )
            for line in body["items"]
        ],
    )
    session.add(order)
    session.flush()
    if idempotency_key:
        try:
            with session.begin_nested():
                session.add(
                    IdempotencyKey(
                        customer_id=customer_id,
                        key=idempotency_key,
                        request_hash=digest,
                        order_id=order.id,
                        created_at=now,
                    )
                )
        except IntegrityError:
            # A concurrent request with the same key won the race: answer with its order.
            session.rollback()
            existing = find_replay(session, customer_id, idempotency_key, digest)
            if existing is None:  # pragma: no cover - the winner's row is committed
                raise Conflict("Idempotency-Key is being used by another request") from None
            return existing, False
    placed(session, order)
    return order, True


def _conflict(exc: InvalidTransition) -> Conflict:
    return Conflict(f"order is {exc.current}: {exc}")


def _check_deadline(order: Order) -> None:
    """Past its acceptance deadline, an order is the sweep's to cancel (acceptance_timeout):
    no accept, reject or cancel may race it. Checked under the order's row lock."""
    if past_acceptance_deadline(order.status, order.deadline_at, utcnow()):
        raise Conflict("order is past its acceptance deadline")


def cancel_order(session: Session, customer_id: int, order_id: int, detail: str | None) -> Order:
    order = lock_order(session, order_id, customer_id=customer_id)
    _check_deadline(order)
    if not is_cancellable(Status(order.status)):
        raise Conflict(f"order is {order.status} and can no longer be cancelled")
    stop_order(session, order, Status.CANCELLED, Reason.CUSTOMER_CANCELLED, detail)
    return order


def stop_order(
    session: Session, order: Order, target: Status, reason: Reason, detail: str | None = None
) -> None:
    """Reject or cancel: release the stock in the same transaction; the payment is voided
    by the worker that consumes the resulting event."""
    move(session, order, target, reason, detail)
    order.deadline_at = None
    if stock.release(session, order):
        note(session, order, "stock_released")


def accept_order(session: Session, restaurant_id: int, order_id: int) -> Order:
    order = lock_order(session, order_id, restaurant_id=restaurant_id)
    _check_deadline(order)
    try:
        move(session, order, Status.CONFIRMED)
    except InvalidTransition as exc:
        raise _conflict(exc) from exc
    order.deadline_at = None
    stock.mark_sold(order)
    return order


def reject_order(session: Session, restaurant_id: int, order_id: int, detail: str) -> Order:
    order = lock_order(session, order_id, restaurant_id=restaurant_id)
    _check_deadline(order)
    if order.status != Status.AWAITING_ACCEPTANCE:
        raise Conflict(f"order is {order.status}: only orders awaiting acceptance can be rejected")
    stop_order(session, order, Status.REJECTED, Reason.RESTAURANT_REJECTED, detail)
    return order


def advance_order(session: Session, restaurant_id: int, order_id: int, target: Status) -> Order:
    order = lock_order(session, order_id, restaurant_id=restaurant_id)
    expected = next_kitchen_step(Status(order.status))
    if expected != target:
        raise Conflict(
            f"order is {order.status}: the next step is {expected or 'none'}, not {target}"
        )
    move(session, order, target)
    return order
