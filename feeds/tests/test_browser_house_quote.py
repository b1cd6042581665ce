"""A feed-priced market's trade page at both window sizes: with nobody resting orders, the book
shows the house's quote at the feed price (a "House" row on each side) instead of an empty side,
and the quote and the rules panel's feed price follow the feed live, without a reload."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from feeds.house import house_fund
from feeds.market_data import feed_tickers_refresh
from feeds.polling import observations_record
from feeds.selectors import feed_market_cache_clear
from feeds.sources import FeedMarket, Quote
from markets.models import TradingPair
from markets.services import pair_create
from settlement.recovery import engine_recover
from settlement.services import settlement_group_ensure
from tradehive.redis_client import get_redis
from tradehive.testing.browser import screenshot_save
from tradehive.testing.exchange import LIVE_TIMEOUT_MS, SIZES, off_the_loop, open_trade_page
from wallets.models import Asset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def xrp_krw(web_market) -> TradingPair:
    """A sim-priced market (tick 1 KRW, lot 1 XRP) whose house holds 1,000,000 XRP and
    1,000,000,000 KRW, with engine state."""
    pair = pair_create(
        base=Asset.objects.get(symbol="XRP"),
        quote=web_market.quote,
        tick_size=Decimal(1),
        lot_size=Decimal(1),
        min_notional=Decimal(100),
        price_source="sim",
        actor=None,
    )
    house_fund(amounts={"XRP": Decimal(1_000_000), "KRW": Decimal(1_000_000_000)})
    settlement_group_ensure(get_redis(), pair.symbol)
    engine_recover(pair=pair)
    return TradingPair.objects.select_related("base", "quote").get(pk=pair.pk)


def observe(pair: TradingPair, price: str) -> None:
    """A poll of the pair's feed observing ``price``, then the ticker roll-up beat would run
    (it marks the market for the websocket push)."""
    market = FeedMarket(
        symbol=pair.symbol, base=pair.base.symbol, quote=pair.quote.symbol, tick_size=pair.tick_size
    )
    feed_market_cache_clear()

    def run() -> None:
        observations_record(
            markets=[market], quotes={pair.symbol: Quote(price=Decimal(price), source_ts_ms=None)}
        )
        feed_tickers_refresh()

    off_the_loop(run)


@SIZES
def test_the_book_of_a_feed_market_shows_the_house_quote_and_follows_the_feed(
    page: Page, xrp_krw: TradingPair, web_stack: str, web_user, size
) -> None:
    page.set_viewport_size(size)
    page.set_default_timeout(LIVE_TIMEOUT_MS)
    # given a feed price of 500 KRW and nobody resting orders in XRP-KRW
    observe(xrp_krw, "500")
    web_user("feeder", KRW="100000")
    # when a trader opens its trade page
    open_trade_page(page, web_stack, "feeder", symbol="XRP-KRW")
    book = page.locator("[data-book]")
    house_ask = book.locator('[data-house="sell"]')
    house_bid = book.locator('[data-house="buy"]')
    # then the house's quote sits on both sides at the feed price, sized by what it holds
    expect(house_ask).to_be_visible()
    expect(house_ask).to_have_accessible_name(
        "House sells up to 1,000,000 XRP at 500 KRW, the feed price; use this price"
    )
    expect(house_bid).to_have_accessible_name(
        "House buys up to 2,000,000 XRP at 500 KRW, the feed price; use this price"
    )
    expect(house_ask.locator(".house-tag")).to_have_text("House")
    expect(book.locator("[data-spread-text]")).to_have_text("House quotes the feed price")
    expect(book).not_to_contain_text("One side is empty")
    rules_price = page.locator('[data-field="feed_price"]')
    expect(rules_price).to_contain_text("500 KRW at")
    expect(rules_price.locator("[data-feed-stale]")).to_be_hidden()
    screenshot_save(page, f"house-quote-{size['width']}x{size['height']}")

    # when the feed moves to 1,520 KRW
    observe(xrp_krw, "1520")
    # then the house's quote and the rules panel follow it without a reload
    expect(house_ask.locator(".price")).to_have_text("1,520")
    expect(house_bid.locator(".price")).to_have_text("1,520")
    expect(house_bid.locator(".qty")).to_have_text("657,894")
    expect(rules_price).to_contain_text("1,520 KRW at")
    # and picking the house's row puts its price in the order form
    house_ask.scroll_into_view_if_needed()
    house_ask.click()
    expect(page.get_by_label("Price (KRW)", exact=True)).to_have_value("1520")
    screenshot_save(page, f"house-quote-moved-{size['width']}x{size['height']}")
