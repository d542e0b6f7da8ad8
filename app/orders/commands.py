"""What customers and restaurants do to orders. Each function runs inside the caller's
unit of work; the change, its timeline row and its events commit together."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.core.envelope import Envelope, EventType
from app.core.errors import BadRequest, Conflict
from app.core.lifecycle import (
    InvalidTransition,
    Reason,
    Status,
    StockState,
    is_cancellable,
    next_kitchen_step,
    past_acceptance_deadline,
)
from app.core.models import Order, utcnow
from app.core.settings import get_settings
from app.orders import intake, outbox, stock
from app.orders.changes import lock_order, move, note
from app.orders.rules import MAX_ORDER_TOTAL_CENTS, order_total, total_allowed
from app.orders.view import new_order_row, order_view, placed_view


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def check_intake(restaurant_found: bool, prices: dict[int, int], items: list[dict]) -> bool:
    """What intake refuses (400): a restaurant that does not exist (the foreign key keeps
    it so; an order can never attach to a restaurant created after it) and a total, at
    today's prices, above the bound. Returns whether every line names a menu item of that
    restaurant; if not, the pipeline rejects the order (invalid_order, as the contract
    says) even if an item with that id is created before it runs. Pure: ``prices`` holds
    only that restaurant's items."""
    if not restaurant_found:
        raise BadRequest("unknown restaurant", {"restaurant_id": "no such restaurant"})
    known = [line for line in items if line["menu_item_id"] in prices]
    if not total_allowed(order_total((prices[ln["menu_item_id"]], ln["quantity"]) for ln in known)):
        raise BadRequest(
            f"the order total may not exceed {MAX_ORDER_TOTAL_CENTS} cents",
            {"items": f"total above {MAX_ORDER_TOTAL_CENTS} cents"},
        )
    return len(known) == len(items)


def check_replay(stored_hash: str, digest: str) -> None:
    """Same Idempotency-Key, another body: 409 (the contract). Pure."""
    if stored_hash != digest:
        raise Conflict("Idempotency-Key was already used with a different request body")


def place_order(
    session: Session, customer_id: int, body: dict[str, Any], idempotency_key: str | None
) -> tuple[Order, bool]:
    """Write a PLACED order and its order.placed event in the session's transaction.
    Returns (order, created)."""
    view, created = place(session.connection(), customer_id, body, idempotency_key)
    return session.get(Order, view["id"]), created


def place(
    conn: Connection, customer_id: int, body: dict[str, Any], idempotency_key: str | None
) -> tuple[dict[str, Any], bool]:
    """Write a PLACED order, its lines, its timeline row and its order.placed event; return
    (the order's view, created). The intake's hot path: one statement reads what intake
    needs, one writes it all (app/orders/intake.py), and the view and the event are built
    from what was written (nothing read back). On an autocommit connection the write is
    its own transaction; inside a caller's transaction it joins it."""
    digest = request_hash(body)
    now = utcnow()
    fresh_since = now - timedelta(hours=get_settings().idempotency_hours)
    item_ids = sorted({line["menu_item_id"] for line in body["items"]})
    looked = intake.look(
        conn, customer_id, body["restaurant_id"], item_ids, idempotency_key, fresh_since
    )
    if looked.replay_order_id is not None:
        return _replayed(conn, looked, digest), False
    all_known = check_intake(looked.restaurant_found, looked.prices, body["items"])
    row = new_order_row(customer_id, body, now, get_settings().pipeline_stuck_seconds)
    row["unknown_items"] = not all_known
    order_id = looked.order_id
    lines = [
        {
            "order_id": order_id,
            "menu_item_id": line["menu_item_id"],
            "quantity": line["quantity"],
            "notes": line.get("notes"),
        }
        for line in body["items"]
    ]
    view = placed_view(order_id, row, lines)
    summary = {k: v for k, v in view.items() if k not in ("timeline", "acceptance_deadline")}
    event = outbox.row(
        Envelope(
            type=EventType.ORDER_PLACED,
            order_id=order_id,
            restaurant_id=row["restaurant_id"],
            customer_id=customer_id,
            occurred_at=now,
            data={"version": row["version"], "order": summary},
        )
    )
    written = intake.write(
        conn,
        order_id,
        row,
        lines,
        str(StockState.NONE),
        event,
        idempotency_key,
        digest,
        fresh_since,
    )
    if written:
        return view, True
    # A concurrent request with the same key won the race: answer with its order.
    looked = intake.look(
        conn, customer_id, body["restaurant_id"], item_ids, idempotency_key, fresh_since
    )
    if looked.replay_order_id is None:  # pragma: no cover - the winner's row is committed
        raise Conflict("Idempotency-Key is being used by another request")
    return _replayed(conn, looked, digest), False


def _replayed(conn: Connection, looked: intake.Looked, digest: str) -> dict[str, Any]:
    """The view of the order an earlier request with this key made (409 if its body differs)."""
    check_replay(looked.replay_hash or "", digest)
    with Session(bind=conn) as session:
        return order_view(session.get(Order, looked.replay_order_id))


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
