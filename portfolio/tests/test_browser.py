"""The portfolio page in headless Chromium at both window sizes: total value, each asset's value
and share, profit and loss since a chosen date, and the ledger told as deposits, trades and fees."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from orders.models import Order
from orders.services import order_place
from tradehive.testing.browser import screenshot_save
from tradehive.testing.exchange import LIVE_TIMEOUT_MS, SIZES, log_in, page_width
from tradehive.testing.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@SIZES
def test_the_portfolio_shows_value_allocation_pnl_and_activity(
    page: Page, web_stack: str, web_user, size
) -> None:
    page.set_viewport_size(size)
    page.set_default_timeout(LIVE_TIMEOUT_MS)
    # given a trader who deposited 1,000,000 KRW and bought 100 LPJ at 1,000 as a taker
    maker = web_user("maker", LPJ="100")
    trader = web_user("holder", KRW="1000000")
    order_place(
        user=maker,
        symbol="LPJ-KRW",
        side="sell",
        type="limit",
        quantity=Decimal(100),
        price=Decimal(1000),
    )
    order_place(
        user=trader,
        symbol="LPJ-KRW",
        side="buy",
        type="limit",
        quantity=Decimal(100),
        price=Decimal(1000),
    )
    wait_until(
        lambda: Order.objects.filter(user=trader, status="filled").exists(),
        what="the buy to settle",
    )
    # when they open the portfolio from the menu
    log_in(page, web_stack, "holder", "/wallet/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Portfolio").click()
    # then the total is 999,800 KRW (1,000,000 - 100,000 - 200 fee) + 100 LPJ at 1,000
    expect(page.locator("[data-total]")).to_have_text("999,800")
    holdings = page.locator("[data-holdings] tbody tr")
    expect(holdings).to_have_count(2)
    expect(holdings.first).to_contain_text("899,800")
    expect(holdings.first).to_contain_text("90.00%")
    expect(holdings.nth(1)).to_contain_text("LPJ")
    expect(holdings.nth(1)).to_contain_text("10.00%")
    bar = page.locator("[data-share]").first
    assert bar.evaluate("e => e.getBoundingClientRect().width") > 0
    # and the profit since 30 days ago takes the deposit out: -200 KRW (the fee)
    expect(page.locator("[data-pnl]")).to_have_text(re.compile(r"^-200 KRW \(-0\.02%\)$"))
    # and the activity is a trader's: fee, trade, deposit; no holds or releases
    activity = page.locator("[data-activity] tbody tr")
    expect(activity).to_have_count(3)
    expect(activity.nth(0)).to_contain_text("Trading fee (taker)")
    expect(activity.nth(0)).to_contain_text("-200 KRW")
    expect(activity.nth(1)).to_contain_text("Bought LPJ at 1,000 KRW")
    expect(activity.nth(1)).to_contain_text("+100.0000 LPJ")
    expect(activity.nth(1)).to_contain_text("-100,000 KRW")
    expect(activity.nth(2)).to_contain_text("Deposit")
    assert not re.search(r"\b(Hold|Release)\b", page.locator("[data-activity]").inner_text())
    assert page_width(page) <= size["width"]
    screenshot_save(page, f"portfolio-{size['width']}")

    # when a preset period is chosen, then it is marked
    page.get_by_role("link", name="7 days").click()
    expect(page.get_by_role("link", name="7 days")).to_have_attribute("aria-current", "true")
    # when a day in the future is typed, the page says why and keeps working
    page.get_by_label("Profit and loss since (UTC)").fill("2999-01-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#pnl-since-errors")).to_have_text("Choose a day that has begun.")
    expect(page.locator("[data-total]")).to_have_text("999,800")
