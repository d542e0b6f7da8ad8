import pytest
from pydantic import ValidationError

from app.api.schemas import PlaceOrderIn, RegisterIn, StatusIn

pytestmark = pytest.mark.unit

GOOD = {
    "restaurant_id": 1,
    "items": [{"menu_item_id": 2, "quantity": 1}],
    "delivery_address": "Rua 1",
    "payment": {"method": "card", "token": "tok_ok"},
}


def test_good_order_parses_and_ignores_fields_a_client_may_not_set():
    body = {
        **GOOD,
        "status": "DELIVERED",
        "total_cents": 1,
        "customer_id": 99,
        "items": [{"menu_item_id": 2, "quantity": 1, "unit_price_cents": 1}],
    }
    parsed = PlaceOrderIn.model_validate(body).model_dump()
    assert "status" not in parsed and "total_cents" not in parsed
    assert "unit_price_cents" not in parsed["items"][0]


@pytest.mark.parametrize(
    "change",
    [
        {"items": []},
        {"items": [{"menu_item_id": 2, "quantity": 1}] * 51},
        {"items": [{"menu_item_id": 2, "quantity": 0}]},
        {"items": [{"menu_item_id": 2, "quantity": 100}]},
        {"items": [{"menu_item_id": 2, "quantity": "1"}]},
        {"items": [{"menu_item_id": 2, "quantity": True}]},
        {"items": [{"menu_item_id": 2**31, "quantity": 1}]},
        {"restaurant_id": 0},
        {"restaurant_id": "1"},
        {"delivery_address": ""},
        {"delivery_address": "   "},
        {"delivery_address": "x" * 301},
        {"payment": {"method": "cash", "token": "t"}},
        {"payment": {"method": "card", "token": ""}},
        {"items": [{"menu_item_id": 2, "quantity": 1, "notes": "n" * 301}]},
    ],
)
def test_bad_orders_are_refused(change):
    with pytest.raises(ValidationError):
        PlaceOrderIn.model_validate({**GOOD, **change})


def test_register_normalises_email_and_bounds_password():
    assert (
        RegisterIn.model_validate(
            {"email": " Ana@X.io ", "password": "12345678", "name": "Ana"}
        ).email
        == "ana@x.io"
    )
    for password in ("short", "x" * 73, "é" * 37):  # 74 bytes
        with pytest.raises(ValidationError):
            RegisterIn.model_validate({"email": "a@x.io", "password": password, "name": "A"})


def test_status_body_only_takes_kitchen_steps():
    assert StatusIn.model_validate({"status": "READY"}).status == "READY"
    for bad in ("CONFIRMED", "CANCELLED", "ready", 1):
        with pytest.raises(ValidationError):
            StatusIn.model_validate({"status": bad})
