"""The console end to end in headless Chromium, one test per role, against the running stack.

Each flow's other side goes through the public API (the e2e fixtures), so every test sees
the console react live to a change it did not make itself: no reload anywhere. Waits are
Playwright's auto-retrying expectations with a generous bound; nothing asserts on speed.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.client import DEFAULT_PASSWORD
from tests.support.client import expect as expect_status

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
SLOW = 45_000  # ms: the pipeline on a loaded 2-core machine, not a speed target
STEPS = ["PREPARING", "READY", "DISPATCHED", "DELIVERED"]


def test_customer_orders_and_watches_it_delivered(open_console, customer, restaurant, screenshot):
    shop = open_console()
    login(shop, restaurant.client.user["email"], DEFAULT_PASSWORD)
    expect(shop.locator("#board")).to_be_visible()

    page = open_console()
    login(page, customer.user["email"], DEFAULT_PASSWORD)
    page.locator(f'#restaurants li[data-id="{restaurant.id}"]').click()
    page.locator(f'#menu [data-add="{restaurant.item()["name"]}"]').click()
    page.locator(f'#menu [data-add="{restaurant.item()["name"]}"]').click()
    page.select_option("#token", "tok_flaky")
    page.click("#place")
    order = page.locator("#order .order")
    expect(order).to_have_attribute("data-status", "AWAITING_ACCEPTANCE", timeout=SLOW)
    order_id = int(order.get_attribute("id").split("-")[1])
    expect(page.locator(".timeline")).to_contain_text("payment_authorized")

    # The restaurant, in its own browser, accepts and advances one click at a time.
    ticket = shop.locator(f"#ticket-{order_id}")
    expect(ticket.locator(".countdown")).to_contain_text(re.compile(r"\d+:\d\d"))
    ticket.locator('[data-act="accept"]').click()
    for step in STEPS:
        column = shop.locator(f'.column[data-status="{step}"]')
        if step != "DELIVERED":
            shop.locator(f'#ticket-{order_id} [data-act="advance"]').click()
            expect(column.locator(f"#ticket-{order_id}")).to_be_visible(timeout=SLOW)
        else:
            shop.locator(f'#ticket-{order_id} [data-act="advance"]').click()
            expect(shop.locator(f"#ticket-{order_id}")).to_have_count(0, timeout=SLOW)

    expect(order).to_have_attribute("data-status", "DELIVERED", timeout=SLOW)
    expect(page.locator(".timeline")).to_contain_text("payment_captured")
    assert customer.order(order_id)["status"] == "DELIVERED"
    screenshot(page, "customer")


def test_restaurant_board_rejects_edits_and_acknowledges(
    open_console, customer, restaurant, screenshot, wait
):
    placed = [customer.place(restaurant.id, [(restaurant.item_id(), 1)]) for _ in range(2)]
    for order in placed:
        customer.wait_for_status(order["id"], "AWAITING_ACCEPTANCE")

    page = open_console()
    login(page, restaurant.client.user["email"], DEFAULT_PASSWORD)
    waiting = page.locator('.column[data-status="AWAITING_ACCEPTANCE"]')
    for order in placed:
        expect(waiting.locator(f"#ticket-{order['id']}")).to_be_visible(timeout=SLOW)

    first, second = (o["id"] for o in placed)
    page.fill(f"#ticket-{second} input.reason", "out of rice")
    page.locator(f'#ticket-{second} [data-act="reject"]').click()
    expect(page.locator(f"#ticket-{second}")).to_have_count(0, timeout=SLOW)
    rejected = customer.wait_for_status(second, "REJECTED")
    assert rejected["reason"] == "restaurant_rejected"

    page.locator(f'#ticket-{first} [data-act="accept"]').click()
    expect(page.locator(f'.column[data-status="CONFIRMED"] #ticket-{first}')).to_be_visible(
        timeout=SLOW
    )
    expect(page.locator("#feed")).to_contain_text("order.awaiting_acceptance", timeout=SLOW)
    screenshot(page, "restaurant")
    page.click("#ack-all")
    expect(page.locator("#feed")).not_to_contain_text("order.awaiting_acceptance", timeout=SLOW)
    assert not [e for e in restaurant.events() if e["order_id"] in (first, second)
                and e["type"] == "order.awaiting_acceptance"]  # fmt: skip

    # Stock and open/closed, edited on the page, are what the API then reports.
    row = page.locator("#menu-editor tbody tr").first
    row.locator("input[type=number]").nth(1).fill("7")
    row.locator("button").click()
    restaurant.wait_stock(restaurant.item_id(), 7)
    page.uncheck("#is-open")
    page.fill("#acceptance-seconds", "120")
    page.locator("#settings button").click()

    def saved():
        mine = restaurant.client.get_json("restaurant")
        return (mine["is_open"], mine["acceptance_seconds"]) == (False, 120)

    wait(saved, timeout=30, message="the restaurant closed, with 120 s to accept")


def test_admin_sees_the_counts_change(open_console, as_admin, customer, restaurant, screenshot):
    page = open_console()
    login(page, "admin@comanda.dev", "admin-password")
    delivered = page.locator('.count-box[data-status="DELIVERED"] strong')
    expect(delivered).to_have_text(re.compile(r"^\d+$"), timeout=SLOW)
    expect(page.locator("#kafka table")).to_contain_text("pipeline", timeout=SLOW)
    expect(page.locator("#celery")).to_contain_text("worker@", timeout=SLOW)
    before = int(delivered.text_content())

    order = customer.place(restaurant.id, [(restaurant.item_id(), 1)])
    customer.wait_for_status(order["id"], "AWAITING_ACCEPTANCE")
    expect_status(restaurant.accept(order["id"]), 202)
    for step in STEPS:
        expect_status(restaurant.set_status(order["id"], step), 202)

    # Counts come from the event projection: the order shows up once the projector has it.
    expect(delivered).not_to_have_text(str(before), timeout=SLOW)
    assert int(delivered.text_content()) > before
    expect(page.locator("#outbox-count")).to_have_text(re.compile(r"^\d+$"))
    screenshot(page, "admin")


def test_language_follows_the_browser_and_switches(open_console, screenshot):
    page = open_console(locale="pt-BR")
    expect(page.locator("#login h2")).to_have_text("Entrar")
    screenshot(page, "login")
    page.select_option("#lang", "en")
    expect(page.locator("#login h2")).to_have_text("Sign in")
