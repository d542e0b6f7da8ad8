"""Races: many customers for the last units of stock, and competing accept/cancel calls."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.client import describe

from .test_payments import gateway_charge

pytestmark = pytest.mark.e2e

PIPELINE_DONE = {"AWAITING_ACCEPTANCE", "REJECTED", "CANCELLED"}


def _together(calls):
    """Run the callables in threads released at the same moment; return their results."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_twelve_customers_five_units(make_restaurant, make_customers):
    rest = make_restaurant(items=[("Last pizzas", 4500, 5)])
    item = rest.item_id(0)
    customers = make_customers(12)

    responses = _together([lambda c=c: c.place_order(rest.id, [(item, 1)]) for c in customers])
    for resp in responses:
        assert resp.status_code == 202, describe(resp)
    orders = [(c, r.json()["id"]) for c, r in zip(customers, responses, strict=True)]
    assert len({oid for _, oid in orders}) == 12

    with ThreadPoolExecutor(max_workers=12) as pool:
        finals = list(
            pool.map(lambda pair: pair[0].wait_for_status(pair[1], PIPELINE_DONE, 60), orders)
        )

    outcome = Counter((o["status"], o["reason"]) for o in finals)
    assert outcome == {
        ("AWAITING_ACCEPTANCE", None): 5,
        ("REJECTED", "out_of_stock"): 7,
    }, outcome
    assert rest.stock(item) == 0

    # the restaurant sees exactly the five winners waiting
    waiting = rest.client.get_json("restaurant/orders", params={"status": "AWAITING_ACCEPTANCE"})
    winners = {o["id"] for o in finals if o["status"] == "AWAITING_ACCEPTANCE"}
    assert {o["id"] for o in waiting["items"]} == winners


def test_concurrent_accepts_capture_once(customer, restaurant, db_engine):
    order = customer.place(restaurant.id, [(restaurant.item_id(0), 1)])
    customer.wait_for_status(order["id"], "AWAITING_ACCEPTANCE")

    responses = _together([lambda: restaurant.accept(order["id"]) for _ in range(6)])
    codes = Counter(r.status_code for r in responses)
    assert set(codes) <= {202, 409}, [describe(r) for r in responses]
    assert codes[202] >= 1, codes

    customer.wait_for_status(order["id"], "CONFIRMED")
    customer.wait_for_payment(order["id"], "CAPTURED")
    charge = gateway_charge(db_engine, order["id"])
    assert charge is not None
    assert charge["captures"] == 1, charge
    assert charge["authorizations"] == 1, charge
    # once confirmed, the answer is a conflict
    assert restaurant.accept(order["id"]).status_code == 409


def test_accept_racing_cancel_has_one_winner(customer, restaurant, db_engine, wait):
    item = restaurant.item_id(1)
    order = customer.place(restaurant.id, [(item, 2)])
    order_id = order["id"]
    customer.wait_for_status(order_id, "AWAITING_ACCEPTANCE")

    accept, cancel = _together(
        [
            lambda: restaurant.accept(order_id),
            lambda: customer.post(f"orders/{order_id}/cancel", json={"reason": "race"}),
        ]
    )
    assert accept.status_code in (202, 409), describe(accept)
    assert cancel.status_code in (202, 409), describe(cancel)
    assert 202 in (accept.status_code, cancel.status_code)

    final = customer.wait_for_status(order_id, {"CONFIRMED", "CANCELLED"})
    if final["status"] == "CONFIRMED":
        customer.wait_for_payment(order_id, "CAPTURED")
        assert restaurant.stock(item) == 48
        charge = gateway_charge(db_engine, order_id)
        assert charge["captures"] == 1, charge
    else:
        assert final["reason"] == "customer_cancelled"
        customer.wait_for_payment(order_id, "VOIDED")
        restaurant.wait_stock(item, 50)
        charge = gateway_charge(db_engine, order_id)
        assert charge["captures"] == 0, charge

    # whatever won, it does not change afterwards
    settled = wait(
        lambda: (o := customer.order(order_id))["status"] == final["status"] and o,
        timeout=5,
        message="settled",
    )
    assert settled["status"] == final["status"]
