"""The web trading UI in headless Chromium against a real running stack.

pytest-django's ``live_server`` serves no websockets, so these tests start the real processes on
the test database and Redis: uvicorn (ASGI: pages, REST and ``/ws/``) and ``manage.py settle``
(engine events -> PostgreSQL -> pushes). Two users in two browser contexts trade through the
order form and watch the book, trades, fills and balances change without reloading."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from accounts.models import User
from markets.models import TradingPair
from orders.services import order_place
from tradehive.testing.browser import SCREENSHOT_DIR, PageProblems, screenshot_save
from tradehive.testing.exchange import (
    LIVE_TIMEOUT_MS,
    book_levels_place,
    open_trade_page,
    place_from_form,
    trade_history_record,
)
from tradehive.testing.processes import ROOT, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = Decimal


@pytest.fixture
def second_page(browser: Browser) -> Iterator[tuple[Page, PageProblems]]:
    """A second user's page in a context of its own, watched for errors (the ``page`` fixture
    watches only itself)."""
    context: BrowserContext = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(LIVE_TIMEOUT_MS)
    page = context.new_page()
    yield page, PageProblems.watch(page)
    context.close()


def available(page: Page) -> str:
    return page.locator("[data-available]").inner_text()


def test_two_users_trade_through_the_form_and_both_pages_update_live(
    page: Page,
    second_page: tuple[Page, PageProblems],
    web_stack: str,
    web_user,
    screenshot: Callable[[str], Path],
) -> None:
    page.set_default_timeout(LIVE_TIMEOUT_MS)
    buyer_page, buyer_problems = second_page
    # given a seller with 50 LPJ and a buyer with 100,000 KRW, each on the trade page
    web_user("seller", LPJ="50")
    web_user("buyer", KRW="100000")
    open_trade_page(page, web_stack, "seller")
    open_trade_page(buyer_page, web_stack, "buyer")
    expect(buyer_page.locator("[data-available]")).to_have_text("100,000 KRW")

    # when the seller offers 10 LPJ at 1,000 KRW from the form
    place_from_form(page, "sell", "1000", "10")
    # then it rests in the seller's open orders and in both books, and the seller's LPJ is held
    expect(page.locator("[data-outcome]")).to_have_text(
        "Sell 10 LPJ at 1,000 KRW: resting in the book, nothing filled yet."
    )
    expect(page.locator("[data-open-orders] tr")).to_have_count(1)
    expect(page.locator("[data-open-orders]")).to_contain_text("open")
    expect(page.locator("[data-available]")).to_have_text("40.0000 LPJ")
    best_ask = buyer_page.locator("[data-asks] button.level:not([hidden])").last
    expect(best_ask).to_contain_text("1,000")
    expect(best_ask).to_contain_text("10")

    # when the buyer picks that level in the book and buys 10 from the form
    best_ask.click()
    expect(buyer_page.get_by_label("Price (KRW)", exact=True)).to_have_value("1000")
    buyer_page.get_by_label("Quantity (LPJ)").fill("10")
    expect(buyer_page.locator("[data-net]")).to_have_text("10,020 KRW")  # + 0.2% taker fee
    buyer_page.get_by_role("button", name="Buy LPJ").click()

    # then both see the trade, the emptied book and their fills and balances, without reloading
    for viewer in (page, buyer_page):
        first_trade = viewer.locator("[data-trades] tr").first
        expect(first_trade).to_contain_text("1,000")
        expect(first_trade).to_contain_text("10")
        expect(viewer.locator("[data-asks] button.level:not([hidden])")).to_have_count(0)
        expect(viewer.locator("[data-ticker] [data-field=last]")).to_have_text("1,000")
        viewer.get_by_role("tab", name="My fills").click()
        expect(viewer.locator("[data-fills] tr")).to_have_count(1)
        expect(viewer.locator("[data-fills]")).to_contain_text("1,000")
    expect(page.locator("[data-fills]")).to_contain_text("maker")
    expect(page.locator("[data-fills]")).to_contain_text("10 KRW")  # 0.1% maker fee
    expect(buyer_page.locator("[data-fills]")).to_contain_text("taker")
    expect(page.locator("[data-open-count]")).to_have_text("0")
    expect(buyer_page.locator("[data-available]")).to_have_text("89,980 KRW")
    page.get_by_role("tab", name="Buy", exact=True).click()
    expect(page.locator("[data-available]")).to_have_text("9,990 KRW")  # 10,000 - 10 fee
    buyer_page.get_by_role("tab", name="Sell", exact=True).click()
    expect(buyer_page.locator("[data-available]")).to_have_text("10.0000 LPJ")
    expect(page.locator("[data-notifications] [data-unread]")).to_have_text("1")

    # when the buyer rests a bid and cancels it from the open orders
    place_from_form(buyer_page, "buy", "900", "5")
    buyer_page.get_by_role("tab", name="Open orders").click()
    expect(buyer_page.locator("[data-open-orders] tr")).to_have_count(1)
    expect(buyer_page.locator("[data-open-orders]")).to_contain_text("open")
    expect(page.locator("[data-bids] button.level:not([hidden])")).to_have_count(1)
    expect(buyer_page.locator("[data-available]")).to_have_text("85,471 KRW")  # 4,509 held
    buyer_page.get_by_role("button", name="Cancel: Buy 5 LPJ at 900 KRW").click()
    # then it leaves the open orders, the history shows it cancelled, and the hold comes back
    expect(buyer_page.locator("[data-open-count]")).to_have_text("0")
    expect(buyer_page.locator("[data-open-orders]")).to_contain_text("No open orders.")
    buyer_page.get_by_role("tab", name="Order history").click()
    expect(buyer_page.locator("[data-order-history] tr").first).to_contain_text("cancelled")
    expect(buyer_page.locator("[data-available]")).to_have_text("89,980 KRW")
    expect(page.locator("[data-bids] button.level:not([hidden])")).to_have_count(0)
    screenshot("trade-after-fill")
    assert buyer_problems.report() == []


@pytest.mark.allow_console_errors  # Chromium logs the expected 400 answer; checked below
def test_a_price_finer_than_the_tick_shows_the_api_message_next_to_the_price(
    page: Page, web_stack: str, web_user
) -> None:
    problems = PageProblems.watch(page)
    # given a buyer on the trade page of a market with a tick of 1 KRW
    web_user("finer", KRW="100000")
    open_trade_page(page, web_stack, "finer")
    # when they ask for a price of 1000.5
    place_from_form(page, "buy", "1000.5", "2")
    # then the API's message shows under the price field, which is marked invalid
    error = page.locator("#order-price-error")
    expect(error).to_have_text("Must be a multiple of 1.")
    expect(page.get_by_label("Price (KRW)", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Price (KRW)", exact=True)).to_be_focused()
    expect(page.locator("[data-open-orders]")).to_contain_text("No open orders.")
    # and the only console message is Chromium's note about that 400 answer
    assert all("status of 400" in p for p in problems.report()), problems.report()


def test_a_take_profit_placed_from_the_form_waits_among_the_open_orders(
    page: Page, web_stack: str, web_user
) -> None:
    from orders.models import Order

    # given a seller with 5 LPJ on the trade page
    seller = web_user("profit", LPJ="5")
    open_trade_page(page, web_stack, "profit")
    # when they choose a take-profit limit, the help says which way it triggers for each side
    page.get_by_label("Order type").select_option("take_profit_limit")
    help_text = page.locator("#order-stop_price-help")
    expect(help_text).to_have_text("Triggers when the last price falls to it.")  # a buy
    page.get_by_role("tab", name="Sell", exact=True).click()
    expect(help_text).to_have_text("Triggers when the last price rises to it.")
    # and they place a sell of 2 at stop 1100, limit 1050
    page.get_by_label("Stop price (KRW)").fill("1100")
    page.get_by_label("Price (KRW)", exact=True).fill("1050")
    page.get_by_label("Quantity (LPJ)").fill("2")
    page.get_by_role("button", name="Sell LPJ").click()
    # then it waits among the open orders as a take-profit, holding its 2 LPJ
    expect(page.locator("[data-outcome]")).to_have_text(
        "Sell 2 LPJ at 1,050 KRW: waiting for its stop price 1,100."
    )
    row = page.locator("[data-open-orders] tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Take-profit limit")
    wait_until(
        lambda: Order.objects.filter(user=seller, status="untriggered").exists(),
        what="the take-profit to wait for its stop",
    )
    order = Order.objects.get(user=seller)
    assert (order.type, order.side, order.stop_price, order.price) == (
        "take_profit_limit",
        "sell",
        D(1100),
        D(1050),
    )
    expect(page.locator("[data-available]")).to_have_text("3.0000 LPJ")


def test_a_halted_market_disables_the_form_with_the_reason(
    page: Page, web_stack: str, web_user, web_market
) -> None:
    from markets.services import pair_set_status

    # given a halted market
    web_user("watcher", KRW="1000")
    pair_set_status(pair=web_market, status="halted", actor=None)
    # when a user opens its trade page
    open_trade_page(page, web_stack, "watcher")
    # then the page says so and the form cannot be used
    expect(page.locator("[data-market-badge]")).to_have_text("Halted")
    expect(page.locator("[data-disabled-reason]")).to_contain_text("Trading is halted")
    expect(page.get_by_role("button", name="Buy LPJ")).to_be_disabled()
    expect(page.get_by_label("Price (KRW)", exact=True)).to_be_disabled()


def test_anonymous_visitors_see_the_market_and_a_prompt_to_log_in(
    page: Page, web_stack: str
) -> None:
    page.goto(f"{web_stack}/markets/LPJ-KRW/")
    expect(page.get_by_role("heading", name="Order book")).to_be_visible()
    expect(page.get_by_role("link", name="Log in").last).to_have_attribute(
        "href", "/accounts/login/?next=/markets/LPJ-KRW/"
    )
    expect(page.locator("[data-order-form]")).to_have_count(0)


def seed_market_activity(pair: TradingPair, web_user) -> User:
    """A day of trades (for the chart) and a book on both sides, as a demo market has."""
    last = trade_history_record(
        pair, count=720, seconds_apart=15, seed=7, first_sequence=10_000_000
    )  # four trades a minute for three hours
    maker = web_user("marketmaker", LPJ="100000", KRW="100000000")
    book_levels_place(pair, maker, around=last, levels=15, max_quantity=80, seed=7)
    trader = web_user("trader", LPJ="500", KRW="2000000")
    order_place(
        user=trader,
        symbol=pair.symbol,
        side="buy",
        type="limit",
        quantity=D(20),
        price=D(last - 40),
    )
    order_place(
        user=trader,
        symbol=pair.symbol,
        side="sell",
        type="limit",
        quantity=D(15),
        price=D(last + 45),
    )
    return trader


def test_pages_have_no_console_errors_fit_a_phone_and_are_screenshotted(
    page: Page, web_stack: str, web_user, web_market
) -> None:
    page.set_default_timeout(LIVE_TIMEOUT_MS)
    # given a market with a day of trades and a two-sided book, and a trader with open orders
    seed_market_activity(web_market, web_user)
    # when the trader visits the trade page
    open_trade_page(page, web_stack, "trader")
    page.get_by_label("SMA 20").check()
    page.get_by_label("Bollinger 20, 2").check()
    expect(page.locator("[data-bids] button.level:not([hidden])")).to_have_count(12)
    expect(page.locator("[data-open-orders] tr")).to_have_count(2)
    expect(page.locator("[data-chart-empty]")).to_be_hidden()
    page.wait_for_timeout(800)  # indicators drawn
    # then (screenshots for the README and the review)
    trade = screenshot_save(page, "trade")
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS"):
        # `UPDATE_DOCS_SCREENSHOTS=1 make test` refreshes the README's picture; plain runs
        # leave the committed file alone, so a test run never dirties the tree.
        docs = ROOT / "docs" / "screenshots"
        docs.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(trade, docs / "trade.png")

    # when the markets, wallet and account pages are visited: no console errors (the page
    # fixture fails the test on any), and the markets list shows the live market
    page.goto(f"{web_stack}/")
    expect(page.locator('tr[data-symbol="LPJ-KRW"] [data-field=last]')).not_to_have_text("—")
    page.get_by_role("button", name="24h change").click()
    expect(page.locator("th[aria-sort=descending]")).to_have_count(1)
    screenshot_save(page, "markets")
    page.goto(f"{web_stack}/wallet/")
    expect(page.get_by_role("heading", name="Wallet", exact=True)).to_be_visible()
    screenshot_save(page, "wallet")
    page.goto(f"{web_stack}/accounts/profile/")
    expect(page.locator(".who")).to_have_text("trader")
    page.get_by_role("button", name="Notifications").click()
    expect(page.locator("#notify-panel")).to_be_visible()

    # when the trade page is shown on a 375px-wide phone
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{web_stack}/markets/LPJ-KRW/")
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    # then nothing scrolls sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot_save(page, "trade-375")
    page.goto(f"{web_stack}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert SCREENSHOT_DIR.joinpath("trade.png").exists()
