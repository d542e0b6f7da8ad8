"""Request bodies: strict types and bounds. Unknown fields are ignored, never applied.

Every string refuses NUL (PostgreSQL text cannot hold it), in the published schema too.
Lengths are checked on the string as sent (what the schema promises) and again after it
is normalised where that can lengthen it, so no value outgrows its column."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from roles import emails

MAX_ID = 2**31 - 1
NO_NUL = r"^[^\x00]*$"
# Surrounding whitespace is stripped afterwards, so the pattern allows it.
# The dot may be any full stop IDNA reads as one (roles/emails.py maps them).
EMAIL = r"^\s*[^@\s\x00]+@[^@\s\x00]+[.。．｡][^@\s\x00]+\s*$"


def _stripped(min_length: int) -> Callable[[str], str]:
    def strip(value: str) -> str:
        value = value.strip()
        if len(value) < min_length:
            raise ValueError("must not be blank")
        return value

    return strip


def _email(value: str) -> str:
    """Registration stores the normal form (roles/emails.py) and refuses look-alikes that
    stay ambiguous. Normalising can lengthen ("İ" is two characters in lower case), so the
    254 of the columns is checked again."""
    try:
        value = emails.canonical(value)
    except emails.AmbiguousEmail as exc:
        raise ValueError(str(exc)) from None
    local, _, domain = value.rpartition("@")
    if not local or "." not in domain or "" in domain.split("."):
        raise ValueError("is not an e-mail address once invisible characters are removed")
    return _fits(value)


def _login_email(value: str) -> str:
    """Login looks the normal form up; an address that cannot be an account is just a
    wrong one (401), so nothing is refused here."""
    return _fits(emails.normalise(value))


def _fits(value: str) -> str:
    if len(value) > 254:
        raise ValueError("must be at most 254 characters")
    return value


def text(max_length: int, min_length: int = 0, strip: bool = False) -> type[str]:
    raw = StringConstraints(min_length=min_length, max_length=max_length, pattern=NO_NUL)
    if strip:
        return Annotated[str, raw, AfterValidator(_stripped(min_length))]  # type: ignore[return-value]
    return Annotated[str, raw]  # type: ignore[return-value]


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = text(120, min_length=1, strip=True)
Email = Annotated[str, StringConstraints(max_length=254, pattern=EMAIL), AfterValidator(_email)]
AnyEmail = Annotated[
    str, StringConstraints(max_length=254, pattern=NO_NUL), AfterValidator(_login_email)
]
Note = text(300)


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class Password(Body):
    password: str = Field(min_length=8, max_length=72, pattern=NO_NUL)

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
    email: AnyEmail  # any string: a malformed e-mail is just a wrong one (401)
    password: text(200)


class RefreshIn(Body):
    refresh_token: text(200, min_length=1)


class OrderLineIn(Body):
    menu_item_id: Id
    quantity: int = Field(ge=1, le=99)
    notes: Note | None = None


class PaymentIn(Body):
    method: Literal["card"]
    token: text(120, min_length=1)


class PlaceOrderIn(Body):
    restaurant_id: Id
    items: list[OrderLineIn] = Field(min_length=1, max_length=50)
    delivery_address: text(300, min_length=1, strip=True)
    payment: PaymentIn


class CancelIn(Body):
    reason: Note | None = None


class RejectIn(Body):
    reason: text(300, min_length=1, strip=True)


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
    cuisine: text(120, strip=True) = ""
    acceptance_seconds: AcceptanceSeconds | None = None


class AckIn(Body):
    event_ids: list[text(64)] = Field(max_length=1000)
