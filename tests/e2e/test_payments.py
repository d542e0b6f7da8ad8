"""Payments through the simulated gateway: retries authorize once, accept captures once,
reject voids. The gateway's ledger (``gateway_charges``) is read directly because the contract
exposes no way to count authorizations."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.support.client import describe, expect, timeline_events

pytestmark = pytest.mark.e2e

PIPELINE_DONE = {"AWAITING_ACCEPTANCE", "REJECTED", "CANCELLED"}


def gateway_charge(engine, order_id: int) -> dict | None:
    with engine.connect() as conn:
        row = (
            conn.execute(
                sa.text(
                    "select idempotency_key, token, amount_cents, status, attempts, "
                    "authorizations, captures from gateway_charges where idempotency_key = :k"
                ),
                {"k": f"order-{order_id}-payment"},
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None


def test_flaky_gateway_authorizes_exactly_once_and_accept_captures_once(
    customer, restaurant, db_engine, wait
):
    item = restaurant.item_id(0)
    order = customer.place(restaurant.id, [(item, 2)], payment_token="tok_flaky")
    done = customer.wait_for_status(order["id"], PIPELINE_DONE, timeout=60)
    assert done["status"] == "AWAITING_ACCEPTANCE", (done["status"], done["reason"])
    assert done["payment"]["status"] == "AUTHORIZED"
    total = 2590 * 2
    assert done["total_cents"] == total
    assert done["payment"]["amount_cents"] == total

    charge = gateway_charge(db_engine, order["id"])
    assert charge is not None, "no gateway_charges row for the order"
    assert charge["token"] == "tok_flaky"
    assert charge["amount_cents"] == total
    assert charge["attempts"] == 3, charge
    assert charge["authorizations"] == 1, charge
    assert charge["captures"] == 0, charge

    expect(restaurant.accept(order["id"]), 202)
    customer.wait_for_status(order["id"], "CONFIRMED")
    captured = customer.wait_for_payment(order["id"], "CAPTURED")
    assert captured["payment"]["amount_cents"] == total
    assert "payment_captured" in timeline_events(captured)
    assert "accepted" in timeline_events(captured)

    charge = wait(
        lambda: (c := gateway_charge(db_engine, order["id"])) and c["captures"] >= 1 and c,
        timeout=30,
        message="gateway capture",
    )
    assert charge["captures"] == 1, charge
    assert charge["authorizations"] == 1, charge
    # the stock stays taken by a confirmed order
    assert restaurant.stock(item) == 48


def test_plain_token_authorizes_first_time(customer, restaurant, db_engine):
    order = customer.place(restaurant.id, [(restaurant.item_id(1), 1)], payment_token="tok_ok")
    done = customer.wait_for_status(order["id"], PIPELINE_DONE)
    assert done["status"] == "AWAITING_ACCEPTANCE"
    charge = gateway_charge(db_engine, order["id"])
    assert charge is not None
    assert (charge["attempts"], charge["authorizations"], charge["captures"]) == (1, 1, 0)
    assert charge["amount_cents"] == 1290


def test_reject_voids_payment_and_releases_stock(customer, restaurant, db_engine):
    item = restaurant.item_id(0)
    order = customer.place(restaurant.id, [(item, 4)])
    customer.wait_for_status(order["id"], "AWAITING_ACCEPTANCE")
    assert restaurant.stock(item) == 46

    resp = restaurant.reject(order["id"], reason="out of gas")
    assert resp.status_code == 202, describe(resp)
    done = customer.wait_for_status(order["id"], {"REJECTED", "CONFIRMED", "CANCELLED"})
    assert (done["status"], done["reason"]) == ("REJECTED", "restaurant_rejected")
    customer.wait_for_payment(order["id"], "VOIDED")
    restaurant.wait_stock(item, 50)

    charge = gateway_charge(db_engine, order["id"])
    assert charge is not None
    assert charge["captures"] == 0, charge
    assert charge["authorizations"] == 1, charge


def test_declined_token_never_authorizes(customer, restaurant, db_engine):
    order = customer.place(restaurant.id, [(restaurant.item_id(0), 1)], payment_token="tok_decline")
    done = customer.wait_for_status(order["id"], PIPELINE_DONE)
    assert (done["status"], done["reason"]) == ("REJECTED", "payment_declined")
    assert done["payment"]["status"] == "DECLINED"
    charge = gateway_charge(db_engine, order["id"])
    if charge is not None:  # a gateway may record the declined attempt
        assert charge["authorizations"] == 0, charge
        assert charge["captures"] == 0, charge
