"""Request bodies: strict types and bounds. Unknown fields are ignored, never applied."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    ),
]
Note = Annotated[str, StringConstraints(max_length=300)]


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class Password(Body):
    password: str = Field(min_length=8, max_length=72)

    @field_validator("password")
    @classmethod
    def _bcrypt_limit(cls, value: str) -> str:
        if len(value.encode()) > 72:
            raise ValueError("must be at most 72 bytes in UTF-8")
        return value


class RegisterIn(Password):
    email: Email
    name: Name


class LoginIn(Body):
    email: Annotated[str, StringConstraints(max_length=254)]
    password: Annotated[str, StringConstraints(max_length=200)]


class RefreshIn(Body):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class OrderLineIn(Body):
    menu_item_id: Id
    quantity: int = Field(ge=1, le=99)
    notes: Note | None = None


class PaymentIn(Body):
    method: Literal["card"]
    token: Annotated[str, StringConstraints(min_length=1, max_length=120)]


class PlaceOrderIn(Body):
    restaurant_id: Id
    items: list[OrderLineIn] = Field(min_length=1, max_length=50)
    delivery_address: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)
    ]
    payment: PaymentIn


class CancelIn(Body):
    reason: Note | None = None


class RejectIn(Body):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class StatusIn(Body):
    status: Literal["PREPARING", "READY", "DISPATCHED", "DELIVERED"]


Price = Annotated[int, Field(ge=0, le=10_000_000)]
Stock = Annotated[int, Field(ge=0, le=1_000_000)]


class MenuItemIn(Body):
    name: Name
    price_cents: Price
    stock: Stock
    available: bool = True


class MenuItemPatch(Body):
    name: Name | None = None
    price_cents: Price | None = None
    stock: Stock | None = None
    available: bool | None = None


AcceptanceSeconds = Annotated[int, Field(ge=1, le=86_400)]


class RestaurantPatch(Body):
    is_open: bool | None = None
    acceptance_seconds: AcceptanceSeconds | None = None


class RestaurantIn(Body):
    name: Name
    cuisine: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] = ""
    acceptance_seconds: AcceptanceSeconds | None = None


class AckIn(Body):
    event_ids: list[Annotated[str, StringConstraints(max_length=64)]] = Field(max_length=1000)
