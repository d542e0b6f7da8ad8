"""The event envelope on the ``orders`` topic. Pure: no Kafka, no database."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    ORDER_PLACED = "order.placed"
    ORDER_AWAITING_ACCEPTANCE = "order.awaiting_acceptance"
    ORDER_ACCEPTED = "order.accepted"
    ORDER_REJECTED = "order.rejected"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_STATUS_CHANGED = "order.status_changed"
    PAYMENT_AUTHORIZED = "payment.authorized"
    PAYMENT_CAPTURED = "payment.captured"
    PAYMENT_VOIDED = "payment.voided"
    PAYMENT_DECLINED = "payment.declined"


class PoisonMessage(ValueError):
    """A message that can never be handled: it goes to the dead-letter topic."""


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(raw: str) -> datetime:
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Envelope:
    type: EventType
    order_id: int
    restaurant_id: int
    customer_id: int
    data: dict[str, Any]
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def key(self) -> str:
        """Kafka key: the restaurant id as a decimal string (one partition per restaurant)."""
        return str(self.restaurant_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "type": str(self.type),
            "occurred_at": iso(self.occurred_at),
            "order_id": self.order_id,
            "restaurant_id": self.restaurant_id,
            "customer_id": self.customer_id,
            "data": self.data,
        }

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()

    @classmethod
    def from_dict(cls, raw: Any) -> Envelope:
        if not isinstance(raw, dict):
            raise PoisonMessage("envelope is not a JSON object")
        try:
            return cls(
                event_id=uuid.UUID(str(raw["event_id"])),
                type=EventType(raw["type"]),
                occurred_at=parse_iso(str(raw["occurred_at"])),
                order_id=_int(raw["order_id"]),
                restaurant_id=_int(raw["restaurant_id"]),
                customer_id=_int(raw["customer_id"]),
                data=raw.get("data") if isinstance(raw.get("data"), dict) else {},
            )
        except KeyError as exc:
            raise PoisonMessage(f"envelope lacks {exc.args[0]!r}") from exc
        except (ValueError, TypeError) as exc:
            raise PoisonMessage(f"envelope is malformed: {exc}") from exc

    @classmethod
    def from_bytes(cls, value: bytes | None) -> Envelope:
        if value is None:
            raise PoisonMessage("empty message")
        try:
            raw = json.loads(value)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PoisonMessage(f"message is not JSON: {exc}") from exc
        return cls.from_dict(raw)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer id, got {value!r}")
    return value
