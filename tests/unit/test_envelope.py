import json
import uuid

import pytest

from app.core.envelope import Envelope, EventType, PoisonMessage

pytestmark = pytest.mark.unit


def make() -> Envelope:
    return Envelope(
        type=EventType.ORDER_PLACED, order_id=7, restaurant_id=3, customer_id=9, data={"version": 1}
    )


def test_round_trip_keeps_every_field():
    original = make()
    again = Envelope.from_bytes(original.to_bytes())
    assert again == original
    assert set(json.loads(original.to_bytes())) == {
        "event_id",
        "type",
        "occurred_at",
        "order_id",
        "restaurant_id",
        "customer_id",
        "data",
    }


def test_key_is_the_restaurant_id_as_decimal_string():
    assert make().key == "3"


def test_occurred_at_is_iso_utc():
    assert json.loads(make().to_bytes())["occurred_at"].endswith("Z")


@pytest.mark.parametrize(
    "raw",
    [
        None,
        b"",
        b"not json",
        b"[]",
        b'"x"',
        b"{}",
        json.dumps(
            {
                "event_id": "nope",
                "type": "order.placed",
                "occurred_at": "2026-01-01T00:00:00Z",
                "order_id": 1,
                "restaurant_id": 1,
                "customer_id": 1,
            }
        ).encode(),
        json.dumps(
            {
                "event_id": str(uuid.uuid4()),
                "type": "order.exploded",
                "occurred_at": "2026-01-01T00:00:00Z",
                "order_id": 1,
                "restaurant_id": 1,
                "customer_id": 1,
            }
        ).encode(),
        json.dumps(
            {
                "event_id": str(uuid.uuid4()),
                "type": "order.placed",
                "occurred_at": "2026-01-01T00:00:00Z",
                "order_id": "1",
                "restaurant_id": 1,
                "customer_id": 1,
            }
        ).encode(),
        b"\xff\xfe",
    ],
)
def test_malformed_messages_are_poison(raw):
    with pytest.raises(PoisonMessage):
        Envelope.from_bytes(raw)
