"""The pure parts of the steps' SQL: which parts of changes.write's one statement a batch of
drafts needs and their column arrays, and the gateway's test-token rules. No service needed."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from app.core.lifecycle import PaymentStatus, Reason, Stage, Status, StockState
from app.orders import steps
from app.orders.changes import write_rows, write_sql, write_statement
from app.orders.draft import Draft, Line, OrderFacts, Pay
from app.orders.steps import MenuEntry, Shop
from app.payments.gateway import FLAKY_FAILURES, attempt_rule, void_previous

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SHOP = Shop(is_open=True, menu={10: MenuEntry(10, "Feijoada", 1500, True)})


def order(oid=7, stage=Stage.NEW, status=Status.PLACED, stock=StockState.NONE, pay=None):
    return OrderFacts(
        id=oid,
        customer_id=3,
        restaurant_id=1,
        status=status,
        stage=stage,
        delivery_address="Rua A, 1",
        payment_token="tok_ok",
        created_at=NOW - timedelta(seconds=5),
        updated_at=NOW - timedelta(seconds=5),
        items=(Line(1, 10, 2, stock_state=stock), Line(2, 10, 1, stock_state=stock)),
        payment=pay,
    )


def test_validate_writes_the_order_its_lines_its_payment_and_a_timeline_row():
    draft = steps.validate(order(), SHOP, NOW, timedelta(seconds=30))
    rows = write_rows([draft])
    assert list(rows) == ["orders", "lines", "new_payments", "timeline"]
    assert [(r[0], r[3]) for r in rows["orders"]] == [(7, "validated")]
    assert [(r[0], r[2]) for r in rows["lines"]] == [(1, 1500), (2, 1500)]
    assert [(r[1], r[3]) for r in rows["new_payments"]] == [("order-7-payment", "PENDING")]
    assert [r[3] for r in rows["timeline"]] == ["validated"]


def test_a_rejection_publishes_in_order_and_keeps_the_timeline_order():
    pay = Pay("k", 1, PaymentStatus.PENDING)
    held = order(stage=Stage.STOCK_RESERVED, stock=StockState.RESERVED, pay=pay)
    draft = Draft(held, NOW)
    draft.stop(Status.REJECTED, Reason.PAYMENT_DECLINED)
    rows = write_rows([draft])
    assert list(rows) == ["orders", "lines", "timeline", "outbox"]
    assert [r[3] for r in rows["timeline"]] == ["rejected", "stock_released"]
    assert [r[3] for r in rows["lines"]] == ["released", "released"]
    assert [(r[1], r[2]) for r in rows["orders"]] == [("REJECTED", "payment_declined")]
    (event,) = rows["outbox"]
    payload = json.loads(event[3])
    assert payload["type"] == "order.rejected" and payload["order_id"] == 7
    assert str(event[0]) == payload["event_id"] and event[2] == "1"  # keyed by restaurant
    assert json.loads(event[4]) == {}  # no task's correlation id here


def test_a_batch_keeps_the_drafts_order():
    drafts = []
    for oid in (5, 9, 2):
        d = Draft(order(oid, status=Status.AWAITING_ACCEPTANCE, stage=Stage.AUTHORIZED), NOW)
        d.move(Status.CANCELLED, Reason.ACCEPTANCE_TIMEOUT)
        drafts.append(d)
    rows = write_rows(drafts)
    assert list(rows) == ["orders", "timeline", "outbox"]
    assert [r[0] for r in rows["orders"]] == [5, 9, 2] == [r[0] for r in rows["timeline"]]
    assert [json.loads(r[3])["order_id"] for r in rows["outbox"]] == [5, 9, 2]


def test_a_payment_update_is_not_an_insert():
    pay = Pay("k", 1, PaymentStatus.AUTHORIZED)
    before = order(status=Status.CONFIRMED, stage=Stage.AUTHORIZED, pay=pay)
    rows = write_rows([steps.captured(before, "captured", NOW)])
    assert "new_payments" not in rows and [r[1] for r in rows["payments"]] == ["CAPTURED"]


def test_one_statement_names_every_row_of_its_shape():
    draft = steps.validate(order(), SHOP, NOW, timedelta(seconds=30))
    sql, params = write_statement([draft])
    assert sql is write_sql((("orders", 1), ("lines", 2), ("new_payments", 1), ("timeline", 1)))
    assert sql.startswith("WITH w_orders AS (UPDATE orders") and "outbox" not in sql
    assert params["o0_id"] == 7 and params["l1_id"] == 2 and params["t0_event"] == "validated"
    # every parameter the text names is given, and no other
    assert set(re.findall(r"%\((\w+)\)s", sql)) == set(params)


@pytest.mark.parametrize(
    ("token", "rule"),
    [
        ("tok_ok", (0, "authorized")),
        ("tok_decline", (0, "declined")),
        ("tok_flaky", (FLAKY_FAILURES, "authorized")),
        ("tok_timeout", (0, "authorized")),
        ("anything", (0, "authorized")),
    ],
)
def test_each_test_token_has_its_rule(token, rule):
    assert attempt_rule(token) == rule


def test_a_void_reports_none_only_for_a_charge_it_wrote_itself():
    assert void_previous("voided", "") == "none"
    assert void_previous("voided", "tok_ok") == "voided"
    assert void_previous("authorized", "tok_ok") == "authorized"
    assert void_previous("captured", "tok_ok") == "captured"
