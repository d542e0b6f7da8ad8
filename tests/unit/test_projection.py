"""The admin projection's rule (app.orders.projection), on plain data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.core.envelope import Envelope, EventType, PoisonMessage
from app.orders.projection import first_seen, fold, project

pytestmark = pytest.mark.unit
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def event(kind: EventType, version: int, status: str, seconds: int = 0, **data) -> Envelope:
    snapshot = {"id": 7, "status": status, "created_at": "2026-01-01T12:00:00.000000Z"}
    return Envelope(
        type=kind,
        order_id=7,
        restaurant_id=3,
        customer_id=5,
        occurred_at=T0 + timedelta(seconds=seconds),
        data={"version": version, "order": snapshot, **data},
    )


def test_the_first_event_makes_the_row():
    row = project(None, event(EventType.ORDER_PLACED, 1, "PLACED"))
    assert (row["order_id"], row["restaurant_id"], row["customer_id"]) == (7, 3, 5)
    assert (row["status"], row["version"], row["captured_cents"]) == ("PLACED", 1, 0)
    assert row["created_at"] == T0
    assert [e["event"] for e in row["doc"]["timeline"]] == ["order.placed"]


def test_a_later_version_moves_the_status_and_stamps_awaiting():
    placed = project(None, event(EventType.ORDER_PLACED, 1, "PLACED"))
    waiting = project(
        placed, event(EventType.ORDER_AWAITING_ACCEPTANCE, 3, "AWAITING_ACCEPTANCE", 1)
    )
    assert (waiting["status"], waiting["version"]) == ("AWAITING_ACCEPTANCE", 3)
    assert waiting["awaiting_at"] == T0 + timedelta(seconds=1)
    assert placed["status"] == "PLACED"  # the input row is not changed


def test_an_older_version_arriving_late_keeps_the_status_but_joins_the_timeline():
    waiting = project(None, event(EventType.ORDER_AWAITING_ACCEPTANCE, 3, "AWAITING_ACCEPTANCE", 2))
    late = project(waiting, event(EventType.ORDER_PLACED, 1, "PLACED", 0))
    assert (late["status"], late["version"]) == ("AWAITING_ACCEPTANCE", 3)
    assert [e["status"] for e in late["doc"]["timeline"]] == ["PLACED", "AWAITING_ACCEPTANCE"]


def test_captures_add_up_and_acceptance_is_stamped():
    row = project(None, event(EventType.ORDER_ACCEPTED, 4, "CONFIRMED", 3))
    row = project(row, event(EventType.PAYMENT_CAPTURED, 5, "CONFIRMED", 4, amount_cents=1500))
    assert row["accepted_at"] == T0 + timedelta(seconds=3)
    assert row["captured_cents"] == 1500


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"order": {"status": "PLACED"}},
        {"order": "x", "version": 1},
        {"version": 1, "order": {"status": "PLACED", "created_at": "not a time"}},
    ],
)
def test_an_event_without_a_usable_snapshot_is_poison(data):
    envelope = Envelope(
        type=EventType.ORDER_PLACED, order_id=1, restaurant_id=1, customer_id=1, data=data
    )
    with pytest.raises(PoisonMessage):
        project(None, envelope)


def test_fold_applies_a_batch_in_order_and_returns_only_changed_rows():
    other = project(None, event(EventType.ORDER_PLACED, 1, "PLACED"))
    other = {**other, "order_id": 8}
    rows = {8: other}
    changed = fold(
        rows,
        [
            event(EventType.ORDER_PLACED, 1, "PLACED"),
            event(EventType.ORDER_AWAITING_ACCEPTANCE, 3, "AWAITING_ACCEPTANCE", 1),
        ],
    )
    assert list(changed) == [7]
    assert changed[7]["status"] == "AWAITING_ACCEPTANCE"
    assert len(changed[7]["doc"]["timeline"]) == 2
    assert rows == {8: other}


def test_first_seen_keeps_fresh_events_once_in_order():
    a, b = event(EventType.ORDER_PLACED, 1, "PLACED"), event(EventType.ORDER_PLACED, 1, "PLACED")
    assert first_seen([a, b, a], {a.event_id}) == [a]
    assert first_seen([a, b, a], {a.event_id, b.event_id, uuid.uuid4()}) == [a, b]
