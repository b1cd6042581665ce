"""The order form tells what became of an order, at both window sizes: filled, resting, partly
filled, cancelled by its terms (IOC, FOK) or rejected (post-only would take), and why; the
exchange's ends are notified too; on a phone the open orders' Cancel stays in reach."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from orders.services import order_place
from tradehive.testing.browser import screenshot_save
from tradehive.testing.exchange import (
    LIVE_TIMEOUT_MS,
    SIZES,
    in_view,
    open_trade_page,
    page_width,
    place_from_form,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DECIDED = re.compile(r"^(open|partially_filled|filled|cancelled|rejected)$")


def outcome_after(page: Page, side: str, price: str, quantity: str, **options) -> str:
    """Place a limit order from the form; the outcome once the exchange has decided it."""
    post_only = options.pop("post_only", False)
    if post_only:
        page.get_by_role("tab", name=side.capitalize(), exact=True).click()
        page.get_by_label("Order type").select_option("limit")
        page.get_by_label("Time in force").select_option("GTC")
        page.get_by_label("Post-only (maker)").check()
        page.get_by_label("Price (KRW)", exact=True).fill(price)
        page.get_by_label("Quantity (LPJ)").fill(quantity)
        page.get_by_role("button", name=f"{side.capitalize()} LPJ").click()
    else:
        place_from_form(page, side, price, quantity, **options)
    box = page.locator("[data-outcome]")
    expect(box).to_have_attribute("data-status", DECIDED, timeout=LIVE_TIMEOUT_MS)
    return box.inner_text()


@SIZES
def test_the_form_shows_each_orders_outcome_and_why(
    page: Page, web_stack: str, web_user, size
) -> None:
    page.set_viewport_size(size)
    page.set_default_timeout(LIVE_TIMEOUT_MS)
    # given an ask of 10 LPJ at 1,010 KRW and a buyer with 100,000 KRW on the trade page
    maker = web_user("maker", LPJ="10")
    order_place(
        user=maker,
        symbol="LPJ-KRW",
        side="sell",
        type="limit",
        quantity=Decimal(10),
        price=Decimal(1010),
    )
    web_user("buyer", KRW="100000")
    open_trade_page(page, web_stack, "buyer")
    expect(page.locator("[data-asks] button.level:not([hidden])")).to_have_count(1)
    box = page.locator("[data-outcome]")

    # when a post-only buy at the ask is placed: it is rejected, and the form says why
    text = outcome_after(page, "buy", "1010", "5", post_only=True)
    assert text == (
        "Buy 5 LPJ at 1,010 KRW: rejected: post-only, it would have traded at once. "
        "Nothing was placed."
    )
    expect(box).to_have_attribute("data-tone", "error")
    # ... and the notifications count it
    expect(page.locator("[data-notifications] [data-unread]")).to_have_text("1")

    # when an IOC buy below the ask finds nothing
    text = outcome_after(page, "buy", "1000", "5", time_in_force="IOC")
    assert text == (
        "Buy 5 LPJ at 1,000 KRW: not filled, cancelled: immediate-or-cancel, the rest did not "
        "fill at once."
    )
    expect(box).to_have_attribute("data-tone", "warn")

    # when a fill-or-kill buy asks for more than the book has
    text = outcome_after(page, "buy", "1010", "20", time_in_force="FOK")
    assert "not filled, cancelled: fill-or-kill" in text

    # when a buy takes 4 of the ask
    text = outcome_after(page, "buy", "1010", "4")
    assert text == "Buy 4 LPJ at 1,010 KRW: 4 LPJ filled at 1,010 KRW."
    expect(box).to_have_attribute("data-tone", "ok")

    # when a buy of 10 takes the 6 left and rests the rest
    text = outcome_after(page, "buy", "1010", "10")
    assert text == "Buy 10 LPJ at 1,010 KRW: 6 LPJ filled at 1,010 KRW; the rest rests in the book."

    # when a bid far below rests
    text = outcome_after(page, "buy", "1,000", "3")  # typed with a thousands separator
    assert text == "Buy 3 LPJ at 1,000 KRW: resting in the book, nothing filled yet."

    # then the exchange's ends were notified in words (three of them), never as "order:<id>"
    page.get_by_role("button", name="Notifications").click()
    panel = page.locator("#notify-panel")
    expect(panel).to_contain_text("rejected: post-only, it would have traded at once")
    expect(panel).to_contain_text("cancelled: immediate-or-cancel")
    expect(panel).to_contain_text("cancelled: fill-or-kill")
    assert "order:" not in panel.inner_text()
    page.keyboard.press("Escape")

    # and the open orders' Cancel is in reach without scrolling sideways, at either size
    mine = page.locator("[data-mine]")
    mine.scroll_into_view_if_needed()
    expect(page.locator("[data-open-orders] tr")).to_have_count(2)
    cancel = page.get_by_role("button", name="Cancel: Buy 3 LPJ at 1,000 KRW")
    expect(cancel).to_be_visible()
    assert in_view(page, cancel), cancel.bounding_box()
    assert page_width(page) <= size["width"]
    screenshot_save(page, f"trade-outcomes-{size['width']}")
    cancel.click()
    expect(page.locator("[data-open-orders] tr")).to_have_count(1)
    expect(page.locator("[data-open-orders]")).to_contain_text("partially filled")
