"""Getting around at both window sizes: the trade page's market switcher (search, keys) and the
Orders page across every market (tabs, filters, CSV export, cancels that ask first)."""

from __future__ import annotations

import csv
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from markets.services import pair_create
from orders.services import order_place
from settlement.services import settlement_group_ensure
from tradehive.redis_client import get_redis
from tradehive.testing.browser import screenshot_save
from tradehive.testing.exchange import (
    LIVE_TIMEOUT_MS,
    SIZES,
    in_view,
    log_in,
    open_trade_page,
    page_width,
)
from wallets.models import Asset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def btc_krw(web_market):
    pair = pair_create(
        base=Asset.objects.get(symbol="BTC"),
        quote=web_market.quote,
        tick_size=Decimal(10000),
        lot_size=Decimal("0.0001"),
        min_notional=Decimal(5000),
        actor=None,
    )
    settlement_group_ensure(get_redis(), pair.symbol)
    return pair


@SIZES
def test_the_market_switcher_finds_a_market_by_name_and_keys(
    page: Page, btc_krw, web_stack: str, web_user, size
) -> None:
    page.set_viewport_size(size)
    page.set_default_timeout(LIVE_TIMEOUT_MS)
    # given a trader on the LPJ-KRW trade page, with BTC-KRW listed too
    web_user("hopper", KRW="1000")
    open_trade_page(page, web_stack, "hopper")
    toggle = page.get_by_role("button", name="LPJ/KRW: switch market")
    # when they open the switcher
    toggle.click()
    switcher = page.get_by_role("dialog", name="Switch market")
    expect(switcher).to_be_visible()
    expect(page.get_by_role("searchbox", name="Search markets")).to_be_focused()
    assert in_view(page, switcher)
    expect(switcher.get_by_role("link")).to_have_count(2)
    expect(switcher.locator('a[aria-current="page"]')).to_contain_text("LPJ")
    # and type an asset's name
    page.keyboard.type("bitc")
    # then only that market is left
    expect(switcher.get_by_role("link")).to_have_count(1)
    screenshot_save(page, f"switcher-{size['width']}")
    # and a word that matches nothing says so
    page.get_by_role("searchbox", name="Search markets").fill("dogecoin")
    expect(switcher).to_contain_text("No market matches.")
    # and Escape closes it, back on the button
    page.keyboard.press("Escape")
    expect(switcher).to_be_hidden()
    expect(toggle).to_be_focused()
    # when they open it again, type "btc" and press Enter, they are on BTC-KRW
    toggle.click()
    page.keyboard.type("btc")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{web_stack}/markets/BTC-KRW/")
    expect(page.get_by_role("button", name="BTC/KRW: switch market")).to_be_visible()
    # and arrow keys walk the list
    page.get_by_role("button", name="BTC/KRW: switch market").click()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#market-switcher a", has_text="LPJ")).to_be_focused()
    assert page_width(page) <= size["width"]


@SIZES
def test_the_orders_page_lists_filters_exports_and_cancels_across_markets(
    page: Page, btc_krw, web_stack: str, web_user, size, tmp_path
) -> None:
    page.set_viewport_size(size)
    page.set_default_timeout(LIVE_TIMEOUT_MS)
    # given a trader with a bid in LPJ-KRW and one in BTC-KRW
    trader = web_user("collector", KRW="10000000")
    for symbol, quantity, price in (("LPJ-KRW", "3", "900"), ("BTC-KRW", "0.01", "90000000")):
        order_place(
            user=trader,
            symbol=symbol,
            side="buy",
            type="limit",
            quantity=Decimal(quantity),
            price=Decimal(price),
        )
    log_in(page, web_stack, "collector", "/wallet/")
    # when they follow the Orders link
    page.get_by_role("link", name="Orders", exact=True).click()
    # then both markets' open orders are listed
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    table = page.locator("[data-rows] tbody tr")
    expect(table).to_have_count(2)
    expect(page.locator("[data-rows]")).to_contain_text("90,000,000")
    assert page_width(page) <= size["width"]
    cancel = page.get_by_role("button", name="Cancel: Buy 3 LPJ at 900 KRW")
    cancel.scroll_into_view_if_needed()
    assert in_view(page, cancel), cancel.bounding_box()
    screenshot_save(page, f"orders-{size['width']}")

    # when they filter to BTC-KRW
    page.get_by_label("Market").select_option("BTC-KRW")
    page.get_by_role("button", name="Apply").click()
    expect(table).to_have_count(1)
    expect(table).to_contain_text("BTC")
    # and export it
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    saved = tmp_path / "orders.csv"
    download.value.save_as(saved)
    rows = list(csv.reader(saved.open()))
    assert rows[0][1] == "market"
    assert [row[1] for row in rows[1:]] == ["BTC-KRW"]

    # when they cancel the LPJ bid from the unfiltered list
    page.get_by_role("link", name="Clear").click()
    page.get_by_role("button", name="Cancel: Buy 3 LPJ at 900 KRW").click()
    expect(page.locator(".messages")).to_contain_text("Buy 3 LPJ at 900 KRW:")
    # and Cancel all asks first
    page.get_by_role("button", name="Cancel all").click()
    dialog = page.get_by_role("dialog", name=re.compile("^Cancel all 1 open order"))
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel all orders").click()
    expect(page.locator(".messages")).to_contain_text("1 open order cancelled.")
    expect(page.locator("main")).to_contain_text("No open orders.")
    # and the history shows both cancelled
    page.get_by_role("link", name="Order history").click()
    expect(table).to_have_count(2)
    expect(page.locator("[data-rows]")).to_contain_text("cancelled")
